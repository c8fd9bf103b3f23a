import assert from "node:assert/strict";
import { enrolDevice } from "../support/device.ts";
import { contentDigest, makeCmaf } from "../support/media.ts";
import { makeFleet, startTestPlatform, type TestPlatform } from "../support/platform.ts";

const cmaf = await makeCmaf({ seconds: 6 });

/** Polls `check` until it returns a value (the indexer is asynchronous). */
export async function eventually<T>(check: () => Promise<T | undefined>, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  while (true) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error("Condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}

function upload(
  platform: TestPlatform,
  token: string,
  path: string,
  body: Uint8Array,
  headers: Record<string, string>,
) {
  return platform.call("PUT", `/api/v1/ingest/vehicles/${path}`, {
    token,
    body: body as BodyInit,
    headers: { "content-type": "video/iso.segment", ...headers },
  });
}

async function uploadRecording(
  platform: TestPlatform,
  token: string,
  vehicleId: string,
  recordingId: string,
  startMs: number,
) {
  const base = `${vehicleId}/cameras/front/recordings/${recordingId}`;
  const init = await upload(platform, token, `${base}/init`, cmaf.init, {
    "content-digest": await contentDigest(cmaf.init),
  });
  assert.equal(init.status, 201, await init.clone().text());
  let at = startMs;
  for (const [i, segment] of cmaf.segments.entries()) {
    const response = await upload(platform, token, `${base}/segments/${i}`, segment.bytes, {
      "content-digest": await contentDigest(segment.bytes),
      "motorcade-segment-start": new Date(at).toISOString(),
      "motorcade-segment-duration": (segment.durationMs / 1000).toFixed(3),
    });
    assert.equal(response.status, 201, await response.clone().text());
    assert.equal((await response.json()).status, "stored");
    at += segment.durationMs;
  }
}

Deno.test("ingest stores segments, the indexer lists the recording, and retries are idempotent", async () => {
  await using platform = await startTestPlatform();
  const fleet = await makeFleet(platform, "Acme");
  const device = await enrolDevice(platform, fleet.enrolmentCode);
  const start = Date.now() - 60_000;
  await uploadRecording(platform, device.token, fleet.vehicleId, "r1", start);

  const retry = await upload(
    platform,
    device.token,
    `${fleet.vehicleId}/cameras/front/recordings/r1/segments/0`,
    cmaf.segments[0].bytes,
    {
      "content-digest": await contentDigest(cmaf.segments[0].bytes),
      "motorcade-segment-start": new Date(start).toISOString(),
      "motorcade-segment-duration": "2.000",
    },
  );
  assert.equal(retry.status, 200);
  assert.equal((await retry.json()).status, "duplicate");

  const conflict = await upload(
    platform,
    device.token,
    `${fleet.vehicleId}/cameras/front/recordings/r1/segments/0`,
    cmaf.segments[1].bytes,
    {
      "content-digest": await contentDigest(cmaf.segments[1].bytes),
      "motorcade-segment-start": new Date(start).toISOString(),
      "motorcade-segment-duration": "2.000",
    },
  );
  assert.equal(conflict.status, 409);
  assert.match((await conflict.json()).detail, /already stored with other bytes/);

  const path =
    `/api/v1/fleets/${fleet.fleetId}/vehicles/${fleet.vehicleId}/cameras/${fleet.cameraId}/recordings`;
  const recordings = await eventually(async () => {
    const body = await (await platform.call("GET", path, { token: fleet.tokens.viewer })).json();
    return body.recordings[0]?.segmentCount === cmaf.segments.length ? body.recordings : undefined;
  });
  assert.equal(recordings.length, 1);
  assert.equal(recordings[0].id, "r1");
  assert.equal(Date.parse(recordings[0].startedAt), start);
  const total = cmaf.segments.reduce((n, s) => n + s.durationMs, 0);
  assert.equal(Date.parse(recordings[0].endedAt), start + total);
});

Deno.test("segments acknowledged before a restart are indexed after it", async () => {
  await using platform = await startTestPlatform();
  const fleet = await makeFleet(platform, "Acme");
  const device = await enrolDevice(platform, fleet.enrolmentCode);
  await platform.indexer.close(); // the server dies before indexing anything
  await uploadRecording(platform, device.token, fleet.vehicleId, "r1", Date.now() - 60_000);
  assert.deepEqual(await platform.catalog.recordings.list(fleet.fleetId, fleet.cameraId), []);
  platform.indexer.start();
  const indexed = await eventually(async () => {
    const [recording] = await platform.catalog.recordings.list(fleet.fleetId, fleet.cameraId);
    return recording?.segmentCount === cmaf.segments.length ? recording : undefined;
  });
  assert.ok(indexed.initKey?.endsWith("/r1/init.mp4"));
});
