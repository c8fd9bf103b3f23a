/**
 * What the playlist routes answer for ranges with nothing, or something broken, in them: one
 * answer for "nothing recorded" across HLS, DASH and clip, "not yet" for a range still open, and
 * never an error for a whole range because one stored object is bad.
 */
import assert from "node:assert/strict";
import { enrolDevice } from "../support/device.ts";
import { contentDigest, makeCmaf } from "../support/media.ts";
import { makeFleet, startTestPlatform, type TestPlatform } from "../support/platform.ts";

const cmaf = await makeCmaf({ seconds: 4 });

async function record(
  platform: TestPlatform,
  token: string,
  vehicleId: string,
  recordingId: string,
  startMs: number,
): Promise<number> {
  const base = `/api/v1/ingest/vehicles/${vehicleId}/cameras/front/recordings/${recordingId}`;
  const put = async (path: string, body: Uint8Array, headers: Record<string, string> = {}) => {
    const response = await platform.call("PUT", base + path, {
      token,
      body: body as BodyInit,
      headers: { "content-digest": await contentDigest(body), ...headers },
    });
    assert.ok(response.ok, await response.text());
  };
  await put("/init", cmaf.init);
  let at = startMs;
  for (const [i, segment] of cmaf.segments.entries()) {
    await put(`/segments/${i}`, segment.bytes, {
      "motorcade-segment-start": new Date(at).toISOString(),
      "motorcade-segment-duration": (segment.durationMs / 1000).toFixed(3),
    });
    at += segment.durationMs;
  }
  return at;
}

/** A camera with recording r1, a 20 s hole, then r2; and a GET of its range routes. */
async function twoRecordings(platform: TestPlatform) {
  const fleet = await makeFleet(platform, "Acme");
  const { token } = await enrolDevice(platform, fleet.enrolmentCode);
  const start = Date.now() - 300_000;
  const firstEnd = await record(platform, token, fleet.vehicleId, "r1", start);
  const secondEnd = await record(platform, token, fleet.vehicleId, "r2", firstEnd + 20_000);
  await new Promise((r) => setTimeout(r, 300));
  const camera =
    `/api/v1/fleets/${fleet.fleetId}/vehicles/${fleet.vehicleId}/cameras/${fleet.cameraId}`;
  const get = (file: string, fromMs: number, toMs?: number) =>
    platform.call(
      "GET",
      `${camera}/${file}?from=${new Date(fromMs).toISOString()}` +
        (toMs === undefined ? "" : `&to=${new Date(toMs).toISOString()}`),
      { token: fleet.tokens.viewer },
    );
  return { fleet, start, firstEnd, secondEnd, get };
}

Deno.test("a range wholly inside a hole is the same 404 problem for HLS, DASH and clip", async () => {
  await using platform = await startTestPlatform();
  const { firstEnd, get } = await twoRecordings(platform);
  for (const file of ["index.m3u8", "manifest.mpd", "clip.mp4"]) {
    const response = await get(file, firstEnd + 5_000, firstEnd + 15_000);
    assert.equal(response.status, 404, file);
    assert.match(response.headers.get("content-type")!, /^application\/problem\+json/, file);
    const problem = await response.json();
    assert.equal(problem.detail, "Nothing was recorded in that range", file);
  }
});

Deno.test("an open range with nothing recorded yet is a playlist that will grow", async () => {
  await using platform = await startTestPlatform();
  const { secondEnd, get } = await twoRecordings(platform);
  const after = Date.now() + 1_000; // nothing there yet, and the range reaches into the future
  assert.ok(after > secondEnd);
  const hls = await get("index.m3u8", after);
  assert.equal(hls.status, 200);
  const text = await hls.text();
  assert.match(text, /#EXT-X-PLAYLIST-TYPE:EVENT\n/);
  assert.doesNotMatch(text, /#EXTINF|#EXT-X-ENDLIST/);
  const dash = await get("manifest.mpd", after);
  assert.equal(dash.status, 200);
  const mpd = await dash.text();
  assert.match(mpd, /type="dynamic"/);
  assert.match(mpd, /minimumUpdatePeriod="PT2S"/);
  // An MPD needs a Period (ISO/IEC 23009-1 schema: minOccurs 1); a Period need not have content.
  assert.match(mpd, /<Period id="pending" start="PT0S"\/>/);
  assert.doesNotMatch(mpd, /<AdaptationSet/);
});

Deno.test("a DASH range plays a recording whose init segment is damaged as a hole", async () => {
  await using platform = await startTestPlatform();
  const { fleet, start, secondEnd, get } = await twoRecordings(platform);
  const r1 = await platform.catalog.recordings.get(fleet.fleetId, fleet.cameraId, "r1");
  const damaged = `${platform.dataDir}/objects/${r1!.initKey}`;
  const stored = await Deno.readFile(damaged);
  const moov = stored.findIndex((_, i) =>
    String.fromCharCode(...stored.subarray(i, i + 4)) === "moov"
  );
  stored.fill(0xff, moov - 4, moov); // the moov's size: far beyond the file
  await Deno.writeFile(damaged, stored);

  const response = await get("manifest.mpd", start, secondEnd);
  assert.equal(response.status, 200);
  const mpd = await response.text();
  assert.deepEqual([...mpd.matchAll(/<Period id="([^"]+)"/g)].map((m) => m[1]), ["r2"]);
  const metrics = await (await platform.call("GET", "/metrics")).text();
  assert.match(
    metrics,
    /motorcade_playback_skipped_objects_total\{kind="init",reason="malformed"\} 1/,
  );
  // HLS lists it still (a player fetches the init segment itself): no error for the range.
  assert.equal((await get("index.m3u8", start, secondEnd)).status, 200);
});
