/**
 * Vehicle events, event rules and fleet webhooks on both engines (SQLite, and PostgreSQL on a
 * throwaway Debian cluster): a retried event is found by the reporter's id, also when two
 * catalogs record it at once; events list per vehicle, time range and kind through their fleet;
 * rules and webhooks replace and go with their fleet.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Catalog, openCatalog, type VehicleEventInput } from "../../lib/catalog/mod.ts";
import { startPostgres } from "../support/postgres.ts";

const T0 = Date.UTC(2026, 11, 7, 8, 0, 0);

async function vehicle(catalog: Catalog, name: string) {
  const fleet = await catalog.fleets.create({ name });
  const veh = await catalog.vehicles.create({ fleetId: fleet.id, name: "truck-1" });
  return { fleetId: fleet.id, vehicleId: veh.id };
}

/** The contract on two catalogs open on the same database. */
async function contract(t: Deno.TestContext, one: Catalog, two: Catalog) {
  const at = await vehicle(one, "Acme");
  const other = await vehicle(one, "Bolt");
  const now = new Date(T0 + 5000);
  const event = (over: Partial<VehicleEventInput> = {}): VehicleEventInput => ({
    ...at,
    kind: "panic",
    atMs: T0,
    metadata: { speedKmh: 42 },
    source: "vehicle",
    clientId: "e-1",
    createdBy: null,
    ...over,
  });

  await t.step("a retried event is the same event, also recorded at once", async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => (i % 2 ? two : one).events.record(event(), now)),
    );
    assert.equal(results.filter((r) => r.created).length, 1);
    assert.equal(new Set(results.map((r) => r.event.id)).size, 1);
    const [first] = results;
    assert.match(first.event.id, /^evt_[0-9a-z]{20}$/);
    assert.deepEqual(first.event.metadata, { speedKmh: 42 });
    assert.equal(first.event.atMs, T0);
    assert.equal(first.event.recalls, null);
    const again = await two.events.record(event({ kind: "other", atMs: T0 + 1 }), now);
    assert.equal(again.created, false);
    assert.equal(again.event.kind, "panic", "a retry changes nothing");
    const sameIdElsewhere = await one.events.record(event(other), now);
    assert.equal(sameIdElsewhere.created, true, "client ids are per vehicle");
  });

  await t.step("events without a reporter's id never collide", async () => {
    const a = await one.events.record(
      event({ clientId: null, source: "operator", createdBy: "usr_x", atMs: T0 + 60_000 }),
      now,
    );
    const b = await two.events.record(
      event({ clientId: null, source: "operator", kind: "check", atMs: T0 + 120_000 }),
      now,
    );
    assert.ok(a.created && b.created && a.event.id !== b.event.id);
    assert.equal(a.event.createdBy, "usr_x");
  });

  await t.step("events list per vehicle, range and kind, through their fleet", async () => {
    const all = await two.events.list(at.fleetId, at.vehicleId, {
      fromMs: T0,
      toMs: T0 + 3_600_000,
      limit: 100,
    });
    assert.deepEqual(all.map((e) => [e.kind, e.atMs - T0]), [
      ["panic", 0],
      ["panic", 60_000],
      ["check", 120_000],
    ]);
    const panics = await one.events.list(at.fleetId, at.vehicleId, {
      fromMs: T0 + 1,
      toMs: T0 + 120_000,
      kind: "panic",
      limit: 100,
    });
    assert.deepEqual(panics.map((e) => e.atMs - T0), [60_000], "from inclusive, to exclusive");
    assert.deepEqual(
      await one.events.list(other.fleetId, at.vehicleId, { fromMs: 0, toMs: T0 * 2, limit: 9 }),
      [],
      "tenancy",
    );
    assert.equal(await one.events.get(other.fleetId, all[0].id), undefined, "tenancy");
    await one.events.setRecalls(all[0].id, [
      { cameraId: "cam_a", recallId: "rcl_b" },
      { cameraId: "cam_c", error: "quota" },
    ]);
    assert.deepEqual((await two.events.get(at.fleetId, all[0].id))?.recalls, [
      { cameraId: "cam_a", recallId: "rcl_b" },
      { cameraId: "cam_c", error: "quota" },
    ]);
  });

  await t.step("a fleet's rules and webhook replace and go with the fleet", async () => {
    assert.deepEqual(await one.eventRules.get(at.fleetId), []);
    const rules = [
      { kind: "panic", preSeconds: 30, postSeconds: 30, cameras: "all" as const },
      { kind: "harsh-brake", preSeconds: 10, postSeconds: 5, cameras: ["front"] },
    ];
    await one.eventRules.put(at.fleetId, rules, now);
    assert.deepEqual(await two.eventRules.get(at.fleetId), rules);
    await two.eventRules.put(at.fleetId, rules.slice(1), now);
    assert.deepEqual(await one.eventRules.get(at.fleetId), rules.slice(1));
    assert.deepEqual(await one.eventRules.get(other.fleetId), []);

    assert.equal(await one.webhooks.get(at.fleetId), undefined);
    await one.webhooks.put({ fleetId: at.fleetId, url: "https://a.example/h", secret: "s1" }, now);
    const put = await two.webhooks.put(
      { fleetId: at.fleetId, url: "https://b.example/h", secret: "s2" },
      new Date(T0 + 9000),
    );
    assert.deepEqual(await one.webhooks.get(at.fleetId), put);
    assert.equal(put.updatedAt.getTime(), T0 + 9000);
    assert.equal(await one.webhooks.delete(other.fleetId), false);

    const [kept] = await one.events.list(at.fleetId, at.vehicleId, {
      fromMs: 0,
      toMs: T0 * 2,
      limit: 1,
    });
    await one.vehicles.delete(at.fleetId, at.vehicleId);
    assert.equal(
      await two.events.get(at.fleetId, kept.id),
      undefined,
      "events go with the vehicle",
    );
    await one.fleets.delete(at.fleetId);
    assert.deepEqual(await two.eventRules.get(at.fleetId), []);
    assert.equal(await two.webhooks.get(at.fleetId), undefined);
  });
}

Deno.test("the SQLite catalog keeps vehicle events, event rules and webhooks", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "motorcade-events-" });
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

Deno.test("the PostgreSQL catalog keeps vehicle events, event rules and webhooks", async (t) => {
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
