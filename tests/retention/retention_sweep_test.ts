/**
 * The retention sweep on both engine pairs, the embedded one (SQLite, files) and the distributed
 * one (PostgreSQL on a throwaway Debian cluster, S3 on versitygw): what ended before now − the
 * fleet's retention goes from the catalog and the store, what is newer and every fleet without a
 * retention stay; the dry-run count is what a sweep then deletes; two sweeps at once delete each
 * segment once; a sweep stops at its batch limit and the next ones finish; a store that fails
 * between the catalog and the store loses nothing the next sweep cannot finish; on S3 the objects
 * go in DeleteObjects batches of at most a thousand keys.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Registry } from "prom-client";
import { type Catalog, openCatalog } from "../../lib/catalog/mod.ts";
import { UnavailableError } from "../../lib/errors/mod.ts";
import { DAY_MS, RetentionSweep } from "../../lib/retention/mod.ts";
import { FsObjectStore, type ObjectStore } from "../../lib/storage/mod.ts";
import { startPostgres } from "../support/postgres.ts";
import { startS3 } from "../support/s3.ts";

const NOW = Date.UTC(2026, 10, 24, 12, 0, 0);
const CUTOFF = NOW - 30 * DAY_MS;
const SEGMENT_MS = 2000;

/** Two catalogs on one database (as two processes have) and an object store. */
interface Engines {
  catalog: Catalog;
  second: Catalog;
  store: ObjectStore;
}

/** Runs `body` on the embedded engines and on PostgreSQL with S3, each fresh. */
function onBothEngines(name: string, body: (engines: Engines) => Promise<void>) {
  Deno.test(`${name} (SQLite, files)`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "motorcade-retention-" });
    const url = `sqlite:${join(dir, "catalog.db")}`;
    const catalog = await openCatalog(url);
    const second = await openCatalog(url);
    try {
      await body({ catalog, second, store: new FsObjectStore(join(dir, "objects")) });
    } finally {
      await second.close();
      await catalog.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
  Deno.test(`${name} (PostgreSQL, S3)`, async () => {
    await using pg = await startPostgres();
    await using s3 = await startS3();
    const url = await pg.createDatabase();
    const catalog = await openCatalog(url);
    const second = await openCatalog(url);
    try {
      await body({ catalog, second, store: s3.store() });
    } finally {
      await second.close();
      await catalog.close();
    }
  });
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  return btoa(String.fromCharCode(...digest));
}

/** Stores `bytes` under `key`. */
async function put(store: ObjectStore, key: string, bytes: Uint8Array) {
  await store.putIfAbsent(key, ReadableStream.from([bytes]), {
    contentType: "video/iso.segment",
    sha256: await sha256(bytes),
    maxBytes: 1 << 20,
  });
}

/** A fleet (with `retentionDays`) with a vehicle with a camera. */
async function cameraOf(catalog: Catalog, name: string, retentionDays: number | null) {
  const fleet = await catalog.fleets.create({ name });
  await catalog.fleets.setRetention(fleet.id, retentionDays);
  const vehicle = await catalog.vehicles.create({ fleetId: fleet.id, name: "bus-1" });
  const camera = await catalog.cameras.create({
    fleetId: fleet.id,
    vehicleId: vehicle.id,
    name: "front",
  });
  return { fleetId: fleet.id, vehicleId: vehicle.id, cameraId: camera.id };
}

type CameraAt = Awaited<ReturnType<typeof cameraOf>>;

/**
 * Records `count` segments of 2 s from `startMs` as recording `id` of `at` (objects stored, then
 * indexed as the indexer does), with an init segment; closes it when `closed`. Returns its keys.
 */
