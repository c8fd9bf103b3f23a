/**
 * Vehicles as API clients: enrolment with a one-time code and the vehicle's own key, device tokens
 * from signed assertions, and the wall between device tokens and user tokens.
 */
import assert from "node:assert/strict";
import { base64url, exportJWK, generateKeyPair, SignJWT } from "jose";
import { Hono } from "hono";
import { access, authorize } from "../../lib/auth/mod.ts";
import { handleError } from "../../lib/http/mod.ts";
import { silentLogger } from "../../lib/log/mod.ts";
import { makeFleet, OWNER, startTestPlatform, type TestPlatform } from "../support/platform.ts";

const TOKEN_ENDPOINT = "http://motorcade.test/api/v1/device/token";

/** A vehicle's side of enrolment: its key pair and, once enrolled, its credential id. */
interface Device {
  privateKey: CryptoKey;
  credentialId: string;
  vehicleId: string;
}

async function newKeyPair() {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  return { privateKey, publicJwk: await exportJWK(publicKey) };
}

async function readProblem(response: Response, status: number, label = "") {
  const text = await response.text();
  assert.equal(
    response.status,
    status,
    `${label}: expected ${status}, got ${response.status} ${text}`,
  );
  assert.equal(response.headers.get("content-type"), "application/problem+json", label);
  const problem = JSON.parse(text);
  assert.equal(problem.status, status, label);
  return problem as { code: string; detail: string };
}

async function readJson(response: Response, status: number, label = "") {
  const text = await response.text();
  assert.equal(
    response.status,
    status,
    `${label}: expected ${status}, got ${response.status} ${text}`,
  );
  return JSON.parse(text);
}

/** Enrols a vehicle with `code` and a fresh key pair. */
async function enrol(p: TestPlatform, code: string): Promise<Device> {
  const { privateKey, publicJwk } = await newKeyPair();
  const body = await readJson(
    await p.call("POST", "/api/v1/device/enrol", { json: { code, publicKey: publicJwk } }),
    201,
    "enrol",
  );
  assert.match(body.credentialId, /^crd_/);
  assert.equal(body.tokenEndpoint, "/api/v1/device/token");
  assert.equal(body.assertionAudience, TOKEN_ENDPOINT);
  return { privateKey, credentialId: body.credentialId, vehicleId: body.vehicleId };
}

/** A token-request assertion as a vehicle signs it; `options` bend it for negative tests. */
function assertion(
  device: Device,
  options: { jti?: string; expiresInS?: number; audience?: string; key?: CryptoKey } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: "ES256" })
    .setIssuer(device.credentialId)
    .setSubject(device.credentialId)
    .setAudience(options.audience ?? TOKEN_ENDPOINT)
    .setJti(options.jti ?? crypto.randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresInS ?? 60))
    .sign(options.key ?? device.privateKey);
}

const encode = (value: unknown) => base64url.encode(JSON.stringify(value));

function exchange(p: TestPlatform, signed: string): Promise<Response> {
  return p.call("POST", "/api/v1/device/token", { json: { assertion: signed } });
}

/** Exchanges a fresh assertion for a device token. */
async function deviceToken(p: TestPlatform, device: Device): Promise<string> {
  const body = await readJson(await exchange(p, await assertion(device)), 200, "device token");
  assert.equal(body.tokenType, "Bearer");
  assert.equal(body.vehicleId, device.vehicleId);
  return body.accessToken;
}

Deno.test("a vehicle enrols, exchanges a signed assertion for a token and reads itself", async () => {
  await using p = await startTestPlatform();
  const fleet = await makeFleet(p, "Alpha");
  const device = await enrol(p, fleet.enrolmentCode);
  assert.equal(device.vehicleId, fleet.vehicleId);

  const response = await exchange(p, await assertion(device));
  const issued = await readJson(response, 200, "token");
  assert.equal(issued.tokenType, "Bearer");
  assert.equal(issued.fleetId, fleet.fleetId);
  assert.ok(issued.expiresIn > 0 && issued.expiresIn <= 600, `expiresIn ${issued.expiresIn}`);

  const own = await readJson(
    await p.call("GET", "/api/v1/device/vehicle", { token: issued.accessToken }),
    200,
    "device vehicle",
  );
  assert.equal(own.vehicle.id, fleet.vehicleId);
  assert.equal(own.vehicle.fleetId, fleet.fleetId);
  assert.deepEqual(own.cameras.map((c: { id: string }) => c.id), [fleet.cameraId]);

  const credentials = await readJson(
    await p.call(
      "GET",
      `/api/v1/fleets/${fleet.fleetId}/vehicles/${fleet.vehicleId}/credentials`,
      { token: fleet.tokens.admin },
    ),
    200,
  );
  assert.deepEqual(
    credentials.credentials.map((c: { id: string; state: string }) => [c.id, c.state]),
    [[device.credentialId, "active"]],
  );
});

