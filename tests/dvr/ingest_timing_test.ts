/**
 * Ingest and the vehicle's clock: every device and ingest answer states the server's time,
 * corrected times win over the vehicle's own, and a segment or an end whose time is not plausible
 * is re-timed, never refused for its time alone.
 */
import assert from "node:assert/strict";
import { enrolDevice } from "../support/device.ts";
import { contentDigest, makeCmaf } from "../support/media.ts";
import { makeFleet, startTestPlatform, type TestPlatform } from "../support/platform.ts";

const cmaf = await makeCmaf({ seconds: 4 });
const HOUR = 3_600_000;

async function eventually<T>(check: () => Promise<T | undefined>, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  while (true) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error("Condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A platform with an enrolled vehicle, and helpers to upload one recording's files. */
async function fixture(platform: TestPlatform) {
  const fleet = await makeFleet(platform, "Acme");
  const device = await enrolDevice(platform, fleet.enrolmentCode);
  const base = (recordingId: string) =>
    `/api/v1/ingest/vehicles/${fleet.vehicleId}/cameras/front/recordings/${recordingId}`;
  const init = async (recordingId: string) => {
    const response = await platform.call("PUT", `${base(recordingId)}/init`, {
      token: device.token,
      body: cmaf.init as BodyInit,
      headers: { "content-type": "video/mp4", "content-digest": await contentDigest(cmaf.init) },
    });
    assert.equal(response.status, 201, await response.text());
  };
  const segment = async (
    recordingId: string,
    sequence: number,
    headers: Record<string, string>,
  ) => {
    const bytes = cmaf.segments[sequence].bytes;
    return await platform.call("PUT", `${base(recordingId)}/segments/${sequence}`, {
      token: device.token,
      body: bytes as BodyInit,
      headers: {
        "content-type": "video/iso.segment",
        "content-digest": await contentDigest(bytes),
        "motorcade-segment-duration": (cmaf.segments[sequence].durationMs / 1000).toFixed(3),
        ...headers,
      },
    });
  };
  const stored = (recordingId: string, count: number) =>
    eventually(async () => {
      const segments = await platform.catalog.recordings.segments(fleet.cameraId, recordingId);
      return segments.length === count ? segments : undefined;
    });
  return { fleet, device, base, init, segment, stored };
}

Deno.test("device and ingest answers state the server's time in milliseconds, refusals too", async () => {
  await using platform = await startTestPlatform();
  const f = await fixture(platform);
  const before = Date.now();
  const answers = [
    await platform.call("POST", "/api/v1/device/heartbeat", { token: f.device.token, json: {} }),
    await platform.call("POST", "/api/v1/device/token", { json: { assertion: "x.y.z" } }),
    await f.segment("r1", 0, { "motorcade-segment-start": new Date().toISOString() }),
    await platform.call("PUT", `${f.base("r1")}/segments/1`, { token: "forged" }),
  ];
  const after = Date.now();
  assert.deepEqual(answers.map((r) => r.status), [400, 401, 201, 401]);
  for (const answer of answers) {
    const stated = answer.headers.get("motorcade-time");
    assert.match(stated ?? "", /^\d{13}$/, `${answer.url}: ${stated}`);
    assert.ok(Number(stated) >= before && Number(stated) <= after, `${stated} not in the call`);
    await answer.body?.cancel();
  }
});

Deno.test("ingest places a segment at the corrected start the vehicle sends beside its own", async () => {
  await using platform = await startTestPlatform();
  const f = await fixture(platform);
  await f.init("r1");
  const trueStart = Date.now() - 20_000;
  const response = await f.segment("r1", 0, {
    "motorcade-segment-start": new Date(trueStart - 30_000).toISOString(), // 30 s behind
    "motorcade-segment-start-corrected": new Date(trueStart).toISOString(),
  });
  assert.equal(response.status, 201, await response.text());
  const [segment] = await f.stored("r1", 1);
  assert.equal(segment.startMs, trueStart);
});

Deno.test("ingest re-times segments whose clock is an hour ahead instead of refusing them", async () => {
  await using platform = await startTestPlatform();
  const f = await fixture(platform);
  await f.init("r1");
  const own = Date.now() + HOUR;
  const before = Date.now();
  for (const sequence of [0, 1]) {
    const response = await f.segment("r1", sequence, {
      "motorcade-segment-start": new Date(own + sequence * 2000).toISOString(),
    });
    assert.equal(response.status, 201, await response.text());
  }
  const after = Date.now();
  const segments = await f.stored("r1", 2);
  const [first, second] = segments;
  // It ended when it arrived; the recording's next segment moved by the same amount.
  const end = first.startMs + first.durationMs;
  assert.ok(end >= before && end <= after, `placed to end at ${new Date(end).toISOString()}`);
  assert.equal(second.startMs - first.startMs, 2000, "the recording stays in one piece");

  // The end of the recording moves with it, and is not refused either.
  const ended = await platform.call("POST", `${f.base("r1")}/end`, {
    token: f.device.token,
    json: { endedAt: new Date(own + 4000).toISOString() },
  });
  assert.equal(ended.status, 204, await ended.text());
  const recording = await eventually(async () => {
    const r = await platform.catalog.recordings.get(f.fleet.fleetId, f.fleet.cameraId, "r1");
    return r?.closedAt ? r : undefined;
  });
  assert.equal(recording.closedAt!.getTime(), first.startMs + 4000);
});

Deno.test("ingest re-times a segment from a clock that was never set (before 2000)", async () => {
  await using platform = await startTestPlatform();
  const f = await fixture(platform);
  await f.init("r1");
  const before = Date.now();
  const response = await f.segment("r1", 0, { "motorcade-segment-start": "1970-01-01T00:00:05Z" });
  assert.equal(response.status, 201, await response.text());
  const [segment] = await f.stored("r1", 1);
  assert.ok(segment.startMs + segment.durationMs >= before, "placed when it arrived");
  const ended = await platform.call("POST", `${f.base("r1")}/end`, {
    token: f.device.token,
    json: { endedAt: "1970-01-01T00:00:09Z" },
  });
  assert.equal(ended.status, 204, await ended.text());
});

Deno.test("ingest ends a recording at the corrected end time when the vehicle sends one", async () => {
  await using platform = await startTestPlatform();
  const f = await fixture(platform);
  await f.init("r1");
  const start = Date.now() - 10_000;
  await f.segment("r1", 0, { "motorcade-segment-start": new Date(start).toISOString() });
  await f.stored("r1", 1);
  const ended = await platform.call("POST", `${f.base("r1")}/end`, {
    token: f.device.token,
    json: {
      endedAt: new Date(start - HOUR).toISOString(),
      endedAtCorrected: new Date(start + 2000).toISOString(),
    },
  });
  assert.equal(ended.status, 204, await ended.text());
  const recording = await eventually(async () => {
    const r = await platform.catalog.recordings.get(f.fleet.fleetId, f.fleet.cameraId, "r1");
    return r?.closedAt ? r : undefined;
  });
  assert.equal(recording.closedAt!.getTime(), start + 2000);
});

Deno.test("a recording whose clock put it over an earlier one stays listed and playable", async () => {
  await using platform = await startTestPlatform();
  const f = await fixture(platform);
  // "b" was recorded after "a", but by a clock behind (a run whose offset was never learnt).
  const t0 = Date.now() - 60_000;
  for (const [recordingId, startMs] of [["a", t0], ["b", t0 + 1000]] as const) {
    await f.init(recordingId);
    let at = startMs;
    for (const [sequence, segment] of cmaf.segments.entries()) {
      const response = await f.segment(recordingId, sequence, {
        "motorcade-segment-start": new Date(at).toISOString(),
      });
      assert.equal(response.status, 201, await response.text());
      at += segment.durationMs;
    }
    await f.stored(recordingId, cmaf.segments.length);
  }
  const camera =
    `/api/v1/fleets/${f.fleet.fleetId}/vehicles/${f.fleet.vehicleId}/cameras/${f.fleet.cameraId}`;
  const token = f.fleet.tokens.viewer;
  const list = await (await platform.call("GET", `${camera}/recordings`, { token })).json();
  assert.deepEqual(list.recordings.map((r: { id: string }) => r.id), ["a", "b"]);
  for (const recordingId of ["a", "b"]) {
    const playlist = await platform.call("GET", `${camera}/recordings/${recordingId}/index.m3u8`, {
      token,
    });
    assert.equal(playlist.status, 200);
    const uris = (await playlist.text()).split("\n").filter((l) => /\/\d{10}\.m4s/.test(l));
    assert.deepEqual(
      uris.map((uri) => /\/([a-z])\/(\d{10})\.m4s/.exec(uri)!.slice(1).join("/")),
      cmaf.segments.map((_, i) => `${recordingId}/${String(i).padStart(10, "0")}`),
      `${recordingId}: every segment in its own playlist`,
    );
  }
});