async function record(
  engines: Engines,
  at: CameraAt,
  id: string,
  startMs: number,
  count: number,
  closed: boolean,
) {
  const prefix = `fleets/${at.fleetId}/vehicles/${at.vehicleId}/cameras/${at.cameraId}/${id}/`;
  const init = `${prefix}init.mp4`;
  await put(engines.store, init, new TextEncoder().encode(`init ${id}`));
  await engines.catalog.recordings.setInit({ ...at, recordingId: id }, init);
  const segments = [];
  for (let i = 0; i < count; i++) {
    const bytes = new TextEncoder().encode(`segment ${id} ${i} `.repeat(i + 1));
    const objectKey = `${prefix}${String(i).padStart(10, "0")}.m4s`;
    await put(engines.store, objectKey, bytes);
    segments.push({
      ...at,
      recordingId: id,
      sequence: i,
      startMs: startMs + i * SEGMENT_MS,
      durationMs: SEGMENT_MS,
      size: bytes.byteLength,
      sha256: await sha256(bytes),
      objectKey,
    });
  }
  for (let i = 0; i < segments.length; i += 500) {
    await engines.catalog.recordings.indexSegments(segments.slice(i, i + 500));
  }
  if (closed) {
    await engines.catalog.recordings.close(at.cameraId, id, new Date(startMs + count * SEGMENT_MS));
  }
  return { init, keys: segments.map((s) => s.objectKey), sizes: segments.map((s) => s.size) };
}

/** Which of `keys` the store still holds. */
async function present(store: ObjectStore, keys: string[]): Promise<string[]> {
  const held = [];
  for (const key of keys) if (await store.head(key)) held.push(key);
  return held;
}