Deno.test("device tokens are refused on user routes and user tokens on device routes", async () => {
  await using p = await startTestPlatform();
  const fleet = await makeFleet(p, "Alpha");
  const other = await makeFleet(p, "Bravo");
  const token = await deviceToken(p, await enrol(p, fleet.enrolmentCode));
  const own = `/api/v1/fleets/${fleet.fleetId}`;
  const userRoutes: Array<[string, string, unknown?]> = [
    ["GET", "/api/v1/me"],
    ["GET", "/api/v1/fleets"],
    ["POST", "/api/v1/fleets", { name: "Rogue" }],
    ["GET", own],
    ["GET", `${own}/vehicles`],
    ["GET", `${own}/vehicles/${fleet.vehicleId}`],
    ["PATCH", `${own}/vehicles/${fleet.vehicleId}`, { name: "bus-rogue" }],
    ["GET", `${own}/vehicles/${fleet.vehicleId}/cameras`],
    ["POST", `${own}/vehicles/${fleet.vehicleId}/cameras`, { name: "rogue" }],
    ["GET", `${own}/vehicles/${fleet.vehicleId}/credentials`],
    ["POST", `${own}/vehicles/${fleet.vehicleId}/credentials`],
    ["GET", `${own}/users`],
    ["GET", `/api/v1/fleets/${other.fleetId}/vehicles/${other.vehicleId}`],
    ["POST", "/api/v1/auth/logout"],
  ];
  for (const [method, path, json] of userRoutes) {
    const problem = await readProblem(
      await p.call(method, path, { token, json }),
      403,
      `device: ${method} ${path}`,
    );
    assert.equal(problem.code, "forbidden");
    assert.equal(problem.detail, "This endpoint is for users: a device token cannot call it");
  }
  const owner = (await p.login(OWNER.email, OWNER.password)).accessToken;
  for (const [who, userToken] of Object.entries({ ...fleet.tokens, owner })) {
    const problem = await readProblem(
      await p.call("GET", "/api/v1/device/vehicle", { token: userToken }),
      403,
      who,
    );
    assert.equal(problem.detail, "This endpoint is for vehicles: a user token cannot call it");
  }
  const unsigned = await readProblem(await p.call("GET", "/api/v1/device/vehicle"), 401);
  assert.equal(unsigned.detail, "Authentication required: send a Bearer token");
  assert.deepEqual(
    (await p.registry.listVehicles(fleet.fleetId)).map((v) => v.name),
    ["bus-1"],
    "nothing changed",
  );
});

Deno.test("a device token speaks only for its own vehicle", async () => {
  await using p = await startTestPlatform();
  const fleet = await makeFleet(p, "Alpha");
  const registered = await readJson(
    await p.call("POST", `/api/v1/fleets/${fleet.fleetId}/vehicles`, {
      token: fleet.tokens.admin,
      json: { name: "bus-2" },
    }),
    201,
  );
  const first = await enrol(p, fleet.enrolmentCode);
  const second = await enrol(p, registered.enrolment.code);
  assert.equal(second.vehicleId, registered.vehicle.id);
  const firstToken = await deviceToken(p, first);
  const secondToken = await deviceToken(p, second);
  for (
    const [token, vehicleId] of [[firstToken, first.vehicleId], [secondToken, second.vehicleId]]
  ) {
    const body = await readJson(await p.call("GET", "/api/v1/device/vehicle", { token }), 200);
    assert.equal(body.vehicle.id, vehicleId);
  }

  // A rule bound to a vehicle path parameter: the real authorize middleware and real tokens.
  const app = new Hono();
  app.get(
    "/vehicles/:vehicleId/ping",
    authorize(p.identity, access.device("vehicleId")),
    (c) => c.json({ vehicleId: c.req.param("vehicleId") }),
  );
  app.onError(handleError(silentLogger));
  const ping = (token: string, vehicleId: string) =>
    Promise.resolve(
      app.request(`/vehicles/${vehicleId}/ping`, { headers: { authorization: `Bearer ${token}` } }),
    );
  assert.deepEqual(
    await readJson(await ping(firstToken, first.vehicleId), 200),
    { vehicleId: first.vehicleId },
  );
  const problem = await readProblem(await ping(firstToken, second.vehicleId), 403, "other vehicle");
  assert.equal(
    problem.detail,
    `Device token of vehicle "${first.vehicleId}" cannot act for vehicle "${second.vehicleId}"`,
  );
  await readProblem(await ping(fleet.tokens.admin, first.vehicleId), 403, "user token");
});

