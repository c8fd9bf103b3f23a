/**
 * Recalls and instructions outlive a server restart, and a change made through one server process
 * reaches a vehicle's long poll held by another (PostgreSQL catalog, LISTEN/NOTIFY).
 */
import assert from "node:assert/strict";
import { enrolDevice } from "../support/device.ts";
import { makeFleet, startTestPlatform } from "../support/platform.ts";
import { startPostgres } from "../support/postgres.ts";

const heartbeat = (extra: Record<string, unknown> = {}) => ({
  sentAt: new Date().toISOString(),
  uptimeS: 1,
  clock: { state: "ok", lastJumpAt: null, jumps: 0 },
  cameras: [],
  ...extra,
});

Deno.test("a recall filed before a server restart reaches the vehicle after it", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "motorcade-recalls-" });
  try {
    let recallId: string;
    let device: string;
    let operator: string;
    let path: string;
    {
      await using first = await startTestPlatform({ DATA_DIR: dataDir });
      const fleet = await makeFleet(first, "Alpha");
      device = (await enrolDevice(first, fleet.enrolmentCode)).token;
      operator = fleet.tokens.operator;
      path = `/api/v1/fleets/${fleet.fleetId}`;
      const filed = await first.call(
        "POST",
        `${path}/vehicles/${fleet.vehicleId}/cameras/${fleet.cameraId}/recalls`,
        { token: operator, json: { from: "2026-12-06T08:00:00Z", to: "2026-12-06T08:01:00Z" } },
      );
      assert.equal(filed.status, 201);
      recallId = (await filed.json()).id;
    }
    await using second = await startTestPlatform({ DATA_DIR: dataDir });
    const answer = await second.call("POST", "/api/v1/device/heartbeat", {
      token: device,
      json: heartbeat(),
    });
    assert.equal(answer.status, 200);
    assert.deepEqual((await answer.json()).recalls.map((r: { id: string }) => r.id), [recallId]);
    const done = await second.call("POST", "/api/v1/device/heartbeat", {
      token: device,
      json: heartbeat({
        recalls: [{
          id: recallId,
          state: "done",
          segmentsTotal: 30,
          segmentsDone: 30,
          bytesTotal: 9000,
          bytesDone: 9000,
          missing: [],
        }],
      }),
    });
    assert.deepEqual((await done.json()).recalls, []);
    const recall = await second.call("GET", `${path}/recalls/${recallId}`, { token: operator });
    assert.equal((await recall.json()).state, "complete");
  } finally {
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("a policy changed through one process answers a long poll held by another", async () => {
  await using pg = await startPostgres();
  const catalogUrl = await pg.createDatabase();
  await using a = await startTestPlatform({ CATALOG_URL: catalogUrl, ROLES: "api" });
  await using b = await startTestPlatform({ CATALOG_URL: catalogUrl, ROLES: "api" });
  const fleet = await makeFleet(a, "Alpha");
  const device = (await enrolDevice(a, fleet.enrolmentCode)).token;
  const first = await (await b.call("GET", "/api/v1/device/instructions", { token: device }))
    .json();
  const poll = b.call("GET", `/api/v1/device/instructions?known=${first.version}&wait=30`, {
    token: device,
  });
  // The poll is waiting (its first read done) before the change is made.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const set = await a.call(
    "PUT",
    `/api/v1/fleets/${fleet.fleetId}/vehicles/${fleet.vehicleId}/upload-policy`,
    { token: fleet.tokens.admin, json: { mode: "proxy" } },
  );
  assert.equal(set.status, 200);
  await set.body?.cancel();
  const changed = await poll;
  assert.equal(changed.status, 200, "answered by the change, not after 30 s");
  const body = await changed.json();
  assert.notEqual(body.version, first.version);
  assert.deepEqual(body.cameras.map((c: { mode: string }) => c.mode), ["proxy"]);
});