/** A metric's value on `registry`. */
async function metric(registry: Registry, name: string): Promise<number> {
  const found = registry.getSingleMetric(name);
  assert.ok(found, `no metric ${name}`);
  return (await found.get()).values[0]?.value ?? 0;
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

onBothEngines(
  "retention deletes what ended before the cutoff from the store and the catalog, and nothing newer",
  async (engines) => {
    const { catalog, store } = engines;
    const kept = await cameraOf(catalog, "Keeps 30 days", 30);
    const forever = await cameraOf(catalog, "Keeps everything", null);
    // Over and past: goes whole. Across the cutoff: its two first segments go. Open and past: its
    // segments go, the recording (and its init segment) wait for the vehicle to close it.
    const old = await record(engines, kept, "old", NOW - 40 * DAY_MS, 5, true);
    const across = await record(engines, kept, "across", CUTOFF - 5000, 5, false);
    const open = await record(engines, kept, "open", NOW - 35 * DAY_MS, 2, false);
    const fresh = await record(engines, kept, "fresh", NOW - 60_000, 3, false);
    // Ended a minute ago before any segment came (it has only its init segment): not over yet.
    const stillborn = await record(engines, kept, "stillborn", NOW - 60_000, 0, true);
    const other = await record(engines, forever, "old", NOW - 400 * DAY_MS, 3, true);

    const expiredBytes = sum(old.sizes) + sum(across.sizes.slice(0, 2)) + sum(open.sizes);
    const dryRun = await catalog.retention.expired(kept.fleetId, CUTOFF);
    assert.deepEqual(dryRun, { segments: 9, bytes: expiredBytes, recordings: 1 });
    assert.deepEqual(
      await catalog.retention.expired(forever.fleetId, CUTOFF),
      { segments: 3, bytes: sum(other.sizes), recordings: 1 },
      "the dry-run counts for any retention asked",
    );

    const invalidated: string[] = [];
    const registry = new Registry();
    const sweep = new RetentionSweep(catalog, store, {
      intervalMs: 0,
      now: () => NOW,
      onExpired: (cameras) => invalidated.push(...cameras),
    });
    sweep.registerMetrics(registry);
    const result = await sweep.sweep();
    assert.deepEqual(result, {
      segments: dryRun.segments,
      bytes: dryRun.bytes,
      recordings: dryRun.recordings,
      complete: true,
    });
    assert.equal(await metric(registry, "motorcade_retention_deleted_segments_total"), 9);
    assert.equal(await metric(registry, "motorcade_retention_deleted_bytes_total"), expiredBytes);
    assert.equal(await metric(registry, "motorcade_retention_deleted_recordings_total"), 1);
    assert.equal(await metric(registry, "motorcade_retention_sweep_errors_total"), 0);
    assert.equal(
      await metric(registry, "motorcade_retention_last_sweep_timestamp_seconds"),
      NOW / 1000,
    );
    assert.deepEqual([...new Set(invalidated)], [kept.cameraId]);

    // The store.
    assert.deepEqual(await present(store, [...old.keys, old.init]), []);
    assert.deepEqual(await present(store, across.keys), across.keys.slice(2));
    assert.deepEqual(await present(store, [...open.keys, open.init]), [open.init]);
    for (
      const keys of [[across.init], fresh.keys, [fresh.init], [stillborn.init], other.keys, [
        other.init,
      ]]
    ) {
      assert.deepEqual(await present(store, keys), keys);
    }
    // The catalog: the recording across the cutoff starts at its first segment left.
    const recordings = catalog.recordings;
    assert.equal(await recordings.get(kept.fleetId, kept.cameraId, "old"), undefined);
    const narrowed = (await recordings.get(kept.fleetId, kept.cameraId, "across"))!;
    assert.equal(narrowed.segmentCount, 3);
    assert.equal(narrowed.startedAt.getTime(), CUTOFF - 1000);
    assert.deepEqual(
      (await recordings.segments(kept.cameraId, "across")).map((s) => s.sequence),
      [2, 3, 4],
    );
    const emptied = (await recordings.get(kept.fleetId, kept.cameraId, "open"))!;
    assert.equal(emptied.segmentCount, 0);
    assert.equal(emptied.initKey, open.init);
    assert.deepEqual(
      (await recordings.list(kept.fleetId, kept.cameraId)).map((r) => r.id),
      ["across", "fresh"],
      "an emptied recording is in no time range",
    );
    assert.deepEqual(
      (await recordings.segmentsBetween(kept.cameraId, NOW - 50 * DAY_MS, CUTOFF + 60_000))
        .map((s) => `${s.recordingId}/${s.sequence}`),
      ["across/2", "across/3", "across/4"],
    );
    assert.equal((await recordings.segments(forever.cameraId, "old")).length, 3);
    assert.deepEqual(await catalog.retention.queued(10), [], "nothing left queued");

    // Nothing more to do: the dry-run says so, and another sweep deletes nothing.
    assert.deepEqual(await catalog.retention.expired(kept.fleetId, CUTOFF), {
      segments: 0,
      bytes: 0,
      recordings: 0,
    });
    assert.deepEqual(await sweep.sweep(), { segments: 0, bytes: 0, recordings: 0, complete: true });

    // The vehicle closes the open recording: it goes, with its init segment.
    await recordings.close(kept.cameraId, "open", new Date(NOW - 35 * DAY_MS + 4000));
    assert.deepEqual(await sweep.sweep(), { segments: 0, bytes: 0, recordings: 1, complete: true });
    assert.deepEqual(await present(store, [open.init]), []);
    assert.equal(await recordings.get(kept.fleetId, kept.cameraId, "open"), undefined);
    await sweep.close();
  },
);

onBothEngines("two retention sweeps at once delete each segment once", async (engines) => {
  const kept = await cameraOf(engines.catalog, "Keeps 30 days", 30);
  const old = await record(engines, kept, "old", NOW - 40 * DAY_MS, 60, true);
  const options = { intervalMs: 0, now: () => NOW, batchSize: 7 };
  const a = new RetentionSweep(engines.catalog, engines.store, options);
  const b = new RetentionSweep(engines.second, engines.store, options);
  const [first, second] = await Promise.all([a.sweep(), b.sweep()]);
  assert.equal(first.segments + second.segments, 60, JSON.stringify([first, second]));
  assert.equal(first.bytes + second.bytes, sum(old.sizes));
  assert.equal(first.recordings + second.recordings, 1);
  assert.deepEqual(await present(engines.store, [...old.keys, old.init]), []);
  assert.equal(await engines.catalog.recordings.get(kept.fleetId, kept.cameraId, "old"), undefined);
  assert.deepEqual(await engines.catalog.retention.queued(10), []);
});

onBothEngines(
  "a retention sweep does bounded work and the next ones go on where it stopped",
  async (engines) => {
    const first = await cameraOf(engines.catalog, "First", 30);
    const second = await cameraOf(engines.catalog, "Second", 30);
    const a = await record(engines, first, "old", NOW - 40 * DAY_MS, 30, true);
    const b = await record(engines, second, "old", NOW - 40 * DAY_MS, 30, true);
    const sweep = new RetentionSweep(engines.catalog, engines.store, {
      intervalMs: 0,
      now: () => NOW,
      batchSize: 10,
      maxBatches: 4,
    });
    const results = [];
    for (let i = 0; i < 20; i++) {
      const result = await sweep.sweep();
      results.push(result);
      assert.ok(result.segments <= 40, `sweep ${i} deleted ${result.segments} segments`);
      if (result.complete) break;
    }
    assert.equal(results[0].complete, false, "the first sweep stops at its limit");
    assert.equal(results.at(-1)!.complete, true, JSON.stringify(results));
    assert.equal(sum(results.map((r) => r.segments)), 60);
    assert.equal(sum(results.map((r) => r.recordings)), 2);
    assert.deepEqual(await present(engines.store, [...a.keys, a.init, ...b.keys, b.init]), []);
  },
);

onBothEngines(
  "a store failing mid-sweep leaves no row without its object, and the next sweep finishes",
  async (engines) => {
    const kept = await cameraOf(engines.catalog, "Keeps 30 days", 30);
    const old = await record(engines, kept, "old", NOW - 40 * DAY_MS, 4, false);
    const failing: ObjectStore = Object.create(engines.store, {
      deleteMany: {
        value: () => Promise.reject(new UnavailableError("Cannot delete objects now: test", 1)),
      },
    });
    const registry = new Registry();
    const broken = new RetentionSweep(engines.catalog, failing, { intervalMs: 0, now: () => NOW });
    broken.registerMetrics(registry);
    await assert.rejects(broken.sweep(), UnavailableError);
    assert.equal(await metric(registry, "motorcade_retention_sweep_errors_total"), 1);
    assert.equal(await metric(registry, "motorcade_retention_deleted_segments_total"), 0);
    // The rows went first: playlists list none of the segments, whose objects are still there.
    assert.deepEqual(await engines.catalog.recordings.segments(kept.cameraId, "old"), []);
    assert.deepEqual(await present(engines.store, old.keys), old.keys);
    assert.equal((await engines.catalog.retention.queued(10)).length, 4);

    const sweep = new RetentionSweep(engines.catalog, engines.store, {
      intervalMs: 0,
      now: () => NOW,
    });
    assert.deepEqual(await sweep.sweep(), {
      segments: 4,
      bytes: sum(old.sizes),
      recordings: 0,
      complete: true,
    });
    assert.deepEqual(await present(engines.store, old.keys), []);
    assert.deepEqual(await engines.catalog.retention.queued(10), []);
  },
);

Deno.test("retention on S3 deletes in DeleteObjects batches of at most a thousand keys", async () => {
  await using s3 = await startS3();
  const dir = await Deno.makeTempDir({ prefix: "motorcade-retention-" });
  const catalog = await openCatalog(`sqlite:${join(dir, "catalog.db")}`);
  try {
    const store = s3.store();
    const kept = await cameraOf(catalog, "Keeps 30 days", 30);
    const old = await record(
      { catalog, second: catalog, store },
      kept,
      "old",
      NOW - 40 * DAY_MS,
      1100,
      true,
    );
    const batches: number[] = [];
    const counting: ObjectStore = Object.create(store, {
      deleteMany: {
        value: (keys: readonly string[]) => {
          batches.push(keys.length);
          return store.deleteMany(keys);
        },
      },
    });
    const sweep = new RetentionSweep(catalog, counting, { intervalMs: 0, now: () => NOW });
    const result = await sweep.sweep();
    assert.equal(result.segments, 1100);
    assert.equal(result.recordings, 1);
    assert.deepEqual(batches, [1000, 100, 1], "segments in two batches, then the init segment");
    const left = [];
    for await (const key of store.list(`fleets/${kept.fleetId}`)) left.push(key);
    assert.deepEqual(left, []);
    assert.equal(old.keys.length, 1100);
  } finally {
    await catalog.close();
    await Deno.remove(dir, { recursive: true });
  }
});
