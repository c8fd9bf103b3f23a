/**
 * Camera labels: PATCH …/cameras/{cameraId} {label} sets what operators call a camera; its name,
 * which the agent uploads and reports heartbeats under, never changes.
 */
import assert from "node:assert/strict";
import { makeFleet, startTestPlatform } from "../support/platform.ts";

Deno.test("an operator labels a camera, the API shows the label beside the unchanged name", async () => {
  await using p = await startTestPlatform();
  const fleet = await makeFleet(p, "Labels");
  const path = `/api/v1/fleets/${fleet.fleetId}/vehicles/${fleet.vehicleId}/cameras`;
  const label = (token: string, value: unknown) =>
    p.call("PATCH", `${path}/${fleet.cameraId}`, { token, json: { label: value } });

  const set = await label(fleet.tokens.operator, "  Door, rear  ");
  assert.equal(set.status, 200, await set.clone().text());
  const camera = await set.json();
  assert.deepEqual([camera.id, camera.name, camera.label], [fleet.cameraId, "front", "Door, rear"]);

  const list = await (await p.call("GET", path, { token: fleet.tokens.viewer })).json();
  assert.deepEqual(list.cameras.map((c: { label: string }) => c.label), ["Door, rear"]);
  const status = await (await p.call("GET", `/api/v1/fleets/${fleet.fleetId}/status`, {
    token: fleet.tokens.viewer,
  })).json();
  const shown = status.vehicles[0].cameras[0];
  assert.deepEqual([shown.name, shown.label], ["front", "Door, rear"]);

  const cleared = await label(fleet.tokens.admin, "");
  assert.equal(cleared.status, 200);
  assert.equal((await cleared.json()).label, null, "an empty label clears it");
  assert.equal((await (await label(fleet.tokens.admin, null)).json()).label, null);
});

Deno.test("a camera label is refused with a clear answer: control characters, too long, a viewer, another fleet", async () => {
  await using p = await startTestPlatform();
  const fleet = await makeFleet(p, "Refusals");
  const other = await makeFleet(p, "Others");
  const url =
    `/api/v1/fleets/${fleet.fleetId}/vehicles/${fleet.vehicleId}/cameras/${fleet.cameraId}`;
  const patch = (token: string, json: unknown, at = url) => p.call("PATCH", at, { token, json });

  const control = await patch(fleet.tokens.operator, { label: "front\u0007" });
  assert.equal(control.status, 400);
  const problem = await control.json();
  assert.match(JSON.stringify(problem), /label/);
  assert.match(JSON.stringify(problem), /control characters/);
  assert.equal((await patch(fleet.tokens.operator, { label: "x".repeat(65) })).status, 400);
  assert.equal((await patch(fleet.tokens.operator, { name: "rear" })).status, 400, "no renaming");
  assert.equal((await patch(fleet.tokens.viewer, { label: "Door" })).status, 403);
  assert.equal(
    (await patch(other.tokens.admin, { label: "Door" })).status,
    404,
    "another fleet is not found",
  );
  const elsewhere =
    `/api/v1/fleets/${fleet.fleetId}/vehicles/${fleet.vehicleId}/cameras/${other.cameraId}`;
  assert.equal((await patch(fleet.tokens.admin, { label: "Door" }, elsewhere)).status, 404);
  const camera = await p.registry.camera(fleet.fleetId, fleet.vehicleId, fleet.cameraId);
  assert.deepEqual([camera.name, camera.label], ["front", null], "nothing was stored");
});
