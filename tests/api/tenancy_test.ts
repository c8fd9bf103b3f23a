/**
 * Tenancy: a fleet's people see and change only their fleet, and what lies in another fleet looks
 * exactly like what does not exist (404, never 403). Roles within a fleet follow the route rules.
 */
import assert from "node:assert/strict";
import {
  type FleetFixture,
  makeFleet,
  OWNER,
  startTestPlatform,
  type TestPlatform,
} from "../support/platform.ts";

const ROLES = ["viewer", "operator", "admin"] as const;
/** Well-formed ids that name nothing. */
const GHOST = {
  fleet: "flt_00000000000000000000",
  user: "usr_00000000000000000000",
  vehicle: "veh_00000000000000000000",
  camera: "cam_00000000000000000000",
  credential: "crd_00000000000000000000",
};

interface Call {
  method: string;
  path: string;
  json?: unknown;
}

/** Everything in fleet `b` a client could ask for, with the ids of `b`'s own things. */
async function requestsInto(p: TestPlatform, b: FleetFixture): Promise<Call[]> {
  const userId = (await p.registry.listUsers(b.fleetId))[0].id;
  const credentialId = (await p.registry.listCredentials(b.fleetId, b.vehicleId))[0].id;
  const fleet = `/api/v1/fleets/${b.fleetId}`;
  const vehicle = `${fleet}/vehicles/${b.vehicleId}`;
  return [
    { method: "GET", path: fleet },
    { method: "PATCH", path: fleet, json: { name: "Taken" } },
    { method: "DELETE", path: fleet },
    { method: "GET", path: `${fleet}/users` },
    {
      method: "POST",
      path: `${fleet}/users`,
      json: { email: "spy@example.com", role: "admin", password: "password-spy" },
    },
    { method: "GET", path: `${fleet}/users/${userId}` },
    { method: "PATCH", path: `${fleet}/users/${userId}`, json: { disabled: true } },
    { method: "DELETE", path: `${fleet}/users/${userId}` },
    { method: "GET", path: `${fleet}/vehicles` },
    { method: "POST", path: `${fleet}/vehicles`, json: { name: "bus-99" } },
    { method: "GET", path: vehicle },
    { method: "PATCH", path: vehicle, json: { name: "bus-renamed" } },
    { method: "DELETE", path: vehicle },
    { method: "GET", path: `${vehicle}/cameras` },
    { method: "POST", path: `${vehicle}/cameras`, json: { name: "rear" } },
    { method: "DELETE", path: `${vehicle}/cameras/${b.cameraId}` },
    { method: "GET", path: `${vehicle}/credentials` },
    { method: "POST", path: `${vehicle}/credentials` },
    { method: "DELETE", path: `${vehicle}/credentials/${credentialId}` },
  ];
}

/** Asserts a 404 problem and returns its detail with the request-specific parts. */
async function assertNotFound(response: Response, label: string): Promise<string> {
  assert.equal(response.status, 404, `${label}: expected 404, got ${response.status}`);
  assert.equal(response.headers.get("content-type"), "application/problem+json", label);
  const problem = await response.json();
  assert.equal(problem.status, 404, label);
  assert.equal(problem.code, "not_found", label);
  assert.match(problem.detail, /^(Fleet|User|Vehicle|Camera|Credential) ".+" not found$/, label);
  return problem.detail;
}

async function assertStatus(response: Response, status: number, label: string) {
  const text = await response.text();
  assert.equal(
    response.status,
    status,
    `${label}: expected ${status}, got ${response.status} ${text}`,
  );
  if (status >= 400) {
    assert.equal(response.headers.get("content-type"), "application/problem+json", label);
    return JSON.parse(text);
  }
  return text ? JSON.parse(text) : undefined;
}

/** What fleet `b` holds, seen by the platform owner: must not change under foreign requests. */
async function snapshot(p: TestPlatform, b: FleetFixture) {
  return {
    fleet: await p.registry.fleet(b.fleetId),
    users: await p.registry.listUsers(b.fleetId),
    vehicles: await p.registry.listVehicles(b.fleetId),
    cameras: await p.registry.listCameras(b.fleetId, b.vehicleId),
    credentials: await p.registry.listCredentials(b.fleetId, b.vehicleId),
  };
}

