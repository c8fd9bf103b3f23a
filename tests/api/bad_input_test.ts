/**
 * Bad input: every malformed, mistyped, oversized or misaddressed request is a 4xx problem+json
 * that says what is wrong, never a 500 or a stack trace, and the server keeps serving after it.
 */
import assert from "node:assert/strict";
import {
  type FleetFixture,
  makeFleet,
  OWNER,
  startTestPlatform,
  type TestPlatform,
} from "../support/platform.ts";

interface BadRequest {
  label: string;
  method: string;
  path: string;
  token?: string;
  json?: unknown;
  body?: BodyInit;
  headers?: Record<string, string>;
  status: number;
  code: string;
  detail: RegExp | string;
}

/** Asserts `response` is a well-formed problem document of `status` without internals. */
async function assertProblem(response: Response, bad: Omit<BadRequest, "method" | "token">) {
  const text = await response.text();
  const label = bad.label;
  assert.equal(response.status, bad.status, `${label}: expected ${bad.status}, got ${text}`);
  assert.equal(response.headers.get("content-type"), "application/problem+json", label);
  const problem = JSON.parse(text);
  assert.equal(problem.status, bad.status, label);
  assert.equal(problem.code, bad.code, label);
  assert.equal(problem.type, `urn:motorcade:problem:${bad.code}`, label);
  assert.equal(typeof problem.title, "string", label);
  assert.equal(problem.instance, new URL(bad.path, "http://motorcade.test").pathname, label);
  assert.equal(typeof problem.requestId, "string", label);
  assert.equal(response.headers.get("x-request-id"), problem.requestId, label);
  if (typeof bad.detail === "string") assert.equal(problem.detail, bad.detail, label);
  else assert.match(problem.detail, bad.detail, label);
  assert.equal(problem.stack, undefined, label);
  assert.doesNotMatch(text, /\bat .+\.(ts|js|mjs):\d+|file:\/\/|node_modules/, label);
  return problem;
}

/** A good read and a good write: the server still works. */
async function assertStillServes(p: TestPlatform, fleet: FleetFixture, label: string) {
  const health = await p.call("GET", "/healthz");
  assert.equal(health.status, 200, `${label}: healthz`);
  await health.body?.cancel();
  const read = await p.call("GET", `/api/v1/fleets/${fleet.fleetId}/vehicles`, {
    token: fleet.tokens.viewer,
  });
  assert.equal(read.status, 200, `${label}: good read`);
  assert.ok((await read.json()).vehicles.length >= 1, label);
  const write = await p.call(
    "PATCH",
    `/api/v1/fleets/${fleet.fleetId}/vehicles/${fleet.vehicleId}`,
    {
      token: fleet.tokens.operator,
      json: { name: "bus-1" },
    },
  );
  assert.equal(write.status, 200, `${label}: good write`);
  await write.body?.cancel();
}

async function check(p: TestPlatform, fleet: FleetFixture, cases: BadRequest[]) {
  for (const bad of cases) {
    const response = await p.call(bad.method, bad.path, {
      token: bad.token,
      json: bad.json,
      body: bad.body,
      headers: bad.headers,
    });
    await assertProblem(response, bad);
    await assertStillServes(p, fleet, bad.label);
  }
}

const JSON_TYPE = { "content-type": "application/json" };

