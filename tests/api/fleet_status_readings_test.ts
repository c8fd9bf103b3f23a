/**
 * Fleet status readers share the fleet's camera activity (last segment, bytes today: the costly
 * aggregates) for CAMERA_ACTIVITY_MAX_AGE_MS, while heartbeats and the vehicle list are read
 * afresh each time.
 */
import assert from "node:assert/strict";
import { CAMERA_ACTIVITY_MAX_AGE_MS, FleetStatus } from "../../lib/fleet/status.ts";
import { makeFleet, startTestPlatform, type TestPlatform } from "../support/platform.ts";

/** Counts the catalog's camera activity readings (the real catalog still answers them). */
function countActivityReadings(p: TestPlatform, fail = 0) {
  const repo = p.catalog.vehicleStatus;
  const read = repo.cameraActivity.bind(repo);
  const counter = { readings: 0 };
  repo.cameraActivity = (fleetId, sinceMs) => {
    counter.readings++;
    if (fail-- > 0) return Promise.reject(new Error("Cannot read camera activity: test fault"));
    return read(fleetId, sinceMs);
  };
  return counter;
}

const statusOf = (p: TestPlatform) =>
  new FleetStatus({ catalog: p.catalog, registry: p.registry, offlineAfterMs: 90_000, live: null });

Deno.test("fleet status readers share one camera activity reading per second, heartbeats read afresh", async () => {
  await using p = await startTestPlatform();
  const fleet = await makeFleet(p, "Shared");
  const counter = countActivityReadings(p);
  const api = async () => {
    const response = await p.call("GET", `/api/v1/fleets/${fleet.fleetId}/status`, {
      token: fleet.tokens.viewer,
    });
    assert.equal(response.status, 200);
    return await response.json();
  };
  await api();
  await api();
  // Another FleetStatus (as the dashboard page makes) shares the same reading.
  const [bus1] = await statusOf(p).fleet(fleet.fleetId);
  assert.equal(counter.readings, 1);
  assert.equal(bus1.online, false);

  // A heartbeat shows at once, within the shared activity reading.
  await p.catalog.vehicleStatus.report(fleet.vehicleId, { cameras: [] }, new Date());
  assert.equal((await api()).vehicles[0].online, true);
  // And the next one, though the catalog keeps each heartbeat it has parsed.
  const line = {
    camera: "front",
    recordingId: "rec-1",
    capturing: true,
    queueDepth: 7,
    bytesPending: 7000,
    lastUploadAt: null,
  };
  await p.catalog.vehicleStatus.report(fleet.vehicleId, { cameras: [line] }, new Date());
  assert.deepEqual((await api()).vehicles[0].cameras[0].backlog, {
    segments: 7,
    bytes: 7000,
    lastUploadAt: null,
  });
  assert.equal(counter.readings, 1);

  // A vehicle registered since is read with its cameras at once.
  const { vehicle } = await p.registry.registerVehicle(fleet.fleetId, "bus-2");
  await p.registry.addCamera(fleet.fleetId, vehicle.id, "rear");
  const vehicles = (await api()).vehicles;
  assert.deepEqual(vehicles[1].cameras.map((c: { name: string }) => c.name), ["rear"]);
  assert.equal(counter.readings, 2);

  await new Promise((resolve) => setTimeout(resolve, CAMERA_ACTIVITY_MAX_AGE_MS + 50));
  await api();
  assert.equal(counter.readings, 3, "a reading older than its age is made again");
});

Deno.test("fleet status does not keep a failed camera activity reading", async () => {
  await using p = await startTestPlatform();
  const fleet = await makeFleet(p, "Faulty");
  const counter = countActivityReadings(p, 1);
  await assert.rejects(() => statusOf(p).fleet(fleet.fleetId), /test fault/);
  const [bus1] = await statusOf(p).fleet(fleet.fleetId);
  assert.deepEqual(bus1.cameras.map((c) => c.id), [fleet.cameraId]);
  assert.equal(counter.readings, 2);
});