Deno.test("users of one fleet get 404 for everything in another fleet, as if it did not exist", async () => {
  await using p = await startTestPlatform();
  const a = await makeFleet(p, "Alpha");
  const b = await makeFleet(p, "Bravo");
  const before = await snapshot(p, b);
  const requests = await requestsInto(p, b);
  for (const role of ROLES) {
    for (const { method, path, json } of requests) {
      const label = `${role} of Alpha: ${method} ${path}`;
      const foreign = await assertNotFound(
        await p.call(method, path, { token: a.tokens[role], json }),
        label,
      );
      // The same request for a fleet that does not exist answers the same words.
      const ghostPath = path.replace(b.fleetId, GHOST.fleet);
      const ghost = await assertNotFound(
        await p.call(method, ghostPath, { token: a.tokens[role], json }),
        `${label} (nonexistent fleet)`,
      );
      assert.equal(foreign.replace(b.fleetId, GHOST.fleet), ghost, label);
    }
  }
  assert.deepEqual(await snapshot(p, b), before);
});

Deno.test("fleet admins get 404 for another fleet's users, vehicles, cameras and credentials under their own fleet", async () => {
  await using p = await startTestPlatform();
  const a = await makeFleet(p, "Alpha");
  const b = await makeFleet(p, "Bravo");
  const before = await snapshot(p, b);
  const bUser = (await p.registry.listUsers(b.fleetId))[0].id;
  const bCredential = (await p.registry.listCredentials(b.fleetId, b.vehicleId))[0].id;
  const fleet = `/api/v1/fleets/${a.fleetId}`;
  const ownVehicle = `${fleet}/vehicles/${a.vehicleId}`;
  const cases: Array<Call & { ghost: [string, string] }> = [
    { method: "GET", path: `${fleet}/users/${bUser}`, ghost: [bUser, GHOST.user] },
    {
      method: "PATCH",
      path: `${fleet}/users/${bUser}`,
      json: { role: "viewer" },
      ghost: [bUser, GHOST.user],
    },
    { method: "DELETE", path: `${fleet}/users/${bUser}`, ghost: [bUser, GHOST.user] },
    {
      method: "GET",
      path: `${fleet}/vehicles/${b.vehicleId}`,
      ghost: [b.vehicleId, GHOST.vehicle],
    },
    {
      method: "PATCH",
      path: `${fleet}/vehicles/${b.vehicleId}`,
      json: { name: "stolen" },
      ghost: [b.vehicleId, GHOST.vehicle],
    },
    {
      method: "DELETE",
      path: `${fleet}/vehicles/${b.vehicleId}`,
      ghost: [b.vehicleId, GHOST.vehicle],
    },
    {
      method: "GET",
      path: `${fleet}/vehicles/${b.vehicleId}/cameras`,
      ghost: [b.vehicleId, GHOST.vehicle],
    },
    {
      method: "POST",
      path: `${fleet}/vehicles/${b.vehicleId}/cameras`,
      json: { name: "rear" },
      ghost: [b.vehicleId, GHOST.vehicle],
    },
    {
      method: "GET",
      path: `${fleet}/vehicles/${b.vehicleId}/credentials`,
      ghost: [b.vehicleId, GHOST.vehicle],
    },
    {
      method: "POST",
      path: `${fleet}/vehicles/${b.vehicleId}/credentials`,
      ghost: [b.vehicleId, GHOST.vehicle],
    },
    {
      method: "DELETE",
      path: `${ownVehicle}/cameras/${b.cameraId}`,
      ghost: [b.cameraId, GHOST.camera],
    },
    {
      method: "DELETE",
      path: `${ownVehicle}/credentials/${bCredential}`,
      ghost: [bCredential, GHOST.credential],
    },
  ];
  for (const { method, path, json, ghost: [real, fake] } of cases) {
    const label = `admin of Alpha: ${method} ${path}`;
    const foreign = await assertNotFound(
      await p.call(method, path, { token: a.tokens.admin, json }),
      label,
    );
    const missing = await assertNotFound(
      await p.call(method, path.replace(real, fake), { token: a.tokens.admin, json }),
      `${label} (nonexistent id)`,
    );
    assert.equal(foreign.replace(real, fake), missing, label);
  }
  assert.deepEqual(await snapshot(p, b), before);
});

Deno.test("fleet list shows a fleet's users only their own fleet", async () => {
  await using p = await startTestPlatform();
  const a = await makeFleet(p, "Alpha");
  await makeFleet(p, "Bravo");
  for (const role of ROLES) {
    const body = await assertStatus(
      await p.call("GET", "/api/v1/fleets", { token: a.tokens[role] }),
      200,
      role,
    );
    assert.deepEqual(body.fleets.map((f: { id: string }) => f.id), [a.fleetId], role);
  }
});

