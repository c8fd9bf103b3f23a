import assert from "node:assert/strict";
import { makeFleet, startTestPlatform } from "../support/platform.ts";

Deno.test("a fleet keeps an enabled admin: the last one cannot be demoted, disabled or removed", async () => {
  await using platform = await startTestPlatform();
  const fleet = await makeFleet(platform, "Acme");
  const owner = (await platform.login("owner@example.com", "owner-password-1")).accessToken;
  const users = await (await platform.call("GET", `/api/v1/fleets/${fleet.fleetId}/users`, {
    token: fleet.tokens.admin,
  })).json();
  const admin = users.users.find((u: { role: string }) => u.role === "admin");
  const path = `/api/v1/fleets/${fleet.fleetId}/users/${admin.id}`;

  for (const json of [{ role: "viewer" }, { disabled: true }]) {
    const response = await platform.call("PATCH", path, { token: owner, json });
    assert.equal(response.status, 409, JSON.stringify(json));
    assert.match((await response.json()).detail, /last enabled admin of its fleet/);
  }
  const removed = await platform.call("DELETE", path, { token: owner });
  assert.equal(removed.status, 409);
  await removed.body?.cancel();

  const second = await platform.call("POST", `/api/v1/fleets/${fleet.fleetId}/users`, {
    token: owner,
    json: { email: "second-admin@acme.test", role: "admin", password: "password-2nd" },
  });
  assert.equal(second.status, 201);
  await second.body?.cancel();
  const demoted = await platform.call("PATCH", path, { token: owner, json: { role: "viewer" } });
  assert.equal(demoted.status, 200);
  assert.equal((await demoted.json()).role, "viewer");
});
