/**
 * Benchmark: the catalog read behind a 24-hour playlist, on both engines in one run. One camera's
 * day of 2-second segments (43,200) is indexed through `recordings.indexSegments` (batches of
 * 500, as the indexer writes them), then `playlistSegmentsBetween` over the whole day is timed
 * (the rows read into PlaylistSegments, in this process). SQLite: a file in a temporary folder.
 * PostgreSQL: a throwaway Debian cluster (tests/support/postgres.ts, fsync off) unless
 * `--postgres URL` names a database; after indexing it is vacuumed, as autovacuum would after
 * the inserts, so the read is an index-only scan.
 *
 *   deno task bench:catalog [--segments 43200] [--queries 30] [--postgres postgres://…]
 */
import { parseArgs } from "node:util";
import postgres from "postgres";
import { join } from "node:path";
import { type Catalog, openCatalog, type SegmentRecord } from "../lib/catalog/mod.ts";
import { startPostgres } from "../tests/support/postgres.ts";
import { machineLine, ms, num, percentile, row } from "./support/report.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    segments: { type: "string", default: "43200" },
    queries: { type: "string", default: "30" },
    postgres: { type: "string" },
  },
});
const machine = machineLine();
const SEGMENTS = Number(values.segments);
const QUERIES = Number(values.queries);
const SEGMENT_MS = 2000;
const BATCH = 500;
const DAY = 86_400_000;
const fromMs = Math.floor(Date.now() / DAY) * DAY - 2 * DAY;

/** Indexes the day into `catalog`, then times the day's playlist read. */
async function measure(catalog: Catalog, vacuum?: () => Promise<void>) {
  const fleet = await catalog.fleets.create({ name: "Bench" });
  const vehicle = await catalog.vehicles.create({ fleetId: fleet.id, name: "bus-1" });
  const camera = await catalog.cameras.create({
    fleetId: fleet.id,
    vehicleId: vehicle.id,
    name: "front",
  });
  const indexStarted = performance.now();
  for (let first = 0; first < SEGMENTS; first += BATCH) {
    const batch: SegmentRecord[] = [];
    for (let sequence = first; sequence < Math.min(first + BATCH, SEGMENTS); sequence++) {
      batch.push({
        fleetId: fleet.id,
        vehicleId: vehicle.id,
        cameraId: camera.id,
        recordingId: "r24h",
        sequence,
        startMs: fromMs + sequence * SEGMENT_MS,
        durationMs: SEGMENT_MS,
        size: 500_000,
        sha256: "x".repeat(44),
        objectKey: `${camera.id}/r24h/${String(sequence).padStart(10, "0")}.m4s`,
      });
    }
    await catalog.recordings.indexSegments(batch);
  }
  const indexMs = performance.now() - indexStarted;
  await vacuum?.();
  const read = () =>
    catalog.recordings.playlistSegmentsBetween(camera.id, fromMs, fromMs + SEGMENTS * SEGMENT_MS);
  for (let i = 0; i < 3; i++) {
    const listed = (await read()).length;
    if (listed !== SEGMENTS) throw new Error(`${listed} of ${SEGMENTS} segments read`);
  }
  const times: number[] = [];
  for (let i = 0; i < QUERIES; i++) {
    const started = performance.now();
    await read();
    times.push(performance.now() - started);
  }
  return { indexMs, p50: percentile(times, 50), p99: percentile(times, 99) };
}

const dir = await Deno.makeTempDir({ prefix: "motorcade-bench-catalog-" });
const results: Array<[string, Awaited<ReturnType<typeof measure>>]> = [];
let postgresBytes = 0;
try {
  const sqlite = await openCatalog(`sqlite:${join(dir, "catalog.db")}`);
  try {
    results.push(["SQLite (WAL file)", await measure(sqlite)]);
  } finally {
    await sqlite.close();
  }

  await using cluster = values.postgres ? undefined : await startPostgres();
  const url = values.postgres ?? await cluster!.createDatabase("bench");
  const pg = await openCatalog(url);
  try {
    results.push([
      values.postgres ? "PostgreSQL (given)" : `PostgreSQL ${cluster!.version} (local)`,
      await measure(pg, async () => {
        const sql = postgres(url, { max: 1, onnotice: () => {} });
        await sql`VACUUM ANALYZE segments`.finally(() => sql.end());
      }),
    ]);
    // What a day of one camera costs PostgreSQL on disk: the segment rows and all their indexes.
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      const [{ bytes }] = await sql`SELECT pg_total_relation_size('segments')::bigint AS bytes`;
      postgresBytes = Number(bytes);
    } finally {
      await sql.end();
    }
  } finally {
    await pg.close();
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}

console.log(machine);
console.log(
  `catalog read of a 24-hour playlist: ${SEGMENTS} segments of one camera, ` +
    `playlistSegmentsBetween over the day, ${QUERIES} sequential reads after 3 warm-up reads`,
);
console.log(
  `${"".padEnd(36)} ${"p50".padStart(10)}   ${"p99".padStart(10)}   ${"indexing/s".padStart(10)}`,
);
for (const [label, result] of results) {
  row(
    label,
    ms(result.p50),
    ms(result.p99),
    num(SEGMENTS / (result.indexMs / 1000), 0, 10),
  );
}
console.log(
  `PostgreSQL segments table with its indexes: ${
    num(postgresBytes / 1e6, 1, 0)
  } MB for ${SEGMENTS} ` +
    `segments (${num(postgresBytes / SEGMENTS, 0, 0)} bytes each): ` +
    `${num(1e9 / (postgresBytes / SEGMENTS) / 43_200, 0, 0)} camera-days of 2 s segments per GB`,
);