Deno.test("viewers can read their fleet but change nothing in it", async () => {
  await using p = await startTestPlatform();
  const a = await makeFleet(p, "Alpha");
  const token = a.tokens.viewer;
  const fleet = `/api/v1/fleets/${a.fleetId}`;
  const vehicle = `${fleet}/vehicles/${a.vehicleId}`;

  assert.equal(
    (await assertStatus(await p.call("GET", fleet, { token }), 200, "fleet")).id,
    a.fleetId,
  );
  const vehicles = await assertStatus(await p.call("GET", `${fleet}/vehicles`, { token }), 200, "");
  assert.deepEqual(vehicles.vehicles.map((v: { id: string }) => v.id), [a.vehicleId]);
  await assertStatus(await p.call("GET", vehicle, { token }), 200, "vehicle");
  await assertStatus(await p.call("GET", `${vehicle}/cameras`, { token }), 200, "cameras");

  const refused: Call[] = [
    { method: "POST", path: `${fleet}/vehicles`, json: { name: "bus-2" } },
    { method: "PATCH", path: vehicle, json: { name: "bus-9" } },
    { method: "DELETE", path: vehicle },
    { method: "POST", path: `${vehicle}/cameras`, json: { name: "rear" } },
    { method: "DELETE", path: `${vehicle}/cameras/${a.cameraId}` },
    { method: "GET", path: `${vehicle}/credentials` },
    { method: "POST", path: `${vehicle}/credentials` },
    { method: "GET", path: `${fleet}/users` },
    { method: "PATCH", path: fleet, json: { name: "Renamed" } },
    { method: "DELETE", path: fleet },
    { method: "POST", path: "/api/v1/fleets", json: { name: "Mine" } },
  ];
  for (const { method, path, json } of refused) {
    const problem = await assertStatus(
      await p.call(method, path, { token, json }),
      403,
      `viewer: ${method} ${path}`,
    );
    assert.equal(problem.code, "forbidden");
    assert.match(problem.detail, /Role "viewer" may not do this|Only platform owners/);
  }
  assert.deepEqual(
    (await p.registry.listVehicles(a.fleetId)).map((v) => v.name),
    ["bus-1"],
  );
  assert.equal((await p.registry.listCameras(a.fleetId, a.vehicleId)).length, 1);
});

Deno.test("operators manage vehicles and cameras but not the fleet, its people or credentials", async () => {
  await using p = await startTestPlatform();
  const a = await makeFleet(p, "Alpha");
  const token = a.tokens.operator;
  const fleet = `/api/v1/fleets/${a.fleetId}`;
  const vehicle = `${fleet}/vehicles/${a.vehicleId}`;

  const renamed = await assertStatus(
    await p.call("PATCH", vehicle, { token, json: { name: "bus-renamed" } }),
    200,
    "rename vehicle",
  );
  assert.equal(renamed.name, "bus-renamed");
  const camera = await assertStatus(
    await p.call("POST", `${vehicle}/cameras`, { token, json: { name: "cabin" } }),
    201,
    "add camera",
  );
  assert.equal(camera.vehicleId, a.vehicleId);
  await assertStatus(
    await p.call("DELETE", `${vehicle}/cameras/${camera.id}`, { token }),
    204,
    "remove camera",
  );

  const refused: Call[] = [
    { method: "POST", path: `${fleet}/vehicles`, json: { name: "bus-2" } },
    { method: "DELETE", path: vehicle },
    { method: "GET", path: `${vehicle}/credentials` },
    { method: "POST", path: `${vehicle}/credentials` },
    { method: "GET", path: `${fleet}/users` },
    {
      method: "POST",
      path: `${fleet}/users`,
      json: { email: "new@alpha.test", role: "admin", password: "password-new" },
    },
  ];
  for (const { method, path, json } of refused) {
    const problem = await assertStatus(
      await p.call(method, path, { token, json }),
      403,
      `operator: ${method} ${path}`,
    );
    assert.equal(
      problem.detail,
      'Role "operator" may not do this; it needs one of: admin',
      `${method} ${path}`,
    );
  }
  assert.deepEqual((await p.registry.listVehicles(a.fleetId)).map((v) => v.id), [a.vehicleId]);
});

