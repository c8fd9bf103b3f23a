/**
 * Renditions and data usage in the catalog, on both engines (SQLite, and PostgreSQL on a
 * throwaway Debian cluster): a recording keeps the rendition its first segment or init named;
 * range reads pick one rendition (full unless asked); segments of a recording arrive in any
 * order and with gaps (a recall brings back a middle long after its later segments); usage adds
 * each stored object once, on the UTC day it was stored, by kind.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Catalog, openCatalog, type SegmentRecord } from "../../lib/catalog/mod.ts";
import { startPostgres } from "../support/postgres.ts";

const T0 = Date.UTC(2026, 11, 6, 23, 59, 50);
const DAY1 = "2026-12-06";
const DAY2 = "2026-12-07";

async function camera(catalog: Catalog, name = "Acme") {
  const fleet = await catalog.fleets.create({ name });
  const vehicle = await catalog.vehicles.create({ fleetId: fleet.id, name: "truck-1" });
  const cam = await catalog.cameras.create({ fleetId: fleet.id, vehicleId: vehicle.id, name: "f" });
  return { fleetId: fleet.id, vehicleId: vehicle.id, cameraId: cam.id };
}

async function contract(t: Deno.TestContext, catalog: Catalog) {
  const at = await camera(catalog);
  const segment = (
    recordingId: string,
    sequence: number,
    extra: Partial<SegmentRecord> = {},
  ): SegmentRecord => ({
    ...at,
    recordingId,
    sequence,
    startMs: T0 + sequence * 2000,
    durationMs: 2000,
    size: 1000 + sequence,
    sha256: "x",
    objectKey: `k/${recordingId}/${sequence}`,
    storedAtMs: T0 + sequence * 2000,
    ...extra,
  });
  const { recordings } = catalog;

  await t.step("a recording keeps its rendition; range reads pick one", async () => {
    // The proxy is complete; of the full rendition only sequences 0-1 came continuously.
    await recordings.setInit(
      { ...at, recordingId: "r1-p", rendition: "proxy", kind: "proxy", size: 500, storedAtMs: T0 },
      "k/p",
    );
    await recordings.indexSegments(
      [0, 1, 2, 3, 4, 5].map((n) => segment("r1-p", n, { rendition: "proxy", kind: "proxy" })),
    );
    await recordings.setInit(
      { ...at, recordingId: "r1", size: 700, storedAtMs: T0 + 12_000 },
      "k/f",
    );
    await recordings.indexSegments([segment("r1", 0), segment("r1", 1)]);
    const all = await recordings.list(at.fleetId, at.cameraId);
    assert.deepEqual(all.map((r) => [r.id, r.rendition]).sort(), [["r1", "full"], [
      "r1-p",
      "proxy",
    ]]);
    const full = await recordings.list(at.fleetId, at.cameraId, undefined, undefined, "full");
    assert.deepEqual(full.map((r) => r.id), ["r1"]);
    const proxy = await recordings.list(at.fleetId, at.cameraId, T0, T0 + 60_000, "proxy");
    assert.deepEqual(proxy.map((r) => r.id), ["r1-p"]);
    assert.equal(proxy[0].initKey, "k/p");

    const range = [at.cameraId, T0, T0 + 60_000] as const;
    const ids = (list: { recordingId: string; sequence: number }[]) =>
      list.map((s) => `${s.recordingId}/${s.sequence}`);
    assert.deepEqual(ids(await recordings.playlistSegmentsBetween(...range)), ["r1/0", "r1/1"]);
    assert.deepEqual(ids(await recordings.segmentsBetween(...range)), ["r1/0", "r1/1"]);
    const proxySegments = await recordings.playlistSegmentsBetween(...range, "proxy");
    assert.deepEqual(ids(proxySegments), [0, 1, 2, 3, 4, 5].map((n) => `r1-p/${n}`));
    assert.deepEqual(
      ids(await recordings.segmentsBetween(...range, "proxy")),
      ids(proxySegments),
    );
  });

  await t.step("a recall's segments join their recording in any order, with gaps", async () => {
    // Sequence 4 recalled first, then 2: the recording widens, 3 stays a gap.
    await recordings.indexSegments([segment("r1", 4, { kind: "recall" })]);
    await recordings.indexSegments([segment("r1", 2, { kind: "recall" })]);
    const r1 = await recordings.get(at.fleetId, at.cameraId, "r1");
    assert.equal(r1?.segmentCount, 4);
    assert.equal(r1?.rendition, "full");
    assert.equal(r1?.endedAt.getTime(), T0 + 5 * 2000);
    const full = await recordings.playlistSegmentsBetween(at.cameraId, T0, T0 + 60_000);
    assert.deepEqual(full.map((s) => s.sequence), [0, 1, 2, 4]);
    // A later segment without a rendition does not turn the proxy recording into a full one.
    await recordings.indexSegments([segment("r1-p", 6)]);
    assert.equal((await recordings.get(at.fleetId, at.cameraId, "r1-p"))?.rendition, "proxy");
  });

  await t.step("usage adds each object once, by UTC day and kind", async () => {
    // Delivered twice (a redelivery, a retried upload): counted once.
    assert.equal(await recordings.indexSegments([segment("r1", 4, { kind: "recall" })]), 0);
    await recordings.setInit({ ...at, recordingId: "r1", size: 700, storedAtMs: T0 }, "k/f");
    const usage = await catalog.usage.list(at.fleetId, at.vehicleId, DAY1, DAY2);
    const bytes = (day: string, kind: string) =>
      usage.find((u) => u.day === day && u.kind === kind && u.cameraId === at.cameraId)?.bytes;
    // T0 is 10 s before midnight: sequences 0-4 were stored on day 1, 5 and later on day 2.
    const size = (...ns: number[]) => ns.reduce((sum, n) => sum + 1000 + n, 0);
    assert.equal(bytes(DAY1, "proxy"), size(0, 1, 2, 3, 4) + 500, "proxy, day 1 (with its init)");
    assert.equal(bytes(DAY2, "proxy"), size(5), "proxy, day 2");
    assert.equal(bytes(DAY2, "continuous"), size(6) + 700, "the init and r1-p/6 went with no kind");
    assert.equal(bytes(DAY1, "continuous"), size(0, 1));
    assert.equal(bytes(DAY1, "recall"), size(2, 4));
    const objects = usage.reduce((sum, u) => sum + u.objects, 0);
    assert.equal(objects, 2 + 6 + 1 + 2 + 2, "2 inits, 7 proxy segments, 4 full ones");
    assert.deepEqual(
      (await catalog.usage.list(at.fleetId, at.vehicleId, DAY2, DAY2)).map((u) => u.day),
      [DAY2, DAY2],
    );
  });

  await t.step("usage adds live bytes measured without objects to the day's row", async () => {
    const live = { vehicleId: at.vehicleId, cameraId: at.cameraId, day: DAY2, kind: "live" };
    await catalog.usage.add(at.fleetId, { ...live, kind: "live", bytes: 40_000 });
    await catalog.usage.add(at.fleetId, { ...live, kind: "live", bytes: 2_500 });
    const row = (await catalog.usage.list(at.fleetId, at.vehicleId, DAY2, DAY2))
      .find((u) => u.kind === "live");
    assert.deepEqual(row, { ...live, bytes: 42_500, objects: 0 });
  });

  await t.step("usage is read through the vehicle's fleet, and goes with the vehicle", async () => {
    const other = await camera(catalog, "Other");
    assert.deepEqual(await catalog.usage.list(other.fleetId, at.vehicleId, DAY1, DAY2), []);
    await catalog.vehicles.delete(at.fleetId, at.vehicleId);
    assert.deepEqual(await catalog.usage.list(at.fleetId, at.vehicleId, DAY1, DAY2), []);
  });
}

Deno.test("the SQLite catalog keeps renditions apart and counts data usage", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "motorcade-renditions-" });
  try {
    const catalog = await openCatalog(`sqlite:${join(dir, "catalog.db")}`);
    try {
      await contract(t, catalog);
    } finally {
      await catalog.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the PostgreSQL catalog keeps renditions apart and counts data usage", async (t) => {
  await using pg = await startPostgres();
  const catalog = await openCatalog(await pg.createDatabase());
  try {
    await contract(t, catalog);
  } finally {
    await catalog.close();
  }
});
