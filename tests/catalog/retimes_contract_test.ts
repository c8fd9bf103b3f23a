/**
 * The re-timing offsets' repository on both engines (SQLite, and PostgreSQL on a throwaway Debian
 * cluster): the first offset stored wins, also when two catalogs on one database claim at once;
 * a replacement takes only over the offset it names; rows go with their camera and, by
 * retention, with their recording; PostgreSQL down is a 503 with Retry-After.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Catalog, openCatalog } from "../../lib/catalog/mod.ts";
import { UnavailableError } from "../../lib/errors/mod.ts";
import { startPostgres } from "../support/postgres.ts";

const T0 = Date.UTC(2026, 10, 24, 3, 0, 0);

async function camera(catalog: Catalog) {
  const fleet = await catalog.fleets.create({ name: "Acme" });
  const vehicle = await catalog.vehicles.create({ fleetId: fleet.id, name: "truck-1" });
  const cam = await catalog.cameras.create({ fleetId: fleet.id, vehicleId: vehicle.id, name: "f" });
  return { fleetId: fleet.id, vehicleId: vehicle.id, cameraId: cam.id };
}

/** The contract on two catalogs open on the same database (`one` made the schema). */
async function contract(t: Deno.TestContext, one: Catalog, two: Catalog) {
  const at = await camera(one);
  await t.step("the first offset stored wins, also when claims race", async () => {
    assert.equal(await one.retimes.get(at.cameraId, "r1"), undefined);
    const answers = await Promise.all(
      Array.from(
        { length: 24 },
        (_, i) => (i % 2 ? two : one).retimes.claim(at.cameraId, "r1", -1000 * (i + 1)),
      ),
    );
    assert.equal(new Set(answers).size, 1, `answers: ${answers}`);
    assert.ok(answers[0] <= -1000 && answers[0] >= -24_000);
    assert.equal(await two.retimes.get(at.cameraId, "r1"), answers[0]);
    assert.equal(await one.retimes.claim(at.cameraId, "r1", 5), answers[0]);
    assert.equal(await one.retimes.get(at.cameraId, "r2"), undefined);
  });
  await t.step("a replacement takes over only the offset it names", async () => {
    const first = await one.retimes.claim(at.cameraId, "r3", 7);
    assert.equal(await two.retimes.claim(at.cameraId, "r3", 9, first + 1), first);
    const answers = await Promise.all([
      one.retimes.claim(at.cameraId, "r3", 11, first),
      two.retimes.claim(at.cameraId, "r3", 13, first),
    ]);
    assert.equal(answers[0], answers[1], `answers: ${answers}`);
    assert.ok([11, 13].includes(answers[0]));
  });
  await t.step("retention deletes a recording's offset with it", async () => {
    await one.recordings.indexSegments([{
      ...at,
      recordingId: "r1",
      sequence: 0,
      startMs: T0,
      durationMs: 2000,
      size: 10,
      sha256: "x",
      objectKey: "k/0",
    }]);
    await one.recordings.close(at.cameraId, "r1", new Date(T0 + 2000));
    const cutoff = T0 + 10_000;
    assert.equal(await one.retention.expireSegments(at.cameraId, cutoff, 10), 1);
    assert.deepEqual(await one.retention.expireRecordings(at.fleetId, cutoff, 10), [at.cameraId]);
    assert.equal(await two.retimes.get(at.cameraId, "r1"), undefined);
    assert.notEqual(await two.retimes.get(at.cameraId, "r3"), undefined, "another one stays");
  });
  await t.step("a camera's offsets go with it, and a deleted camera takes none", async () => {
    await one.cameras.delete(at.fleetId, at.cameraId);
    assert.equal(await one.retimes.get(at.cameraId, "r3"), undefined);
    assert.equal(await one.retimes.claim(at.cameraId, "r4", 3), 3);
    assert.equal(await one.retimes.get(at.cameraId, "r4"), undefined);
  });
}

Deno.test("the SQLite catalog keeps re-timing offsets, first writer wins", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "motorcade-retimes-" });
  const url = `sqlite:${join(dir, "catalog.db")}`;
  try {
    const one = await openCatalog(url);
    const two = await openCatalog(url);
    try {
      await contract(t, one, two);
    } finally {
      await one.close();
      await two.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the PostgreSQL catalog keeps re-timing offsets, first writer wins", async (t) => {
  await using pg = await startPostgres();
  const url = await pg.createDatabase();
  const one = await openCatalog(url);
  const two = await openCatalog(url);
  try {
    await contract(t, one, two);
    await t.step("PostgreSQL down is 503 with Retry-After for a claim", async () => {
      await pg.stop();
      const error = await one.retimes.claim("cam_x", "r9", 1).then(() => undefined, (e) => e);
      assert.ok(error instanceof UnavailableError, `not a 503: ${error?.stack ?? error}`);
      assert.ok((error.retryAfterSeconds ?? 0) > 0);
      await pg.start();
    });
  } finally {
    await one.close();
    await two.close();
  }
});