Deno.test("admins manage their fleet's vehicles, people and credentials but not fleets", async () => {
  await using p = await startTestPlatform();
  const a = await makeFleet(p, "Alpha");
  const token = a.tokens.admin;
  const fleet = `/api/v1/fleets/${a.fleetId}`;

  const created = await assertStatus(
    await p.call("POST", `${fleet}/vehicles`, { token, json: { name: "bus-2" } }),
    201,
    "register vehicle",
  );
  assert.equal(created.vehicle.fleetId, a.fleetId);
  assert.match(created.enrolment.code, /^MCE-/);
  assert.equal(created.enrolment.credential.state, "awaiting-enrolment");
  const vehicle = `${fleet}/vehicles/${created.vehicle.id}`;
  const issued = await assertStatus(
    await p.call("POST", `${vehicle}/credentials`, { token }),
    201,
    "issue credential",
  );
  const credentials = await assertStatus(
    await p.call("GET", `${vehicle}/credentials`, { token }),
    200,
    "list credentials",
  );
  assert.equal(credentials.credentials.length, 2);
  const revoked = await assertStatus(
    await p.call("DELETE", `${vehicle}/credentials/${issued.credential.id}`, { token }),
    200,
    "revoke credential",
  );
  assert.equal(revoked.state, "revoked");
  await assertStatus(await p.call("DELETE", vehicle, { token }), 204, "delete vehicle");
  await assertStatus(await p.call("GET", vehicle, { token }), 404, "deleted vehicle");

  const user = await assertStatus(
    await p.call("POST", `${fleet}/users`, {
      token,
      json: { email: "new@alpha.test", role: "operator", password: "password-new" },
    }),
    201,
    "add user",
  );
  assert.equal(user.fleetId, a.fleetId);
  const users = await assertStatus(await p.call("GET", `${fleet}/users`, { token }), 200, "");
  assert.equal(users.users.length, 4);
  await assertStatus(
    await p.call("PATCH", `${fleet}/users/${user.id}`, { token, json: { role: "viewer" } }),
    200,
    "change role",
  );
  await assertStatus(
    await p.call("DELETE", `${fleet}/users/${user.id}`, { token }),
    204,
    "remove user",
  );
  const me = await assertStatus(await p.call("GET", "/api/v1/me", { token }), 200, "me");
  const self = await assertStatus(
    await p.call("DELETE", `${fleet}/users/${me.id}`, { token }),
    403,
    "remove self",
  );
  assert.equal(self.detail, "You cannot remove yourself");
  for (
    const [method, path, json] of [
      ["POST", "/api/v1/fleets", { name: "Another" }],
      // Fleet names are the owner's labels: renaming would tell an admin which names are taken.
      ["PATCH", fleet, { name: "Alpha Two" }],
      ["DELETE", fleet, undefined],
    ] as const
  ) {
    const problem = await assertStatus(
      await p.call(method, path, { token, json }),
      403,
      `admin: ${method} ${path}`,
    );
    assert.equal(problem.detail, "Only platform owners may do this");
  }
  await p.registry.fleet(a.fleetId);
});

Deno.test("the platform owner acts in every fleet", async () => {
  await using p = await startTestPlatform();
  const a = await makeFleet(p, "Alpha");
  const b = await makeFleet(p, "Bravo");
  const { accessToken: token } = await p.login(OWNER.email, OWNER.password);

  const fleets = await assertStatus(await p.call("GET", "/api/v1/fleets", { token }), 200, "");
  assert.deepEqual(
    fleets.fleets.map((f: { id: string }) => f.id).sort(),
    [a.fleetId, b.fleetId].sort(),
  );
  for (const fixture of [a, b]) {
    const fleet = `/api/v1/fleets/${fixture.fleetId}`;
    await assertStatus(await p.call("GET", fleet, { token }), 200, "fleet");
    const users = await assertStatus(await p.call("GET", `${fleet}/users`, { token }), 200, "");
    assert.equal(users.users.length, 3);
    await assertStatus(
      await p.call("POST", `${fleet}/vehicles`, { token, json: { name: "bus-2" } }),
      201,
      "register vehicle",
    );
    await assertStatus(
      await p.call("GET", `${fleet}/vehicles/${fixture.vehicleId}/credentials`, { token }),
      200,
      "credentials",
    );
  }
  await assertStatus(
    await p.call("PATCH", `/api/v1/fleets/${b.fleetId}`, { token, json: { name: "Bravo Two" } }),
    200,
    "rename fleet",
  );
  const busy = await assertStatus(
    await p.call("DELETE", `/api/v1/fleets/${b.fleetId}`, { token }),
    409,
    "delete busy fleet",
  );
  assert.equal(busy.code, "conflict");
  const empty = await assertStatus(
    await p.call("POST", "/api/v1/fleets", { token, json: { name: "Empty" } }),
    201,
    "create fleet",
  );
  await assertStatus(
    await p.call("DELETE", `/api/v1/fleets/${empty.id}`, { token }),
    204,
    "delete empty fleet",
  );
  await assertStatus(await p.call("GET", `/api/v1/fleets/${empty.id}`, { token }), 404, "gone");
  await assertStatus(
    await p.call("GET", `/api/v1/fleets/${GHOST.fleet}`, { token }),
    404,
    "nonexistent fleet",
  );
});
