import assert from "node:assert/strict";
import { DeviceAuthError, DeviceTokens, enrol, loadDeviceState } from "../../vehicle/identity.ts";
import { OWNER } from "../support/platform.ts";
import { startServer } from "../support/server.ts";

async function api(base: string, method: string, path: string, token?: string, json?: unknown) {
  const response = await fetch(base + path, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(json ? { "content-type": "application/json" } : {}),
    },
    body: json ? JSON.stringify(json) : undefined,
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

Deno.test("vehicle enrols over HTTP, obtains device tokens, and stops working once revoked", async () => {
  await using server = await startServer();
  const stateDir = await Deno.makeTempDir({ prefix: "vehicle-state-" });
  try {
    const login = await api(server.url, "POST", "/api/v1/auth/login", undefined, OWNER);
    const owner = login.body.accessToken;
    const fleet = await api(server.url, "POST", "/api/v1/fleets", owner, { name: "Metro" });
    const fleetPath = `/api/v1/fleets/${fleet.body.id}/vehicles`;
    const added = await api(server.url, "POST", fleetPath, owner, { name: "bus-7" });
    assert.equal(added.status, 201);
    const vehicleId = added.body.vehicle.id;
    await api(server.url, "POST", `${fleetPath}/${vehicleId}/cameras`, owner, { name: "front" });

    const state = await enrol(server.url, added.body.enrolment.code.toLowerCase(), stateDir);
    assert.equal(state.vehicleId, vehicleId);
    const mode = (await Deno.stat(`${stateDir}/device.json`)).mode! & 0o777;
    assert.equal(mode, 0o600, "the private key is readable by the agent only");

    await assert.rejects(
      () => enrol(server.url, added.body.enrolment.code, stateDir),
      /already enrolled/,
    );

    const tokens = new DeviceTokens(await loadDeviceState(stateDir));
    const token = await tokens.token();
    assert.equal(await tokens.token(), token, "a fresh token is reused, not fetched again");
    const self = await api(server.url, "GET", "/api/v1/device/vehicle", token);
    assert.equal(self.status, 200);
    assert.equal(self.body.vehicle.id, vehicleId);
    assert.deepEqual(self.body.cameras.map((c: { name: string }) => c.name), ["front"]);

    const revoke = await api(
      server.url,
      "DELETE",
      `${fleetPath}/${vehicleId}/credentials/${state.credentialId}`,
      owner,
    );
    assert.equal(revoke.status, 200);
    assert.equal(revoke.body.state, "revoked");
    assert.equal((await api(server.url, "GET", "/api/v1/device/vehicle", token)).status, 401);
    tokens.invalidate();
    const refused = await tokens.token().catch((error) => error);
    assert.ok(refused instanceof DeviceAuthError);
    assert.equal(refused.status, 401);
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("vehicle enrolment with a wrong code says why and writes nothing", async () => {
  await using server = await startServer();
  const stateDir = await Deno.makeTempDir({ prefix: "vehicle-state-" });
  try {
    const error = await enrol(server.url, "MCE-NOPE", stateDir).catch((e) => e);
    assert.ok(error instanceof DeviceAuthError);
    assert.equal(error.status, 409);
    assert.match(error.message, /unknown, expired, revoked or already used/);
    await assert.rejects(() => Deno.stat(`${stateDir}/device.json`), Deno.errors.NotFound);
    await assert.rejects(() => loadDeviceState(stateDir), /not enrolled/);
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});
