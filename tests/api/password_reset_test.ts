/**
 * One-time password resets: an admin issues a code for a user of their fleet, the user sets a new
 * password with it once (the policy applies), and every session of the user ends.
 */
import assert from "node:assert/strict";
import { makeFleet, OWNER, startTestPlatform, type TestPlatform } from "../support/platform.ts";

const NEW_PASSWORD = "amber-tram-depot-7";

/** Issues a reset code for `userId` of `fleetId` as `token`'s user. */
async function issue(p: TestPlatform, fleetId: string, userId: string, token: string) {
  const response = await p.call(
    "POST",
    `/api/v1/fleets/${fleetId}/users/${userId}/password-reset`,
    {
      token,
    },
  );
  const body = await response.json();
  return { status: response.status, body };
}

/** Sets a password with a reset code; returns the status and problem (if any). */
async function reset(p: TestPlatform, code: string, password: string) {
  const response = await p.call("POST", "/api/v1/auth/password-reset", {
    json: { code, password },
  });
  const text = await response.text();
  return { status: response.status, problem: text ? JSON.parse(text) : undefined };
}

async function viewerOf(p: TestPlatform, fleetId: string) {
  const users = await p.registry.listUsers(fleetId);
  return users.find((u) => u.role === "viewer")!;
}

Deno.test("a reset code sets a new password once, within the policy, and ends the user's sessions", async () => {
  await using p = await startTestPlatform();
  const fleet = await makeFleet(p, "Reset");
  const viewer = await viewerOf(p, fleet.fleetId);
  const session = await p.login(viewer.email, "password-viewer");

  const issued = await issue(p, fleet.fleetId, viewer.id, fleet.tokens.admin);
  assert.equal(issued.status, 201, JSON.stringify(issued.body));
  assert.match(issued.body.code, /^mpr_[A-Za-z0-9_-]{43}$/);
  assert.equal(issued.body.userId, viewer.id);
  const lifetime = Date.parse(issued.body.expiresAt) - Date.now();
  assert.ok(lifetime > 23 * 3_600_000 && lifetime <= 24 * 3_600_000, String(lifetime));
  // Only the hash is kept: the catalog finds the code by its SHA-256, not by the code itself.
  const { code } = issued.body;
  assert.equal(await p.catalog.passwordResets.redeem(code, new Date()), undefined);

  const weak = await reset(p, code, "1234567890");
  assert.equal(weak.status, 400);
  assert.match(weak.problem.detail, /json\.password: is one of the most common passwords/);

  assert.equal(
    (await reset(p, code, NEW_PASSWORD)).status,
    204,
    "a refused password kept the code",
  );
  const refreshed = await p.call("POST", "/api/v1/auth/refresh", {
    json: { refreshToken: session.refreshToken },
  });
  assert.equal(refreshed.status, 401, "the session before the reset ended");
  await refreshed.body?.cancel();
  await assert.rejects(p.login(viewer.email, "password-viewer"));
  await p.login(viewer.email, NEW_PASSWORD);

  const again = await reset(p, code, "another-fine-passphrase");
  assert.equal(again.status, 400);
  assert.equal(again.problem.issues[0].path, "json.code");
  assert.match(again.problem.detail, /code is unknown, used, expired or replaced/);
});

Deno.test("issuing another reset code revokes the first; an expired code is refused", async () => {
  await using p = await startTestPlatform({ PASSWORD_RESET_TTL: "1s" });
  const fleet = await makeFleet(p, "Twice");
  const viewer = await viewerOf(p, fleet.fleetId);
  const first = (await issue(p, fleet.fleetId, viewer.id, fleet.tokens.admin)).body.code;
  const second = (await issue(p, fleet.fleetId, viewer.id, fleet.tokens.admin)).body.code;
  assert.equal((await reset(p, first, NEW_PASSWORD)).status, 400, "replaced");
  // The second lived 1 s; waiting longer only makes it older, whatever the machine's speed.
  await new Promise((resolve) => setTimeout(resolve, 1_200));
  const expired = await reset(p, second, NEW_PASSWORD);
  assert.equal(expired.status, 400);
  assert.equal(expired.problem.issues[0].path, "json.code");
});

Deno.test("only an admin of the user's fleet (or an owner) can issue a reset code", async () => {
  await using p = await startTestPlatform();
  const alpha = await makeFleet(p, "Alpha");
  const beta = await makeFleet(p, "Beta");
  const viewer = await viewerOf(p, alpha.fleetId);
  assert.equal((await issue(p, alpha.fleetId, viewer.id, alpha.tokens.operator)).status, 403);
  assert.equal((await issue(p, alpha.fleetId, viewer.id, beta.tokens.admin)).status, 404);
  assert.equal((await issue(p, beta.fleetId, viewer.id, beta.tokens.admin)).status, 404);
  const owner = (await p.login(OWNER.email, OWNER.password)).accessToken;
  assert.equal((await issue(p, alpha.fleetId, viewer.id, owner)).status, 201);
  const malformed = await reset(p, "guess", NEW_PASSWORD);
  assert.equal(malformed.status, 400);
  assert.equal(malformed.problem.issues[0].path, "json.code");
});
