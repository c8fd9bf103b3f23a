import assert from "node:assert/strict";
import { JanusEventSink, type JanusMediaStats, parseMediaStats } from "../../lib/janus/mod.ts";
import type { LiveContext } from "../../lib/live/context.ts";
import { ViewerSession } from "../../lib/live/viewer_session.ts";
import { createLogger, silentLogger } from "../../lib/log/mod.ts";

/** A media event as Janus 1.1's sample event handler posts it (type 32, subtype 3). */
function mediaEvent(handleId: number, event: Record<string, unknown>) {
  return {
    emitter: "motorcade-janus",
    type: 32,
    subtype: 3,
    timestamp: 1_765_116_000_000_000,
    session_id: 4_521_237_841_312_345,
    handle_id: handleId,
    opaque_id: null,
    event: { mid: "v1", mindex: 0, codec: "h264", base: 90000, ...event },
  };
}

Deno.test("parseMediaStats takes each video medium's REMB from grouped and single events", () => {
  const grouped = [
    mediaEvent(11, { media: "video", "remb-bitrate": 812_000, rtt: 3, lost: 0 }),
    mediaEvent(12, { media: "audio", "remb-bitrate": 0 }),
    mediaEvent(13, { media: "video" }),
  ];
  assert.deepEqual(parseMediaStats(grouped), {
    stats: [
      { sessionId: 4_521_237_841_312_345, handleId: 11, media: "video", rembBitrate: 812_000 },
      { sessionId: 4_521_237_841_312_345, handleId: 12, media: "audio" },
      { sessionId: 4_521_237_841_312_345, handleId: 13, media: "video" },
    ],
    ignored: 0,
  });
  assert.deepEqual(parseMediaStats(mediaEvent(11, { media: "video", "remb-bitrate": 5e5 })), {
    stats: [
      { sessionId: 4_521_237_841_312_345, handleId: 11, media: "video", rembBitrate: 500_000 },
    ],
    ignored: 0,
  });
});

Deno.test("parseMediaStats ignores other events, missing fields and garbage", () => {
  const good = mediaEvent(11, { media: "video", "remb-bitrate": 300_000 });
  const { handle_id: _, ...noHandle } = good;
  const bodies: unknown[] = [
    null,
    "text",
    42,
    {},
    [],
    [null, 1, "x"],
    { ...good, type: 16 }, // WebRTC state
    { ...good, subtype: 1 }, // media state, not stats
    noHandle,
    { ...good, session_id: "4521" },
    { ...good, handle_id: -3 },
    { ...good, event: null },
    { ...good, event: { "remb-bitrate": 1 } },
  ];
  for (const body of bodies) {
    assert.deepEqual(parseMediaStats(body).stats, [], JSON.stringify(body));
  }
  assert.equal(parseMediaStats([good, { type: 1 }, "junk"]).ignored, 2);
  const remb = (value: unknown) =>
    parseMediaStats(mediaEvent(1, { media: "video", "remb-bitrate": value })).stats[0]
      .rembBitrate;
  for (const bad of [0, -5, "800000", null, Number.NaN]) assert.equal(remb(bad), undefined);
});

Deno.test({
  name:
    "JanusEventSink takes only posts with its secret, refuses big bodies and passes media stats on",
  sanitizeResources: false,
  async fn() {
    const received: JanusMediaStats[][] = [];
    const records: Record<string, unknown>[] = [];
    await using sink = Object.assign(
      await JanusEventSink.start({
        port: 0,
        secret: "s3cret",
        maxBodyBytes: 4096,
        logger: createLogger("debug", (r) => records.push(r)),
        onMediaStats: (stats) => received.push(stats),
      }),
      { [Symbol.asyncDispose]: () => sink.close() },
    );
    assert.match(sink.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const post = (body: string, auth?: string) =>
      fetch(sink.url, {
        method: "POST",
        headers: { "content-type": "application/json", ...(auth ? { authorization: auth } : {}) },
        body,
      });
    const basic = (user: string, pwd: string) => `Basic ${btoa(`${user}:${pwd}`)}`;
    const event = JSON.stringify([mediaEvent(7, { media: "video", "remb-bitrate": 640_000 })]);
    for (const auth of [undefined, basic("janus", "wrong"), basic("other", "s3cret"), "Bearer x"]) {
      const response = await post(event, auth);
      await response.body?.cancel();
      assert.equal(response.status, 401, String(auth));
    }
    assert.equal(received.length, 0);

    const ok = await post(event, basic("janus", "s3cret"));
    await ok.body?.cancel();
    assert.equal(ok.status, 204);
    assert.deepEqual(received, [[{
      sessionId: 4_521_237_841_312_345,
      handleId: 7,
      media: "video",
      rembBitrate: 640_000,
    }]]);

    // Over the bound: 413, with a length announced or streamed without one.
    const big = await post("x".repeat(5000), basic("janus", "s3cret"));
    await big.body?.cancel();
    assert.equal(big.status, 413);
    const streamed = await fetch(sink.url, {
      method: "POST",
      headers: { authorization: basic("janus", "s3cret") },
      body: ReadableStream.from([new Uint8Array(3000), new Uint8Array(3000)]),
    });
    await streamed.body?.cancel();
    assert.equal(streamed.status, 413);

    // Garbage with the secret: accepted, ignored, said at debug.
    const junk = await post("{not json", basic("janus", "s3cret"));
    await junk.body?.cancel();
    assert.equal(junk.status, 204);
    const other = await post(JSON.stringify([{ type: 1 }]), basic("janus", "s3cret"));
    await other.body?.cancel();
    assert.equal(other.status, 204);
    assert.equal(received.length, 1);
    assert.ok(records.some((r) => r.msg === "janus event not JSON" && r.level === "debug"));
    assert.ok(records.some((r) => r.msg === "janus events ignored" && r.ignored === 1));
  },
});

Deno.test("a viewer session's estimate is its fresh REMB, or the lower of it and its own", () => {
  const viewer = (abr: string) =>
    new ViewerSession(
      "v",
      "s",
      { kind: "whep", offer: "", codec: {} } as never,
      "auto",
      { settings: { abr }, logger: silentLogger } as unknown as LiveContext,
      3,
      undefined,
      [200_000, 680_000, 1_040_000],
    );
  const v = viewer("adaptive");
  assert.equal(v.reported.availableBitrate, undefined);
  const now = performance.now();
  v.remb(800_000, now);
  assert.deepEqual(v.lastRemb, { bitrate: 800_000, at: now });
  assert.equal(v.reported.availableBitrate, 800_000);
  v.report({ availableBitrate: 500_000 });
  assert.equal(v.reported.availableBitrate, 500_000);
  v.report({ availableBitrate: 2_000_000 });
  assert.equal(v.reported.availableBitrate, 800_000);
  // A REMB Janus stopped posting (an old one) no longer counts.
  v.remb(100_000, now - 5_000);
  assert.equal(v.reported.availableBitrate, 2_000_000);
  // The classic controller keeps its inputs from before (the benchmark's baseline).
  const classic = viewer("classic");
  classic.remb(800_000);
  assert.equal(classic.reported.availableBitrate, undefined);
});