Deno.test("malformed, mistyped and unknown JSON fields are 400 problems naming the field", async () => {
  await using p = await startTestPlatform();
  const fleet = await makeFleet(p, "Alpha");
  const token = fleet.tokens.admin;
  const vehicles = `/api/v1/fleets/${fleet.fleetId}/vehicles`;
  const base = { method: "POST", path: vehicles, token, status: 400, code: "invalid_request" };
  const cases: BadRequest[] = [
    {
      ...base,
      label: "malformed JSON",
      body: "{nope",
      headers: JSON_TYPE,
      detail: "Malformed JSON in request body",
    },
    {
      ...base,
      label: "truncated JSON",
      body: '{"name": "bus-2"',
      headers: JSON_TYPE,
      detail: "Malformed JSON in request body",
    },
    {
      ...base,
      label: "wrong type",
      json: { name: 42 },
      detail: /^Request json is invalid: json\.name: .*expected string, received number/,
    },
    { ...base, label: "array body", json: ["bus-2"], detail: /^Request json is invalid: json: / },
    { ...base, label: "null body", json: null, detail: /^Request json is invalid: json: / },
    { ...base, label: "string body", json: "bus-2", detail: /^Request json is invalid: json: / },
    {
      ...base,
      label: "unknown field",
      json: { name: "bus-2", colour: "red" },
      detail: 'Request json is invalid: json: Unrecognized key: "colour"',
    },
    {
      ...base,
      label: "prototype pollution attempt",
      body: '{"name":"bus-2","__proto__":{"admin":true}}',
      headers: JSON_TYPE,
      detail: /Unrecognized key: "__proto__"/,
    },
    {
      ...base,
      label: "missing body",
      detail: /^Request json is invalid: json\.name: /,
    },
    {
      ...base,
      label: "empty body declared as JSON",
      body: "",
      headers: JSON_TYPE,
      detail: "Malformed JSON in request body",
    },
    {
      ...base,
      label: "invalid name",
      json: { name: "../../etc/passwd" },
      detail: /^Request json is invalid: json\.name: must be 1-64 letters/,
    },
    {
      ...base,
      label: "control character in name",
      json: { name: "bus\u0000" },
      detail: /^Request json is invalid: json\.name: /,
    },
    {
      ...base,
      label: "role that does not exist",
      method: "POST",
      path: `/api/v1/fleets/${fleet.fleetId}/users`,
      json: { email: "x@alpha.test", role: "owner", password: "password-x" },
      detail: /^Request json is invalid: json\.role: /,
    },
    {
      ...base,
      label: "short password",
      method: "POST",
      path: `/api/v1/fleets/${fleet.fleetId}/users`,
      json: { email: "x@alpha.test", role: "viewer", password: "short" },
      detail: /json\.password: must be at least 10 characters/,
    },
    {
      ...base,
      label: "not an email",
      method: "POST",
      path: `/api/v1/fleets/${fleet.fleetId}/users`,
      json: { email: "not-an-email", role: "viewer", password: "password-x" },
      detail: /json\.email: must be an email address/,
    },
    {
      ...base,
      label: "login with a number for an email",
      path: "/api/v1/auth/login",
      token: undefined,
      json: { email: 1, password: "x" },
      detail: /json\.email: /,
    },
    {
      ...base,
      label: "login with an extra field",
      path: "/api/v1/auth/login",
      token: undefined,
      json: { ...OWNER, remember: true },
      detail: 'Request json is invalid: json: Unrecognized key: "remember"',
    },
    {
      ...base,
      label: "refresh with an empty token",
      path: "/api/v1/auth/refresh",
      token: undefined,
      json: { refreshToken: "" },
      detail: /json\.refreshToken: /,
    },
    {
      ...base,
      label: "enrolment without a key",
      path: "/api/v1/device/enrol",
      token: undefined,
      json: { code: "MCE-AAAAA" },
      detail: /json\.publicKey: /,
    },
  ];
  await check(p, fleet, cases);
  const problem = await assertProblem(
    await p.call("POST", vehicles, { token, json: { name: 42 } }),
    { ...base, label: "issues", detail: /json\.name/ },
  );
  assert.deepEqual(problem.issues.map((i: { path: string }) => i.path), ["json.name"]);
  assert.deepEqual((await p.registry.listVehicles(fleet.fleetId)).map((v) => v.name), ["bus-1"]);
});

