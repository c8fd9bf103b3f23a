/**
 * Benchmark: the retention sweep on both engine pairs in one run. A fleet keeping 30 days gets
 * `--cameras` cameras, each with `--segments` expired 2-second segments (recordings of an hour,
 * closed) and an hour of newer ones; every object is stored (100 bytes: the store's per-object
 * work is what counts). Then the dry-run count and one sweep (default batch of 1,000) are timed.
 * Embedded: SQLite and files in a temporary folder. Distributed: a throwaway Debian PostgreSQL
 * cluster and versitygw's S3 (tests/support), DeleteObjects batches. The figure to compare is
 * segments deleted per second against what a fleet expires: 1,000 cameras cutting 2 s segments
 * expire 500 a second.
 *
 *   deno task bench:retention [--cameras 4] [--segments 5000]
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { type Catalog, openCatalog, type SegmentRecord } from "../lib/catalog/mod.ts";
import { DAY_MS, RetentionSweep } from "../lib/retention/mod.ts";
import { FsObjectStore, type ObjectStore } from "../lib/storage/mod.ts";
import { startPostgres } from "../tests/support/postgres.ts";
import { startS3 } from "../tests/support/s3.ts";
import { machineLine, ms, num, row } from "./support/report.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    cameras: { type: "string", default: "4" },
    segments: { type: "string", default: "5000" },
  },
});
const machine = machineLine();
const CAMERAS = Number(values.cameras);
const SEGMENTS = Number(values.segments);
const SEGMENT_MS = 2000;
const PER_RECORDING = 1800;
const KEPT = 1800;
const NOW = Date.now();
const BODY = new TextEncoder().encode("x".repeat(100));
const SHA256 = btoa(
  String.fromCharCode(...new Uint8Array(await crypto.subtle.digest("SHA-256", BODY))),
);

/** Stores the fleet's objects and indexes them as the indexer would. */
async function seed(catalog: Catalog, store: ObjectStore): Promise<string> {
  const fleet = await catalog.fleets.create({ name: "Bench" });
  await catalog.fleets.setRetention(fleet.id, 30);
  const vehicle = await catalog.vehicles.create({ fleetId: fleet.id, name: "bus-1" });
  const oldStart = NOW - 40 * DAY_MS;
  for (let c = 0; c < CAMERAS; c++) {
    const camera = await catalog.cameras.create({
      fleetId: fleet.id,
      vehicleId: vehicle.id,
      name: `cam-${c}`,
    });
    const segments: SegmentRecord[] = [];
    for (let i = 0; i < SEGMENTS + KEPT; i++) {
      const old = i < SEGMENTS;
      const recordingId = old ? `old-${Math.floor(i / PER_RECORDING)}` : "new";
      segments.push({
        fleetId: fleet.id,
        vehicleId: vehicle.id,
        cameraId: camera.id,
        recordingId,
        sequence: i,
        startMs: old ? oldStart + i * SEGMENT_MS : NOW - (SEGMENTS + KEPT - i) * SEGMENT_MS,
        durationMs: SEGMENT_MS,
        size: BODY.byteLength,
        sha256: SHA256,
        objectKey: `bench/${camera.id}/${recordingId}/${String(i).padStart(10, "0")}.m4s`,
      });
    }
    for (let i = 0; i < segments.length; i += 50) {
      await Promise.all(
        segments.slice(i, i + 50).map((s) =>
          store.putIfAbsent(s.objectKey, ReadableStream.from([BODY]), {
            contentType: "video/iso.segment",
            sha256: SHA256,
            maxBytes: 1024,
          })
        ),
      );
    }
    for (let i = 0; i < segments.length; i += 500) {
      await catalog.recordings.indexSegments(segments.slice(i, i + 500));
    }
    for (let r = 0; r * PER_RECORDING < SEGMENTS; r++) {
      const end = Math.min(SEGMENTS, (r + 1) * PER_RECORDING);
      await catalog.recordings.close(camera.id, `old-${r}`, new Date(oldStart + end * SEGMENT_MS));
    }
  }
  return fleet.id;
}

/** Seeds, then times the dry-run and one sweep. */
async function measure(catalog: Catalog, store: ObjectStore) {
  const fleetId = await seed(catalog, store);
  let started = performance.now();
  const dryRun = await catalog.retention.expired(fleetId, NOW - 30 * DAY_MS);
  const dryRunMs = performance.now() - started;
  const sweep = new RetentionSweep(catalog, store, { intervalMs: 0, now: () => NOW });
  started = performance.now();
  const result = await sweep.sweep();
  const sweepMs = performance.now() - started;
  if (result.segments !== dryRun.segments || !result.complete) {
    throw new Error(`swept ${JSON.stringify(result)}, the dry-run said ${JSON.stringify(dryRun)}`);
  }
  return { dryRunMs, sweepMs, segments: result.segments };
}

const results: Array<[string, Awaited<ReturnType<typeof measure>>]> = [];
const dir = await Deno.makeTempDir({ prefix: "motorcade-bench-retention-" });
try {
  const sqlite = await openCatalog(`sqlite:${join(dir, "catalog.db")}`);
  try {
    results.push([
      "SQLite + files",
      await measure(sqlite, new FsObjectStore(join(dir, "objects"))),
    ]);
  } finally {
    await sqlite.close();
  }
  await using cluster = await startPostgres();
  await using s3 = await startS3();
  const pg = await openCatalog(await cluster.createDatabase("bench"));
  try {
    results.push([`PostgreSQL ${cluster.version} + S3 (versitygw)`, await measure(pg, s3.store())]);
  } finally {
    await pg.close();
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}

console.log(machine);
console.log(
  `retention sweep: ${CAMERAS} cameras x ${SEGMENTS} expired segments (and ${KEPT} kept each), ` +
    "batches of 1,000; goal: well above 500 segments/s (1,000 cameras' 2 s segments)",
);
console.log(
  `${"".padEnd(36)} ${"dry-run".padStart(10)}   ${"sweep".padStart(10)}   ${
    "segments/s".padStart(10)
  }`,
);
for (const [label, result] of results) {
  row(
    label,
    ms(result.dryRunMs),
    `${num(result.sweepMs / 1000, 2, 8)} s`,
    num(result.segments / (result.sweepMs / 1000), 0, 10),
  );
}
