/** System health: the dependencies' checks, the indexer's ingest rate and lag, and error counts. */
import assert from "node:assert/strict";
import { SEGMENTS_TOPIC } from "../../lib/bus/mod.ts";
import { makeFleet, startTestPlatform, type TestPlatform } from "../support/platform.ts";

async function health(p: TestPlatform, token: string) {
  const response = await p.call("GET", "/api/v1/system/health", { token });
  assert.equal(response.status, 200);
  return await response.json();
}

Deno.test("system health shows the checks, and the indexer's rate and lag once it indexed", async () => {
  await using p = await startTestPlatform();
  const owner = (await p.login("owner@example.com", "owner-password-1")).accessToken;
  const fresh = await health(p, owner);
  assert.equal(fresh.ok, true);
  assert.deepEqual(fresh.checks.catalog, { ok: true });
  assert.deepEqual(fresh.checks.bus, { ok: true });
  assert.deepEqual(fresh.checks["object-store"], { ok: true });
  assert.deepEqual(fresh.ingest, {
    segmentsPerSecond: 0,
    bytesPerSecond: 0,
    lagMs: null,
    lastIndexedAt: null,
  });
  assert.equal(fresh.errors.http5xx, 0);

  const fleet = await makeFleet(p, "Health");
  await p.bus.publish(SEGMENTS_TOPIC, fleet.cameraId, {
    type: "segment.stored",
    fleetId: fleet.fleetId,
    vehicleId: fleet.vehicleId,
    cameraId: fleet.cameraId,
    recordingId: "rec-1",
    sequence: 0,
    startMs: Date.now() - 2000,
    durationMs: 2000,
    size: 6000,
    sha256: "a".repeat(64),
    objectKey: "x/rec-1/0000000000.m4s",
  });
  let after = fresh;
  for (let i = 0; i < 100 && after.ingest.lastIndexedAt === null; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    after = await health(p, owner);
  }
  assert.equal(after.ingest.segmentsPerSecond, 1 / 60);
  assert.equal(after.ingest.bytesPerSecond, 100);
  assert.equal(typeof after.ingest.lagMs, "number");

  const admin = await health(p, fleet.tokens.admin);
  assert.equal(admin.ok, true);
  for (const role of ["operator", "viewer"] as const) {
    const refused = await p.call("GET", "/api/v1/system/health", { token: fleet.tokens[role] });
    assert.equal(refused.status, 403, role);
    await refused.body?.cancel();
  }
});