Deno.test("bodies that are not JSON are 415 problems", async () => {
  await using p = await startTestPlatform();
  const fleet = await makeFleet(p, "Alpha");
  const base = {
    method: "POST",
    path: `/api/v1/fleets/${fleet.fleetId}/vehicles`,
    token: fleet.tokens.admin,
    status: 415,
    code: "unsupported_media_type",
  };
  await check(p, fleet, [
    {
      ...base,
      label: "JSON text sent as text/plain",
      body: JSON.stringify({ name: "bus-2" }),
      headers: { "content-type": "text/plain" },
      detail: 'Content type "text/plain" is not accepted here: send application/json',
    },
    {
      ...base,
      label: "form",
      body: "name=bus-2",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      detail: /^Content type "application\/x-www-form-urlencoded" is not accepted here/,
    },
    {
      ...base,
      label: "XML to login",
      path: "/api/v1/auth/login",
      token: undefined,
      body: "<login/>",
      headers: { "content-type": "application/xml" },
      detail: /^Content type "application\/xml" is not accepted here/,
    },
    {
      ...base,
      label: "body without a content type",
      body: new TextEncoder().encode(JSON.stringify({ name: "bus-2" })),
      detail: 'Content type "none" is not accepted here: send application/json',
    },
  ]);
  assert.deepEqual((await p.registry.listVehicles(fleet.fleetId)).map((v) => v.name), ["bus-1"]);
});

Deno.test("bodies over MAX_BODY_BYTES are 413 problems, bodies at the limit are read", async () => {
  await using p = await startTestPlatform({ MAX_BODY_BYTES: "2048" });
  const fleet = await makeFleet(p, "Alpha");
  const vehicles = `/api/v1/fleets/${fleet.fleetId}/vehicles`;
  const base = {
    method: "POST",
    path: vehicles,
    token: fleet.tokens.admin,
    status: 413,
    code: "payload_too_large",
    detail: "Request body is larger than 2048 bytes",
  };
  // {"name":"…"} is 11 bytes around the name.
  const atLimit = JSON.stringify({ name: "x".repeat(2048 - 11) });
  assert.equal(atLimit.length, 2048);
  await check(p, fleet, [
    { ...base, label: "one byte over", body: atLimit + " ", headers: JSON_TYPE },
    { ...base, label: "far over", json: { name: "x".repeat(100_000) } },
    { ...base, label: "over, without a token", token: undefined, json: { name: "x".repeat(5000) } },
    {
      ...base,
      label: "over, to login",
      path: "/api/v1/auth/login",
      token: undefined,
      json: { email: OWNER.email, password: "x".repeat(5000) },
    },
    {
      ...base,
      label: "over, to enrolment",
      path: "/api/v1/device/enrol",
      token: undefined,
      json: { code: "x".repeat(5000), publicKey: {} },
    },
    {
      ...base,
      label: "over, non-JSON",
      body: "x".repeat(5000),
      headers: { "content-type": "text/plain" },
    },
    {
      label: "at the limit: read and validated",
      method: "POST",
      path: vehicles,
      token: fleet.tokens.admin,
      body: atLimit,
      headers: JSON_TYPE,
      status: 400,
      code: "invalid_request",
      detail: /json\.name: must be 1-64 letters/,
    },
    {
      label: "deeply nested, under the limit",
      method: "POST",
      path: vehicles,
      token: fleet.tokens.admin,
      body: "[".repeat(1000) + "]".repeat(1000),
      headers: JSON_TYPE,
      status: 400,
      code: "invalid_request",
      detail: /^Request json is invalid: json: /,
    },
  ]);
  const problem = await assertProblem(
    await p.call("POST", vehicles, { token: fleet.tokens.admin, json: { name: "x".repeat(3000) } }),
    { ...base, label: "limit member" },
  );
  assert.equal(problem.limit, 2048);
  assert.deepEqual((await p.registry.listVehicles(fleet.fleetId)).map((v) => v.name), ["bus-1"]);
});

