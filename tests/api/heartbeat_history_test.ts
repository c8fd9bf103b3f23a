/**
 * A vehicle's heartbeat history lives in the catalog: it survives a restart of the server, a
 * second API process on the same catalog shows it too, and HEARTBEAT_HISTORY bounds it.
 */
import assert from "node:assert/strict";
import { enrolDevice } from "../support/device.ts";
import { makeFleet, startTestPlatform, type TestPlatform } from "../support/platform.ts";
import { startPostgres } from "../support/postgres.ts";

const heartbeat = (uptimeS: number) => ({
  sentAt: new Date().toISOString(),
  uptimeS,
  clock: { state: "ok", lastJumpAt: null, jumps: 0 },
  cameras: [],
});

async function beat(p: TestPlatform, token: string, uptimeS: number) {
  const response = await p.call("POST", "/api/v1/device/heartbeat", {
    token,
    json: heartbeat(uptimeS),
  });
  assert.equal(response.status, 200, await response.text());
  // Heartbeats are told apart by the millisecond they arrive in.
  await new Promise((resolve) => setTimeout(resolve, 5));
}

const uptimes = async (p: TestPlatform, vehicleId: string) =>
  (await p.registry.heartbeats.list(vehicleId)).map((h) => h.status.uptimeS);

Deno.test("a vehicle's heartbeat history survives a restart of the server", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "motorcade-heartbeats-" });
  try {
    let vehicleId: string;
    {
      await using first = await startTestPlatform({ DATA_DIR: dataDir });
      const fleet = await makeFleet(first, "Restart");
      vehicleId = fleet.vehicleId;
      const device = await enrolDevice(first, fleet.enrolmentCode);
      for (const uptime of [10, 40, 70]) await beat(first, device.token, uptime);
      assert.deepEqual(await uptimes(first, vehicleId), [70, 40, 10]);
    }
    await using second = await startTestPlatform({ DATA_DIR: dataDir });
    assert.deepEqual(await uptimes(second, vehicleId), [70, 40, 10], "newest first, all three");
  } finally {
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("a second API process on the same PostgreSQL catalog shows the heartbeats the first received", async () => {
  await using pg = await startPostgres();
  const catalogUrl = await pg.createDatabase();
  await using a = await startTestPlatform({ CATALOG_URL: catalogUrl, ROLES: "api" });
  await using b = await startTestPlatform({ CATALOG_URL: catalogUrl, ROLES: "api" });
  const fleet = await makeFleet(a, "Shared");
  const device = await enrolDevice(a, fleet.enrolmentCode);
  await beat(a, device.token, 1);
  await beat(b, device.token, 2);
  assert.deepEqual(await uptimes(b, fleet.vehicleId), [2, 1]);
  assert.deepEqual(await uptimes(a, fleet.vehicleId), [2, 1]);
});

Deno.test("HEARTBEAT_HISTORY=0 keeps no history: the vehicle page lists the last heartbeat only", async () => {
  await using p = await startTestPlatform({ HEARTBEAT_HISTORY: "0" });
  const fleet = await makeFleet(p, "NoHistory");
  const device = await enrolDevice(p, fleet.enrolmentCode);
  assert.deepEqual(await uptimes(p, fleet.vehicleId), []);
  for (const uptime of [1, 2, 3]) await beat(p, device.token, uptime);
  assert.deepEqual(await uptimes(p, fleet.vehicleId), [3]);
});

Deno.test("a removed vehicle's heartbeat history goes with it", async () => {
  await using p = await startTestPlatform();
  const fleet = await makeFleet(p, "Removed");
  const device = await enrolDevice(p, fleet.enrolmentCode);
  await beat(p, device.token, 1);
  assert.deepEqual(await uptimes(p, fleet.vehicleId), [1]);
  await p.registry.deleteVehicle(fleet.fleetId, fleet.vehicleId);
  assert.deepEqual(await uptimes(p, fleet.vehicleId), []);
});