Deno.test("an enrolment code works once, and an unknown code is refused", async () => {
  await using p = await startTestPlatform();
  const fleet = await makeFleet(p, "Alpha");
  await enrol(p, fleet.enrolmentCode);
  const { publicJwk } = await newKeyPair();
  const reuse = await readProblem(
    await p.call("POST", "/api/v1/device/enrol", {
      json: { code: fleet.enrolmentCode, publicKey: publicJwk },
    }),
    409,
    "reuse",
  );
  assert.equal(reuse.code, "conflict");
  assert.equal(reuse.detail, "Enrolment code is unknown, expired, revoked or already used");
  const wrong = await readProblem(
    await p.call("POST", "/api/v1/device/enrol", {
      json: { code: "MCE-AAAAA-BBBBB-CCCCC-DDDDD", publicKey: publicJwk },
    }),
    409,
    "wrong code",
  );
  assert.equal(wrong.detail, reuse.detail);
  assert.equal((await p.registry.listCredentials(fleet.fleetId, fleet.vehicleId)).length, 1);
});

Deno.test("enrolment refuses keys that are not P-256 public keys", async () => {
  await using p = await startTestPlatform();
  const fleet = await makeFleet(p, "Alpha");
  const { privateKey, publicJwk } = await newKeyPair();
  const privateJwk = await exportJWK(privateKey);
  const offCurve = base64url.decode(publicJwk.y!);
  offCurve[31] ^= 1;
  const bad: Array<[string, unknown]> = [
    ["private part", privateJwk],
    ["other curve", { ...publicJwk, crv: "P-384" }],
    ["short coordinates", { ...publicJwk, x: "AAAA", y: "AAAA" }],
    ["off the curve", { ...publicJwk, y: base64url.encode(offCurve) }],
    ["origin", { ...publicJwk, x: "A".repeat(43), y: "A".repeat(43) }],
    ["RSA", { kty: "RSA", n: "AQAB", e: "AQAB" }],
  ];
  for (const [label, publicKey] of bad) {
    const problem = await readProblem(
      await p.call("POST", "/api/v1/device/enrol", {
        json: { code: fleet.enrolmentCode, publicKey },
      }),
      400,
      label,
    );
    assert.equal(problem.code, "invalid_request", label);
  }
  // None of them used up the code.
  await enrol(p, fleet.enrolmentCode);
});