Deno.test("path ids that are not ids are 400 problems, or 404 outside the caller's fleet", async () => {
  await using p = await startTestPlatform();
  const fleet = await makeFleet(p, "Alpha");
  const { accessToken: owner } = await p.login(OWNER.email, OWNER.password);
  const own = `/api/v1/fleets/${fleet.fleetId}`;
  const invalid = (label: string, path: string, token: string, field: string): BadRequest => ({
    label,
    method: "GET",
    path,
    token,
    status: 400,
    code: "invalid_request",
    detail: `Request param is invalid: param.${field}: must be a Motorcade id such as veh_…`,
  });
  await check(p, fleet, [
    invalid("owner, fleet ../etc", "/api/v1/fleets/..%2Fetc", owner, "fleetId"),
    invalid("owner, fleet flt_x", "/api/v1/fleets/flt_x", owner, "fleetId"),
    invalid("owner, fleet id with a quote", "/api/v1/fleets/flt_'%20OR%201=1--", owner, "fleetId"),
    invalid("owner, upper-case id", "/api/v1/fleets/FLT_00000000000000000000", owner, "fleetId"),
    invalid("admin, vehicle ../..", `${own}/vehicles/..%2F..`, fleet.tokens.admin, "vehicleId"),
    invalid("admin, vehicle veh_x", `${own}/vehicles/veh_x`, fleet.tokens.admin, "vehicleId"),
    invalid(
      "viewer, camera list of vehicle %00",
      `${own}/vehicles/veh_%00/cameras`,
      fleet.tokens.viewer,
      "vehicleId",
    ),
    invalid("admin, user ../../", `${own}/users/..%2F..%2F`, fleet.tokens.admin, "userId"),
    {
      ...invalid("admin, credential x", `${own}/vehicles/${fleet.vehicleId}/credentials/x`, "", ""),
      method: "DELETE",
      token: fleet.tokens.admin,
      detail: "Request param is invalid: param.credentialId: must be a Motorcade id such as veh_…",
    },
    {
      // A fleet id that is not the caller's own is "not found", whatever its shape.
      label: "viewer, fleet ../etc",
      method: "GET",
      path: "/api/v1/fleets/..%2Fetc",
      token: fleet.tokens.viewer,
      status: 404,
      code: "not_found",
      detail: 'Fleet "../etc" not found',
    },
    {
      label: "dot segments resolve before routing",
      method: "GET",
      path: `/api/v1/fleets/../../etc/passwd`,
      token: fleet.tokens.viewer,
      status: 404,
      code: "not_found",
      detail: "No route for GET /api/etc/passwd",
    },
  ]);
});

Deno.test("unknown routes are 404 problems, other methods on a known path 405", async () => {
  await using p = await startTestPlatform();
  const fleet = await makeFleet(p, "Alpha");
  const notFound = (method: string, path: string, extra: Partial<BadRequest> = {}) => ({
    label: `${method} ${path}`,
    method,
    path,
    status: 404,
    code: "not_found",
    detail: `No route for ${method} ${path}`,
    ...extra,
  });
  const notAllowed = (method: string, path: string, extra: Partial<BadRequest> = {}) => ({
    label: `${method} ${path}`,
    method,
    path,
    status: 405,
    code: "method_not_allowed",
    detail: new RegExp(`^Method "${method}" is not allowed on ".+": use `),
    ...extra,
  });
  await check(p, fleet, [
    notFound("GET", "/api/v1/nope"),
    notFound("GET", "/api/v2/fleets", { token: fleet.tokens.admin }),
    notFound("POST", "/api/v1/nope", { json: { name: "x" } }),
    notAllowed("PUT", `/api/v1/fleets/${fleet.fleetId}`, {
      token: fleet.tokens.admin,
      json: { name: "x" },
    }),
    notAllowed("DELETE", "/api/v1/me", { token: fleet.tokens.admin }),
    notFound("GET", "/api/v1/fleets/a/b/c/d/e/f/g"),
  ]);
});
