/**
 * Upload policies, recalls and vehicle inventories on both engines (SQLite, and PostgreSQL on a
 * throwaway Debian cluster): policies per scope replace and go with what they are set on; a
 * vehicle's active recalls stay within the limit also when two catalogs file at once; a finished
 * recall moves no more; an inventory report replaces the last.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Catalog, openCatalog } from "../../lib/catalog/mod.ts";
import { startPostgres } from "../support/postgres.ts";

const T0 = Date.UTC(2026, 11, 6, 8, 0, 0);
const PROXY = { height: 320, bitrateKbps: 150 };

async function vehicle(catalog: Catalog, name: string) {
  const fleet = await catalog.fleets.create({ name });
  const veh = await catalog.vehicles.create({ fleetId: fleet.id, name: "truck-1" });
  const front = await catalog.cameras.create({ fleetId: fleet.id, vehicleId: veh.id, name: "f" });
  const cabin = await catalog.cameras.create({ fleetId: fleet.id, vehicleId: veh.id, name: "c" });
  return { fleetId: fleet.id, vehicleId: veh.id, front: front.id, cabin: cabin.id };
}

/** The contract on two catalogs open on the same database (`one` made the schema). */
async function contract(t: Deno.TestContext, one: Catalog, two: Catalog) {
  const at = await vehicle(one, "Acme");
  const other = await vehicle(one, "Bolt");
  const now = new Date(T0);

  await t.step("policies are one per scope, read through their fleet", async () => {
    assert.deepEqual(await one.uploadPolicies.forVehicle(at.fleetId, at.vehicleId), []);
    await one.uploadPolicies.put({
      scope: "fleet",
      fleetId: at.fleetId,
      vehicleId: null,
      cameraId: null,
      mode: "proxy",
      proxy: PROXY,
      recallMaxSeconds: 600,
    }, now);
    await one.uploadPolicies.put({
      scope: "camera",
      fleetId: at.fleetId,
      vehicleId: at.vehicleId,
      cameraId: at.front,
      mode: "on-request",
      proxy: PROXY,
      recallMaxSeconds: null,
    }, now);
    await two.uploadPolicies.put({
      scope: "camera",
      fleetId: at.fleetId,
      vehicleId: at.vehicleId,
      cameraId: at.front,
      mode: "continuous",
      proxy: { height: 240, bitrateKbps: 100 },
      recallMaxSeconds: null,
    }, new Date(T0 + 1000));
    const policies = await two.uploadPolicies.forVehicle(at.fleetId, at.vehicleId);
    assert.deepEqual(policies.map((p) => [p.scope, p.mode]).sort(), [
      ["camera", "continuous"],
      ["fleet", "proxy"],
    ]);
    const camera = await one.uploadPolicies.get(at.fleetId, at.front);
    assert.deepEqual(camera?.proxy, { height: 240, bitrateKbps: 100 });
    assert.equal(camera?.updatedAt.getTime(), T0 + 1000);
    assert.equal((await one.uploadPolicies.get(at.fleetId, at.fleetId))?.recallMaxSeconds, 600);
    assert.equal(await one.uploadPolicies.get(other.fleetId, at.front), undefined, "tenancy");
    assert.deepEqual(await one.uploadPolicies.forVehicle(other.fleetId, at.vehicleId), []);
    assert.equal(await two.uploadPolicies.delete(other.fleetId, at.front), false);
    assert.equal(await two.uploadPolicies.delete(at.fleetId, at.front), true);
    assert.equal(await two.uploadPolicies.delete(at.fleetId, at.front), false);
  });

  await t.step("a vehicle's active recalls stay within the limit, also filed at once", async () => {
    const filings = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        (i % 2 ? two : one).recalls.create(
          {
            fleetId: at.fleetId,
            vehicleId: at.vehicleId,
            cameraId: at.front,
            fromMs: T0 + i * 60_000,
            toMs: T0 + (i + 1) * 60_000,
            origin: "operator",
            createdBy: null,
          },
          5,
          new Date(T0 + i),
        )),
    );
    const filed = filings.filter((r) => r !== undefined);
    assert.equal(filed.length, 5, "five of twelve");
    assert.match(filed[0]!.id, /^rcl_[0-9a-z]{20}$/);
    const active = await two.recalls.active(at.vehicleId);
    assert.deepEqual(active.map((r) => r.id).sort(), filed.map((r) => r!.id).sort());
    assert.ok(active.every((r) => r.state === "queued" && r.progress === null));
    assert.deepEqual(await one.recalls.active(other.vehicleId), []);
  });

  await t.step("a recall moves on until it finishes, then no more", async () => {
    const [first] = await one.recalls.active(at.vehicleId);
    const progress = {
      segmentsTotal: 30,
      segmentsDone: 10,
      bytesTotal: 3000,
      bytesDone: 1000,
      missing: [],
    };
    const uploading = await two.recalls.advance(first.id, "uploading", progress, new Date(T0 + 5));
    assert.equal(uploading?.state, "uploading");
    assert.deepEqual(uploading?.progress, progress);
    assert.equal(uploading?.finishedAt, null);
    const cancelled = await one.recalls.advance(first.id, "cancelled", null, new Date(T0 + 6));
    assert.equal(cancelled?.state, "cancelled");
    assert.deepEqual(cancelled?.progress, progress, "cancelling keeps the last progress");
    assert.equal(cancelled?.finishedAt?.getTime(), T0 + 6);
    assert.equal(await two.recalls.advance(first.id, "complete", progress, new Date()), undefined);
    assert.equal((await one.recalls.get(at.fleetId, first.id))?.state, "cancelled");
    assert.equal(await one.recalls.get(other.fleetId, first.id), undefined, "tenancy");
    assert.equal((await one.recalls.active(at.vehicleId)).length, 4);
    const listed = await two.recalls.list(at.fleetId, at.front, 3);
    assert.equal(listed.length, 3);
    assert.ok(listed[0].createdAt >= listed[1].createdAt, "newest first");
    const again = await one.recalls.create(
      {
        fleetId: at.fleetId,
        vehicleId: at.vehicleId,
        cameraId: at.cabin,
        fromMs: T0,
        toMs: T0 + 1000,
        origin: "event",
        createdBy: null,
      },
      5,
      new Date(T0 + 7),
    );
    assert.equal(again?.origin, "event", "a finished recall frees its place");
  });

  await t.step("an inventory report replaces the last one", async () => {
    await one.inventory.replace(at.vehicleId, [
      { camera: "f", rendition: "full", ranges: [[T0, T0 + 60_000]] },
      { camera: "f", rendition: "proxy", ranges: [[T0, T0 + 120_000]] },
    ], new Date(T0));
    await two.inventory.replace(at.vehicleId, [
      {
        camera: "f",
        rendition: "full",
        ranges: [[T0 + 1000, T0 + 60_000], [T0 + 70_000, T0 + 80_000]],
      },
    ], new Date(T0 + 10_000));
    const held = await one.inventory.list(at.vehicleId);
    assert.deepEqual(held, [{
      camera: "f",
      rendition: "full",
      ranges: [[T0 + 1000, T0 + 60_000], [T0 + 70_000, T0 + 80_000]],
      reportedAt: new Date(T0 + 10_000),
    }]);
    assert.deepEqual(await one.inventory.list(other.vehicleId), []);
  });

  await t.step("policies, recalls and holdings go with their vehicle", async () => {
    await one.uploadPolicies.put({
      scope: "vehicle",
      fleetId: at.fleetId,
      vehicleId: at.vehicleId,
      cameraId: null,
      mode: "on-request",
      proxy: PROXY,
      recallMaxSeconds: null,
    }, now);
    await one.vehicles.delete(at.fleetId, at.vehicleId);
    assert.deepEqual(
      (await two.uploadPolicies.forVehicle(at.fleetId, at.vehicleId)).map((p) => p.scope),
      ["fleet"],
    );
    assert.deepEqual(await two.recalls.active(at.vehicleId), []);
    assert.deepEqual(await two.inventory.list(at.vehicleId), []);
    await two.inventory.replace(at.vehicleId, [
      { camera: "f", rendition: "full", ranges: [[T0, T0 + 1]] },
    ], now);
    assert.deepEqual(await two.inventory.list(at.vehicleId), [], "a deleted vehicle takes none");
  });
}

Deno.test("the SQLite catalog keeps upload policies, recalls and inventories", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "motorcade-policies-" });
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

Deno.test("the PostgreSQL catalog keeps upload policies, recalls and inventories", async (t) => {
  await using pg = await startPostgres();
  const url = await pg.createDatabase();
  const one = await openCatalog(url);
  const two = await openCatalog(url);
  try {
    await contract(t, one, two);
  } finally {
    await one.close();
    await two.close();
  }
});
