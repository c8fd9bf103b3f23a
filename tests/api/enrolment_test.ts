/** Enrolment as an admin sees it: the exact agent command, and the vehicle's pending/enrolled state. */
import assert from "node:assert/strict";
import { enrolDevice } from "../support/device.ts";
import { makeFleet, startTestPlatform } from "../support/platform.ts";

Deno.test("registering a vehicle answers the agent command; its state goes pending, enrolled, none", async () => {
  await using p = await startTestPlatform();
  const fleet = await makeFleet(p, "Enrol");
  const registered = await p.call("POST", `/api/v1/fleets/${fleet.fleetId}/vehicles`, {
    token: fleet.tokens.admin,
    json: { name: "bus-17" },
  });
  assert.equal(registered.status, 201);
  const { vehicle, enrolment } = await registered.json();
  assert.equal(
    enrolment.command,
    `deno task vehicle enrol --server http://motorcade.test --code ${enrolment.code} --state /var/lib/motorcade`,
  );
  const state = async () => {
    const response = await p.call("GET", `/api/v1/fleets/${fleet.fleetId}/vehicles/${vehicle.id}`, {
      token: fleet.tokens.viewer,
    });
    assert.equal(response.status, 200);
    return (await response.json()).enrolment;
  };
  const pending = await state();
  assert.equal(pending.state, "pending");
  assert.equal(pending.pendingUntil, enrolment.credential.enrolmentExpiresAt);
  assert.equal(pending.enrolledAt, null);

  const device = await enrolDevice(p, enrolment.code);
  const enrolled = await state();
  assert.equal(enrolled.state, "enrolled");
  assert.equal(enrolled.pendingUntil, null);

  await p.registry.revokeCredential(fleet.fleetId, vehicle.id, device.credentialId);
  assert.equal((await state()).state, "none");

  const reissued = await p.call(
    "POST",
    `/api/v1/fleets/${fleet.fleetId}/vehicles/${vehicle.id}/credentials`,
    { token: fleet.tokens.admin },
  );
  assert.match((await reissued.json()).command, /^deno task vehicle enrol --server /);
  assert.equal((await state()).state, "pending");
});
