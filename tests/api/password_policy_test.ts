/** The password policy: a length floor and no common password, for new users and changes. */
import assert from "node:assert/strict";
import { commonPasswordCount, isCommonPassword } from "../../lib/fleet/mod.ts";
import { makeFleet, startTestPlatform } from "../support/platform.ts";

Deno.test("the common-password list is zxcvbn's, bundled and compared case-insensitively", () => {
  assert.ok(commonPasswordCount() > 40_000, `${commonPasswordCount()} passwords`);
  assert.equal(isCommonPassword("12345678"), true);
  assert.equal(isCommonPassword("QwertyUiop"), true);
  assert.equal(isCommonPassword("amber-tram-depot-7"), false);
});

Deno.test("creating a user refuses a short or common password with a 400 naming the rule", async () => {
  await using p = await startTestPlatform();
  const fleet = await makeFleet(p, "Policy");
  const path = `/api/v1/fleets/${fleet.fleetId}/users`;
  const attempt = (password: string) =>
    p.call("POST", path, {
      token: fleet.tokens.admin,
      json: { email: "new@policy.test", role: "viewer", password },
    });
  for (
    const [password, rule] of [
      ["12345678", /json\.password: must be at least 10 characters/],
      ["1234567890", /json\.password: is one of the most common passwords/],
      ["Password123", /json\.password: is one of the most common passwords/],
    ] as const
  ) {
    const response = await attempt(password);
    assert.equal(response.status, 400, password);
    assert.match((await response.json()).detail, rule, password);
  }
  const accepted = await attempt("amber-tram-depot-7");
  assert.equal(accepted.status, 201);
  await accepted.body?.cancel();
});

Deno.test("changing a password and the registry (CLI) apply the same policy", async () => {
  await using p = await startTestPlatform();
  const fleet = await makeFleet(p, "Change");
  const viewer = (await p.registry.listUsers(fleet.fleetId)).find((u) => u.role === "viewer")!;
  const response = await p.call("PATCH", `/api/v1/fleets/${fleet.fleetId}/users/${viewer.id}`, {
    token: fleet.tokens.admin,
    json: { password: "qwertyuiop" },
  });
  assert.equal(response.status, 400);
  assert.match((await response.json()).detail, /common passwords/);
  await assert.rejects(
    () =>
      p.registry.createUser({
        fleetId: fleet.fleetId,
        email: "cli@change.test",
        role: "viewer",
        password: "12345678",
      }),
    /Field "password": must be at least 10 characters/,
  );
});
