/**
 * What a fleet admin cannot learn about other fleets through names that must be unique on the
 * platform (emails, fleet names), and changes that change nothing.
 */
import assert from "node:assert/strict";
import { makeFleet, OWNER, startTestPlatform } from "../support/platform.ts";

/** The answer's status and JSON body. */
async function answer(response: Response) {
  return { status: response.status, body: await response.json() };
}

Deno.test("a fleet admin adding a user cannot tell an email of another fleet from a free one", async () => {
  await using p = await startTestPlatform();
  const a = await makeFleet(p, "Alpha");
  const b = await makeFleet(p, "Bravo");
  const bUsers = await p.registry.listUsers(b.fleetId);
  const users = `/api/v1/fleets/${a.fleetId}/users`;
  const add = (email: string, token = a.tokens.admin) =>
    p.call("POST", users, { token, json: { email, role: "viewer", password: "password-new" } });

  const free = await answer(await add("free@alpha.test"));
  assert.equal(free.status, 201, JSON.stringify(free.body));
  for (const taken of ["viewer@bravo.test", OWNER.email]) {
    const elsewhere = await answer(await add(taken));
    assert.equal(elsewhere.status, 201, `${taken}: ${JSON.stringify(elsewhere.body)}`);
    assert.deepEqual(Object.keys(elsewhere.body).sort(), Object.keys(free.body).sort(), taken);
    assert.equal(elsewhere.body.email, taken);
    assert.equal(elsewhere.body.fleetId, a.fleetId);
    assert.match(elsewhere.body.id, /^usr_/);
  }
  // The other fleet's person is untouched and still signs in with their own password.
  assert.deepEqual(await p.registry.listUsers(b.fleetId), bUsers);
  await p.login("viewer@bravo.test", "password-viewer");
  await p.login(OWNER.email, OWNER.password);

  const own = await answer(await add("operator@alpha.test"));
  assert.equal(own.status, 409);
  assert.equal(
    own.body.detail,
    'A user with email "operator@alpha.test" already exists in this fleet',
  );
  // The platform owner sees every fleet, so is told plainly.
  const { accessToken: owner } = await p.login(OWNER.email, OWNER.password);
  const asOwner = await answer(await add("viewer@bravo.test", owner));
  assert.equal(asOwner.status, 409);
  assert.equal(asOwner.body.detail, 'A user with email "viewer@bravo.test" already exists');
});

Deno.test("only the platform owner names fleets, so no fleet admin learns which names are taken", async () => {
  await using p = await startTestPlatform();
  const a = await makeFleet(p, "Alpha");
  await makeFleet(p, "Bravo");
  const fleet = `/api/v1/fleets/${a.fleetId}`;
  const admin = await answer(
    await p.call("PATCH", fleet, { token: a.tokens.admin, json: { name: "Bravo" } }),
  );
  assert.equal(admin.status, 403, JSON.stringify(admin.body));
  assert.equal(admin.body.detail, "Only platform owners may do this");

  const { accessToken: owner } = await p.login(OWNER.email, OWNER.password);
  const taken = await answer(
    await p.call("PATCH", fleet, { token: owner, json: { name: "Bravo" } }),
  );
  assert.equal(taken.status, 409);
  assert.equal(taken.body.detail, 'A fleet named "Bravo" already exists');
  const renamed = await answer(
    await p.call("PATCH", fleet, { token: owner, json: { name: "Alpha Two" } }),
  );
  assert.equal(renamed.status, 200);
  assert.equal(renamed.body.name, "Alpha Two");
});

Deno.test("changing a user with an empty body is a 400 saying nothing was given, and signs nobody out", async () => {
  await using p = await startTestPlatform();
  const a = await makeFleet(p, "Alpha");
  const viewer = (await p.registry.listUsers(a.fleetId)).find((u) => u.role === "viewer")!;
  const path = `/api/v1/fleets/${a.fleetId}/users/${viewer.id}`;
  const empty = await answer(await p.call("PATCH", path, { token: a.tokens.admin, json: {} }));
  assert.equal(empty.status, 400, JSON.stringify(empty.body));
  assert.equal(empty.body.code, "invalid_request");
  assert.equal(
    empty.body.detail,
    `Cannot change user "${viewer.id}": nothing to change, give role, password or disabled`,
  );
  const me = await p.call("GET", "/api/v1/me", { token: a.tokens.viewer });
  await me.body?.cancel();
  assert.equal(me.status, 200, "the viewer is still signed in");
  assert.deepEqual(await p.registry.user(a.fleetId, viewer.id), viewer, "nothing changed");

  // A real change still signs the user out.
  const changed = await p.call("PATCH", path, {
    token: a.tokens.admin,
    json: { role: "operator" },
  });
  await changed.body?.cancel();
  assert.equal(changed.status, 200);
  const after = await p.call("GET", "/api/v1/me", { token: a.tokens.viewer });
  await after.body?.cancel();
  assert.equal(after.status, 401);
});
