import assert from "node:assert/strict";
import { createFile } from "mp4box";
import { enrolDevice } from "../support/device.ts";
import { type CmafFixture, contentDigest, makeCmaf } from "../support/media.ts";
import { makeFleet, startTestPlatform, type TestPlatform } from "../support/platform.ts";

const small = await makeCmaf({ seconds: 8 });
const larger = await makeCmaf({ seconds: 4, size: "640x360" });

async function record(
  platform: TestPlatform,
  token: string,
  vehicleId: string,
  recordingId: string,
  cmaf: CmafFixture,
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

async function probe(bytes: Uint8Array) {
  const file = await Deno.makeTempFile({ suffix: ".mp4" });
  try {
    await Deno.writeFile(file, bytes);
    const info = await new Deno.Command("ffprobe", {
      args: [
        "-v",
        "error",
        "-count_frames",
        "-show_entries",
        "format=duration:stream=nb_read_frames",
        "-of",
        "json",
        file,
      ], // deno-fmt-ignore
    }).output();
    const decode = await new Deno.Command("ffmpeg", {
      args: ["-v", "error", "-i", file, "-f", "null", "-"],
    }).output();
    const json = JSON.parse(new TextDecoder().decode(info.stdout));
    return {
      duration: Number(json.format.duration),
      frames: Number(json.streams[0].nb_read_frames),
      decodeErrors: new TextDecoder().decode(decode.stderr),
    };
  } finally {
    await Deno.remove(file);
  }
}

Deno.test("clip export is one valid MP4 of the requested segments, across recordings", async () => {
  await using platform = await startTestPlatform();
  const fleet = await makeFleet(platform, "Acme");
  const { token } = await enrolDevice(platform, fleet.enrolmentCode);
  const start = Date.now() - 120_000;
  const firstEnd = await record(platform, token, fleet.vehicleId, "r1", small, start);
  const secondStart = firstEnd + 5_000; // the vehicle restarted: a hole, then a new recording
  const secondEnd = await record(platform, token, fleet.vehicleId, "r2", small, secondStart);
  await record(platform, token, fleet.vehicleId, "r3", larger, secondEnd + 5_000);
  await new Promise((r) => setTimeout(r, 300));
  const path =
    `/api/v1/fleets/${fleet.fleetId}/vehicles/${fleet.vehicleId}/cameras/${fleet.cameraId}/clip.mp4`;
  const clip = (from: number, to: number) =>
    platform.call(
      "GET",
      `${path}?from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`,
      { token: fleet.tokens.viewer },
    );

  const inner = await clip(start + 2_000, start + 8_000);
  assert.equal(inner.status, 200);
  assert.equal(inner.headers.get("content-type"), "video/mp4");
  const one = await probe(new Uint8Array(await inner.arrayBuffer()));
  assert.equal(one.decodeErrors, "");
  assert.equal(one.frames, 150); // three 2-second segments at 25 fps
  assert.ok(Math.abs(one.duration - 6) < 0.1, `duration ${one.duration}`);

  const across = await clip(start + 4_000, secondStart + 4_000);
  assert.equal(across.status, 200);
  const two = await probe(new Uint8Array(await across.arrayBuffer()));
  assert.equal(two.decodeErrors, "");
  assert.equal(two.frames, 200); // 4 s of r1 and 4 s of r2, the hole closed
  assert.ok(Math.abs(two.duration - 8) < 0.1, `duration ${two.duration}`);

  const mixed = await clip(secondStart, secondEnd + 7_000);
  assert.equal(mixed.status, 409);
  assert.match((await mixed.json()).detail, /different encodings \(recording "r3"/);

  const empty = await clip(start - 60_000, start - 30_000);
  assert.equal(empty.status, 404);
  assert.match((await empty.json()).detail, /Nothing was recorded/);

  const backwards = await clip(start + 8_000, start + 2_000);
  assert.equal(backwards.status, 400);
  await backwards.body?.cancel();
});

/** The `mfhd` sequence numbers of a fragmented MP4, as mp4box.js (not our parser) reads them. */
function sequenceNumbers(bytes: Uint8Array): number[] {
  const file = createFile();
  const buffer = bytes.slice().buffer as ArrayBuffer & { fileStart: number };
  buffer.fileStart = 0;
  file.appendBuffer(buffer);
  file.flush();
  assert.ok(file.getInfo().isFragmented);
  const moofs = (file as unknown as { moofs: Array<{ mfhd: { sequence_number: number } }> })
    .moofs;
  return moofs.map((moof) => moof.mfhd.sequence_number);
}

Deno.test("a clip's fragments are numbered from 1 across joined recordings", async () => {
  await using platform = await startTestPlatform();
  const fleet = await makeFleet(platform, "Acme");
  const { token } = await enrolDevice(platform, fleet.enrolmentCode);
  const start = Date.now() - 120_000;
  const firstEnd = await record(platform, token, fleet.vehicleId, "r1", small, start);
  const secondEnd = await record(platform, token, fleet.vehicleId, "r2", small, firstEnd + 5_000);
  await new Promise((r) => setTimeout(r, 300));
  const path =
    `/api/v1/fleets/${fleet.fleetId}/vehicles/${fleet.vehicleId}/cameras/${fleet.cameraId}/clip.mp4`;
  const response = await platform.call(
    "GET",
    `${path}?from=${new Date(start).toISOString()}&to=${new Date(secondEnd).toISOString()}`,
    { token: fleet.tokens.viewer },
  );
  assert.equal(response.status, 200);
  const bytes = new Uint8Array(await response.arrayBuffer());
  // Every segment ffmpeg cut is one fragment; each recording numbers its own from 1.
  const fragments = 2 * small.segments.length;
  assert.deepEqual(sequenceNumbers(bytes), Array.from({ length: fragments }, (_, i) => i + 1));
  const probed = await probe(bytes);
  assert.equal(probed.decodeErrors, "");
  assert.equal(probed.frames, 400);
});

Deno.test("a clip leaves out a stored segment it cannot read, and counts it", async () => {
  await using platform = await startTestPlatform();
  const fleet = await makeFleet(platform, "Acme");
  const { token } = await enrolDevice(platform, fleet.enrolmentCode);
  const start = Date.now() - 120_000;
  const end = await record(platform, token, fleet.vehicleId, "r1", small, start);
  await new Promise((r) => setTimeout(r, 300));
  const { timeline } = await platform.playback.timeline(
    { fleetId: fleet.fleetId, vehicleId: fleet.vehicleId, cameraId: fleet.cameraId },
    { fromMs: start, toMs: end },
  );
  const run = timeline.items.find((item) => item.kind === "run")!;
  const keys = run.kind === "run"
    ? run.entries.flatMap((e) => e.kind === "segment" ? [e.objectKey!] : [])
    : [];
  // The disk damaged one segment after it was stored; another is gone.
  const damaged = `${platform.dataDir}/objects/${keys[1]}`;
  const stored = await Deno.readFile(damaged);
  const moof = stored.findIndex((_, i) =>
    String.fromCharCode(...stored.subarray(i, i + 4)) === "moof"
  );
  stored.fill(0xff, moof - 4, moof); // its first fragment's size: far beyond the file
  await Deno.writeFile(damaged, stored);
  await Deno.remove(`${platform.dataDir}/objects/${keys[2]}`);
  const path =
    `/api/v1/fleets/${fleet.fleetId}/vehicles/${fleet.vehicleId}/cameras/${fleet.cameraId}/clip.mp4`;
  const response = await platform.call(
    "GET",
    `${path}?from=${new Date(start).toISOString()}&to=${new Date(end).toISOString()}`,
    { token: fleet.tokens.viewer },
  );
  assert.equal(response.status, 200);
  const bytes = new Uint8Array(await response.arrayBuffer());
  assert.deepEqual(sequenceNumbers(bytes), [1, 2]);
  const probed = await probe(bytes);
  assert.equal(probed.decodeErrors, "");
  assert.equal(probed.frames, 100); // 2 of 4 segments
  const metrics = await (await platform.call("GET", "/metrics")).text();
  assert.match(
    metrics,
    /motorcade_playback_skipped_objects_total\{kind="segment",reason="malformed"\} 1/,
  );
  assert.match(
    metrics,
    /motorcade_playback_skipped_objects_total\{kind="segment",reason="missing"\} 1/,
  );
});

Deno.test("a clip of a range wholly inside a hole is a 404 problem", async () => {
  await using platform = await startTestPlatform();
  const fleet = await makeFleet(platform, "Acme");
  const { token } = await enrolDevice(platform, fleet.enrolmentCode);
  const start = Date.now() - 120_000;
  const firstEnd = await record(platform, token, fleet.vehicleId, "r1", small, start);
  await record(platform, token, fleet.vehicleId, "r2", small, firstEnd + 20_000);
  await new Promise((r) => setTimeout(r, 300));
  const path =
    `/api/v1/fleets/${fleet.fleetId}/vehicles/${fleet.vehicleId}/cameras/${fleet.cameraId}/clip.mp4`;
  const response = await platform.call(
    "GET",
    `${path}?from=${new Date(firstEnd + 5_000).toISOString()}&to=${
      new Date(firstEnd + 15_000).toISOString()
    }`,
    { token: fleet.tokens.viewer },
  );
  assert.equal(response.status, 404);
  assert.match(response.headers.get("content-type")!, /application\/problem\+json/);
  assert.match((await response.json()).detail, /Nothing was recorded in that range/);
});