Deno.test("the token endpoint refuses replayed, long-lived, misaddressed and foreign-signed assertions", async () => {
  await using p = await startTestPlatform();
  const fleet = await makeFleet(p, "Alpha");
  const device = await enrol(p, fleet.enrolmentCode);

  const once = await assertion(device, { jti: "jti-1" });
  await readJson(await exchange(p, once), 200, "first use");
  const replay = await readProblem(await exchange(p, once), 401, "replay");
  assert.equal(replay.code, "unauthorized");
  assert.equal(replay.detail, "Assertion rejected: it was already used");
  const sameJti = await readProblem(
    await exchange(p, await assertion(device, { jti: "jti-1" })),
    401,
    "new assertion, same jti",
  );
  assert.equal(sameJti.detail, "Assertion rejected: it was already used");

  const longLived = await readProblem(
    await exchange(p, await assertion(device, { expiresInS: 3600 })),
    401,
    "exp an hour ahead",
  );
  assert.equal(longLived.detail, "Assertion rejected: exp must be at most 300 s ahead");
  const expired = await readProblem(
    await exchange(p, await assertion(device, { expiresInS: -10 })),
    401,
    "expired",
  );
  assert.equal(expired.detail, "Assertion rejected: Token has expired");
  const misaddressed = await readProblem(
    await exchange(p, await assertion(device, { audience: "http://elsewhere.test/token" })),
    401,
    "audience",
  );
  assert.match(misaddressed.detail, /^Assertion rejected: Token claim "aud" is not valid/);
  const { privateKey: stranger } = await newKeyPair();
  const foreign = await readProblem(
    await exchange(p, await assertion(device, { key: stranger })),
    401,
    "other key",
  );
  assert.equal(foreign.detail, "Assertion rejected: Token signature is not valid");
  const unknown = await readProblem(
    await exchange(p, await assertion({ ...device, credentialId: "crd_00000000000000000000" })),
    401,
    "unknown credential",
  );
  assert.equal(unknown.detail, "Assertion rejected: credential is unknown or revoked");
  const unsigned = await readProblem(
    await exchange(p, `${encode({ alg: "none" })}.${encode({ iss: device.credentialId })}.`),
    401,
    "alg none",
  );
  assert.equal(unsigned.detail, "Assertion rejected: Assertion must be signed with ES256");
  await readProblem(await exchange(p, "not-a-jwt"), 401, "garbage");

  // After all that the vehicle still gets a token with a proper assertion.
  await deviceToken(p, device);
});

Deno.test("revoking a credential stops its device token and its assertions at once", async () => {
  await using p = await startTestPlatform();
  const fleet = await makeFleet(p, "Alpha");
  const device = await enrol(p, fleet.enrolmentCode);
  const token = await deviceToken(p, device);
  await readJson(await p.call("GET", "/api/v1/device/vehicle", { token }), 200, "before");

  const path =
    `/api/v1/fleets/${fleet.fleetId}/vehicles/${fleet.vehicleId}/credentials/${device.credentialId}`;
  const revoked = await readJson(
    await p.call("DELETE", path, { token: fleet.tokens.admin }),
    200,
    "revoke",
  );
  assert.equal(revoked.state, "revoked");
  const refused = await readProblem(
    await p.call("GET", "/api/v1/device/vehicle", { token }),
    401,
    "token after revocation",
  );
  assert.equal(refused.detail, "Device credential has been revoked");
  const again = await readProblem(await exchange(p, await assertion(device)), 401, "assertion");
  assert.equal(again.detail, "Assertion rejected: credential is unknown or revoked");

  // A new credential for the same vehicle works, with a new key.
  const issued = await readJson(
    await p.call(
      "POST",
      `/api/v1/fleets/${fleet.fleetId}/vehicles/${fleet.vehicleId}/credentials`,
      { token: fleet.tokens.admin },
    ),
    201,
    "new credential",
  );
  const replacement = await enrol(p, issued.code);
  assert.notEqual(replacement.credentialId, device.credentialId);
  const fresh = await deviceToken(p, replacement);
  await readJson(await p.call("GET", "/api/v1/device/vehicle", { token: fresh }), 200, "new");
  await readProblem(await p.call("GET", "/api/v1/device/vehicle", { token }), 401, "old");
});

Deno.test("deleting a vehicle stops its device token and its assertions", async () => {
  await using p = await startTestPlatform();
  const fleet = await makeFleet(p, "Alpha");
  const device = await enrol(p, fleet.enrolmentCode);
  const token = await deviceToken(p, device);
  const deleted = await p.call(
    "DELETE",
    `/api/v1/fleets/${fleet.fleetId}/vehicles/${fleet.vehicleId}`,
    { token: fleet.tokens.admin },
  );
  assert.equal(deleted.status, 204);
  const refused = await readProblem(
    await p.call("GET", "/api/v1/device/vehicle", { token }),
    401,
    "token of a deleted vehicle",
  );
  assert.equal(refused.code, "unauthorized");
  const again = await readProblem(await exchange(p, await assertion(device)), 401, "assertion");
  assert.equal(again.detail, "Assertion rejected: credential is unknown or revoked");
});
