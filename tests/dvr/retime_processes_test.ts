/**
 * A vehicle whose clock is not plausible has its recording re-timed to end when its first segment
 * arrived; the rest of the recording moves by the same offset in every ingest process and after a
 * restart, because the offset is the catalog's (the first stored wins). Segments uploaded
 * alternately to two processes on one PostgreSQL catalog, or to one process restarted between
 * them, land each where the previous ended, and the recording's end moves with them. With the
 * catalog down, a re-timed upload is a 503 with Retry-After, and its retry is taken once it is back.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Catalog, openCatalog, type Segment } from "../../lib/catalog/mod.ts";
import { setUpVehicle, type VehicleOnServer } from "../support/fleet_api.ts";
import { contentDigest, makeCmaf } from "../support/media.ts";
import { startPostgres } from "../support/postgres.ts";
import { freePort, startServerProcess, type TestServer } from "../support/server.ts";

const cmaf = await makeCmaf({ seconds: 8 });
const HOUR = 3_600_000;
/** The vehicle's clock: an hour ahead of the server's. */
const OWN_START = Date.now() + HOUR;
/** Each segment's start on the vehicle's clock. */
const OWN_STARTS = cmaf.segments.map((_, i) =>
  OWN_START + cmaf.segments.slice(0, i).reduce((ms, s) => ms + s.durationMs, 0)
);

/** Puts segment `sequence` of recording `recordingId` to the process at `base`. */
async function put(base: string, vehicle: VehicleOnServer, sequence: number, recordingId: string) {
  const { bytes, durationMs } = cmaf.segments[sequence];
  const path =
    `/api/v1/ingest/vehicles/${vehicle.vehicleId}/cameras/front/recordings/${recordingId}`;
  return await fetch(`${base}${path}/segments/${sequence}`, {
    method: "PUT",
    headers: {
      authorization: `Bearer ${await vehicle.tokens!.token()}`,
      "content-type": "video/iso.segment",
      "content-digest": await contentDigest(bytes),
      "motorcade-segment-duration": (durationMs / 1000).toFixed(3),
      "motorcade-segment-start": new Date(OWN_STARTS[sequence]).toISOString(),
    },
    body: bytes as BodyInit,
  });
}

/** Uploads segment `sequence` of recording "r1" to the process at `base`. */
async function upload(base: string, vehicle: VehicleOnServer, sequence: number) {
  const response = await put(base, vehicle, sequence, "r1");
  assert.equal(response.status, 201, `segment ${sequence}: ${await response.text()}`);
}

/** Ends recording "r1" at the vehicle's own (implausible) end time, through `base`. */
async function end(base: string, vehicle: VehicleOnServer) {
  const last = cmaf.segments.length - 1;
  const endedAt = OWN_STARTS[last] + cmaf.segments[last].durationMs;
  const path = `/api/v1/ingest/vehicles/${vehicle.vehicleId}/cameras/front/recordings/r1/end`;
  const response = await fetch(base + path, {
    method: "POST",
    headers: {
      authorization: `Bearer ${await vehicle.tokens!.token()}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({ endedAt: new Date(endedAt).toISOString() }),
  });
  assert.equal(response.status, 204, await response.text());
}

/** Polls `catalog` until recording "r1" holds every segment and is closed (20 s at most). */
async function indexed(catalog: Catalog, vehicle: VehicleOnServer) {
  const cameraId = vehicle.cameras.front;
  for (let i = 0; i < 200; i++) {
    const segments = await catalog.recordings.segments(cameraId, "r1");
    const recording = await catalog.recordings.get(vehicle.fleetId, cameraId, "r1");
    if (segments.length === cmaf.segments.length && recording?.closedAt) {
      return { segments, closedAt: recording.closedAt.getTime() };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail("The recording was not indexed and closed within 20 s");
}

/**
 * Asserts the first segment ends when it arrived (between `before` and `after`), the others lie
 * end to end after it, and the recording ends where the last does.
 */
function assertInOnePiece(segments: Segment[], closedAt: number, before: number, after: number) {
  const first = segments[0];
  const firstEnd = first.startMs + first.durationMs;
  assert.ok(firstEnd >= before && firstEnd <= after, "the first ends when it arrived");
  for (let i = 1; i < segments.length; i++) {
    const previous = segments[i - 1];
    assert.equal(
      segments[i].startMs,
      previous.startMs + previous.durationMs,
      `segment ${i} starts where segment ${i - 1} ended (the recording stays in one piece)`,
    );
  }
  const last = segments.at(-1)!;
  assert.equal(closedAt, last.startMs + last.durationMs, "the end moved with the segments");
}

Deno.test("a re-timed recording stays in one piece when its segments alternate between two ingest processes", async () => {
  assert.ok(cmaf.segments.length >= 4, `only ${cmaf.segments.length} segments`);
  await using pg = await startPostgres();
  const catalogUrl = await pg.createDatabase();
  // One public URL, as behind a load balancer: tokens name it as their issuer.
  const [portA, portB] = [freePort(), freePort()];
  const env = { CATALOG_URL: catalogUrl, PUBLIC_URL: `http://127.0.0.1:${portA}` };
  await using a = await startServerProcess({ ...env, PORT: String(portA) });
  await using b = await startServerProcess({ ...env, PORT: String(portB) });
  const vehicle = await setUpVehicle(a.url);
  const catalog = await openCatalog(catalogUrl);
  try {
    const before = Date.now();
    // A spool flushed after the vehicle came back: one upload after the other, round-robin.
    for (let i = 0; i < cmaf.segments.length; i++) await upload(i % 2 ? b.url : a.url, vehicle, i);
    await end(b.url, vehicle);
    const after = Date.now();
    const { segments, closedAt } = await indexed(catalog, vehicle);
    assertInOnePiece(segments, closedAt, before, after);

    // The catalog down: a re-timed upload is refused with 503 and Retry-After, and taken after.
    await pg.stop();
    let answer;
    try {
      answer = await put(a.url, vehicle, 0, "r2");
    } finally {
      await pg.start();
    }
    const text = await answer.text();
    assert.equal(answer.status, 503, text);
    assert.ok(Number(answer.headers.get("retry-after")) > 0, "Retry-After");
    let status = 0;
    for (let i = 0; i < 50 && status !== 201; i++) {
      const retry = await put(a.url, vehicle, 0, "r2");
      await retry.body?.cancel();
      status = retry.status;
      if (status !== 201) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal(status, 201, "the retry is taken once the catalog is back");
  } finally {
    await catalog.close();
    await Deno.remove(vehicle.stateDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("a re-timed recording stays in one piece across a restart of its ingest process", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "motorcade-retime-restart-" });
  let server: TestServer | undefined;
  const vehicleDirs: string[] = [];
  try {
    const env = { DATA_DIR: dataDir, PORT: String(freePort()) };
    server = await startServerProcess(env);
    const vehicle = await setUpVehicle(server.url);
    vehicleDirs.push(vehicle.stateDir);
    const before = Date.now();
    for (let i = 0; i < cmaf.segments.length; i++) {
      if (i === 2) {
        await server.stop();
        server = await startServerProcess(env);
      }
      await upload(server.url, vehicle, i);
    }
    await end(server.url, vehicle);
    const after = Date.now();
    const catalog = await openCatalog(`sqlite:${join(dataDir, "catalog.db")}`);
    try {
      const { segments, closedAt } = await indexed(catalog, vehicle);
      assertInOnePiece(segments, closedAt, before, after);
    } finally {
      await catalog.close();
    }
  } finally {
    await server?.stop();
    for (const dir of [dataDir, ...vehicleDirs]) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }
});
