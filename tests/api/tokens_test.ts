/**
 * Access tokens and sessions: every forged, broken or stale token is a 401 problem saying why,
 * logout and refresh-token reuse end sessions, and signing keys rotate without breaking tokens.
 */
import assert from "node:assert/strict";
import {
  base64url,
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  generateKeyPair,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from "jose";
import { parseConfig } from "../../lib/config/mod.ts";
import { silentLogger } from "../../lib/log/mod.ts";
import { createPlatform, type Platform } from "../../platform.ts";
import { makeFleet, OWNER, startTestPlatform, type TestPlatform } from "../support/platform.ts";

const ISSUER = "http://motorcade.test";

/** Calls `GET /api/v1/me` with a raw Authorization header value. */
function me(p: TestPlatform, authorization?: string): Promise<Response> {
  return p.call("GET", "/api/v1/me", {
    headers: authorization === undefined ? {} : { authorization },
  });
}

/** Asserts a 401 problem whose detail matches `detail`. */
async function assertUnauthorized(response: Response, detail: RegExp | string, label = "") {
  const text = await response.text();
  assert.equal(response.status, 401, `${label}: expected 401, got ${response.status} ${text}`);
  assert.equal(response.headers.get("content-type"), "application/problem+json", label);
  assert.equal(response.headers.get("www-authenticate"), 'Bearer realm="motorcade"', label);
  const problem = JSON.parse(text);
  assert.equal(problem.status, 401, label);
  assert.equal(problem.code, "unauthorized", label);
  assert.equal(problem.stack, undefined, label);
  if (typeof detail === "string") assert.equal(problem.detail, detail, label);
  else assert.match(problem.detail, detail, label);
}

async function assertOk(response: Response, label = "") {
  const text = await response.text();
  assert.equal(response.status, 200, `${label}: expected 200, got ${response.status} ${text}`);
  return JSON.parse(text);
}

/** Signs `claims` like the server does, with the server's own active key unless told otherwise. */
function sign(
  p: TestPlatform,
  claims: JWTPayload,
  options: {
    key?: CryptoKey;
    header?: Record<string, unknown>;
    iss?: string;
    aud?: string;
    exp?: number;
  } = {},
): Promise<string> {
  const { kid, key } = p.identity.keyring.signing();
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid, ...options.header })
    .setIssuer(options.iss ?? ISSUER)
    .setAudience(options.aud ?? "motorcade")
    .setIssuedAt(now - 10)
    .setExpirationTime(options.exp ?? now + 60)
    .setJti(crypto.randomUUID())
    .sign(options.key ?? key);
}

const encode = (value: unknown) => base64url.encode(JSON.stringify(value));

Deno.test("tokens signed by the server with the right claims are accepted (control)", async () => {
  await using p = await startTestPlatform();
  const { accessToken } = await p.login(OWNER.email, OWNER.password);
  const claims = decodeJwt(accessToken);
  const forged = await sign(p, {
    sub: claims.sub,
    kind: "user",
    role: "owner",
    fleet: null,
    sid: claims.sid,
  });
  const body = await assertOk(await me(p, `Bearer ${forged}`), "re-signed token");
  assert.equal(body.email, OWNER.email);
  await assertOk(await me(p, `bearer   ${accessToken}  `), "case and spacing of the scheme");
});

Deno.test("expired tokens are refused with 401 saying they expired", async () => {
  await using p = await startTestPlatform();
  const { accessToken } = await p.login(OWNER.email, OWNER.password);
  const claims = decodeJwt(accessToken);
  const expired = await sign(p, {
    sub: claims.sub,
    kind: "user",
    role: "owner",
    fleet: null,
    sid: claims.sid,
  }, { exp: Math.floor(Date.now() / 1000) - 5 });
  await assertUnauthorized(await me(p, `Bearer ${expired}`), "Token has expired");
});

Deno.test("access tokens stop working once ACCESS_TOKEN_TTL has passed", async () => {
  await using p = await startTestPlatform({ ACCESS_TOKEN_TTL: "1s" });
  const { accessToken } = await p.login(OWNER.email, OWNER.password);
  await assertOk(await me(p, `Bearer ${accessToken}`), "fresh token");
  const exp = decodeJwt(accessToken).exp!;
  await new Promise((resolve) => setTimeout(resolve, exp * 1000 - Date.now() + 100));
  await assertUnauthorized(await me(p, `Bearer ${accessToken}`), "Token has expired");
});

Deno.test("tampered tokens are refused with 401", async () => {
  await using p = await startTestPlatform();
  const fleet = await makeFleet(p, "Alpha");
  const token = fleet.tokens.viewer;
  const [header, payload, signature] = token.split(".");

  const raised = encode({ ...decodeJwt(token), role: "owner", fleet: null });
  await assertUnauthorized(
    await me(p, `Bearer ${header}.${raised}.${signature}`),
    "Token signature is not valid",
    "payload raised to owner",
  );
  const flipped = (signature[0] === "A" ? "B" : "A") + signature.slice(1);
  await assertUnauthorized(
    await me(p, `Bearer ${header}.${payload}.${flipped}`),
    "Token signature is not valid",
    "signature changed",
  );
  await assertUnauthorized(
    await me(p, `Bearer ${header}.${payload}.`),
    "Token signature is not valid",
    "signature removed",
  );
  const otherKid = encode({ ...decodeProtectedHeader(token), kid: "not-a-key" });
  await assertUnauthorized(
    await me(p, `Bearer ${otherKid}.${payload}.${signature}`),
    "Token is signed by an unknown key",
    "kid changed",
  );
  // The untouched token still works: the refusals were about the changes.
  await assertOk(await me(p, `Bearer ${token}`), "original");
});

Deno.test("unsecured tokens (alg none) and other algorithms are refused with 401", async () => {
  await using p = await startTestPlatform();
  const { accessToken } = await p.login(OWNER.email, OWNER.password);
  const { kid } = decodeProtectedHeader(accessToken);
  const payload = encode(decodeJwt(accessToken));
  for (const alg of ["none", "None", "NONE"]) {
    const header = encode({ alg, typ: "at+jwt", kid });
    await assertUnauthorized(
      await me(p, `Bearer ${header}.${payload}.`),
      "Token algorithm is not allowed",
      `alg ${alg}`,
    );
  }
  const hs256 = await new SignJWT(decodeJwt(accessToken))
    .setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid })
    .sign(new TextEncoder().encode("a shared secret an attacker picked"));
  await assertUnauthorized(await me(p, `Bearer ${hs256}`), "Token algorithm is not allowed");
});

Deno.test("tokens signed by a key outside the JWKS are refused with 401, even with a real kid", async () => {
  await using p = await startTestPlatform();
  const { accessToken } = await p.login(OWNER.email, OWNER.password);
  const claims = decodeJwt(accessToken);
  const realKid = decodeProtectedHeader(accessToken).kid;
  const { privateKey } = await generateKeyPair("ES256");
  const owner = { sub: claims.sub, kind: "user", role: "owner", fleet: null, sid: claims.sid };

  const colliding = await sign(p, owner, { key: privateKey, header: { kid: realKid } });
  await assertUnauthorized(
    await me(p, `Bearer ${colliding}`),
    "Token signature is not valid",
    "real kid",
  );
  const unknownKid = await sign(p, owner, { key: privateKey, header: { kid: "attacker-key" } });
  await assertUnauthorized(
    await me(p, `Bearer ${unknownKid}`),
    "Token is signed by an unknown key",
    "unknown kid",
  );
  const noKid = await sign(p, owner, { key: privateKey, header: { kid: undefined } });
  assert.equal(decodeProtectedHeader(noKid).kid, undefined);
  await assertUnauthorized(
    await me(p, `Bearer ${noKid}`),
    "Token is signed by an unknown key",
    "no kid",
  );
  const embedded = await sign(p, owner, {
    key: privateKey,
    header: { kid: undefined, jwk: { kty: "EC", crv: "P-256", x: "AA", y: "AA" } },
  });
  await assertUnauthorized(await me(p, `Bearer ${embedded}`), /^Token /, "embedded jwk");
});

Deno.test("tokens with a wrong issuer, audience, type or claims are refused with 401", async () => {
  await using p = await startTestPlatform();
  const { accessToken } = await p.login(OWNER.email, OWNER.password);
  const claims = decodeJwt(accessToken);
  const owner = { sub: claims.sub, kind: "user", role: "owner", fleet: null, sid: claims.sid };

  await assertUnauthorized(
    await me(p, `Bearer ${await sign(p, owner, { iss: "http://evil.test" })}`),
    'Token claim "iss" is not valid: unexpected "iss" claim value',
  );
  await assertUnauthorized(
    await me(p, `Bearer ${await sign(p, owner, { aud: "someone-else" })}`),
    'Token claim "aud" is not valid: unexpected "aud" claim value',
  );
  await assertUnauthorized(
    await me(p, `Bearer ${await sign(p, owner, { header: { typ: "JWT" } })}`),
    /^Token claim "typ" is not valid/,
  );
  await assertUnauthorized(
    await me(p, `Bearer ${await sign(p, { ...owner, role: "superuser" })}`),
    "Token claims are not those of a Motorcade access token",
  );
  await assertUnauthorized(
    await me(p, `Bearer ${await sign(p, { ...owner, kind: "robot" })}`),
    "Token claims are not those of a Motorcade access token",
  );
  await assertUnauthorized(
    await me(p, `Bearer ${await sign(p, { ...owner, sid: "ses_00000000000000000000" })}`),
    "Session has been revoked or has expired",
  );
});

Deno.test("malformed Authorization headers and garbage tokens are refused with 401", async () => {
  await using p = await startTestPlatform();
  const { accessToken } = await p.login(OWNER.email, OWNER.password);
  await assertUnauthorized(await me(p), "Authentication required: send a Bearer token", "none");
  const malformed = [
    `Basic ${btoa(`${OWNER.email}:${OWNER.password}`)}`,
    "Bearer",
    "Bearer ",
    `Token ${accessToken}`,
    `Bearer ${accessToken} extra`,
    `Bearer${accessToken}`,
    accessToken,
  ];
  for (const header of malformed) {
    await assertUnauthorized(
      await me(p, header),
      'Authorization header must be "Bearer <token>"',
      header.slice(0, 20),
    );
  }
  const garbage = [
    "garbage",
    "a.b.c",
    "a.b",
    "....",
    "x".repeat(5000),
    accessToken.split(".").slice(0, 2).join("."),
  ];
  for (const token of garbage) {
    await assertUnauthorized(
      await me(p, `Bearer ${token}`),
      "Token is malformed",
      token.slice(0, 20),
    );
  }
  await assertUnauthorized(
    await me(p, `Bearer ${encode({ alg: "ES256" })}.e30.AAAA`),
    "Token is signed by an unknown key",
  );
  const realKid = encode({ alg: "ES256", kid: decodeProtectedHeader(accessToken).kid });
  await assertUnauthorized(
    await me(p, `Bearer ${realKid}.${base64url.encode("not json")}.AAAA`),
    "Token signature is not valid",
  );
});

Deno.test("logout ends the session: its access and refresh tokens stop working", async () => {
  await using p = await startTestPlatform();
  const fleet = await makeFleet(p, "Alpha");
  const session = await p.login("viewer@alpha.test", "password-viewer");
  const other = await p.login("viewer@alpha.test", "password-viewer");
  await assertOk(await me(p, `Bearer ${session.accessToken}`), "before logout");

  const logout = await p.call("POST", "/api/v1/auth/logout", { token: session.accessToken });
  assert.equal(logout.status, 204);
  await assertUnauthorized(
    await me(p, `Bearer ${session.accessToken}`),
    "Session has been revoked or has expired",
  );
  await assertUnauthorized(
    await p.call("GET", `/api/v1/fleets/${fleet.fleetId}`, { token: session.accessToken }),
    "Session has been revoked or has expired",
  );
  await assertUnauthorized(
    await p.call("POST", "/api/v1/auth/refresh", { json: { refreshToken: session.refreshToken } }),
    "Session has been revoked",
  );
  await assertUnauthorized(
    await p.call("POST", "/api/v1/auth/logout", { token: session.accessToken }),
    "Session has been revoked or has expired",
    "second logout",
  );
  // Another session of the same person is not affected.
  await assertOk(await me(p, `Bearer ${other.accessToken}`), "other session");
});

Deno.test("logout also ends the session of a refresh token sent in the body", async () => {
  await using p = await startTestPlatform();
  await makeFleet(p, "Alpha");
  const session = await p.login("viewer@alpha.test", "password-viewer");
  const other = await p.login("viewer@alpha.test", "password-viewer");
  const logout = await p.call("POST", "/api/v1/auth/logout", {
    token: session.accessToken,
    json: { refreshToken: other.refreshToken },
  });
  assert.equal(logout.status, 204);
  await assertUnauthorized(
    await me(p, `Bearer ${other.accessToken}`),
    "Session has been revoked or has expired",
  );
  await assertUnauthorized(
    await p.call("POST", "/api/v1/auth/refresh", { json: { refreshToken: other.refreshToken } }),
    "Session has been revoked",
  );
});

Deno.test("refresh rotates the refresh token and issues a working access token", async () => {
  await using p = await startTestPlatform();
  await makeFleet(p, "Alpha");
  const first = await p.login("admin@alpha.test", "password-admin");
  const second = await assertOk(
    await p.call("POST", "/api/v1/auth/refresh", { json: { refreshToken: first.refreshToken } }),
  );
  assert.equal(second.tokenType, "Bearer");
  assert.notEqual(second.refreshToken, first.refreshToken);
  assert.notEqual(second.accessToken, first.accessToken);
  assert.ok(second.expiresIn > 0 && second.expiresIn <= 300, `expiresIn ${second.expiresIn}`);
  assert.equal(decodeJwt(second.accessToken).sid, decodeJwt(first.accessToken).sid);
  const body = await assertOk(await me(p, `Bearer ${second.accessToken}`));
  assert.equal(body.email, "admin@alpha.test");
  const third = await assertOk(
    await p.call("POST", "/api/v1/auth/refresh", { json: { refreshToken: second.refreshToken } }),
  );
  await assertOk(await me(p, `Bearer ${third.accessToken}`));
  await assertUnauthorized(
    await p.call("POST", "/api/v1/auth/refresh", { json: { refreshToken: "mrt_unknown" } }),
    "Refresh token is not valid",
  );
});

Deno.test("replaying a rotated refresh token revokes the whole session", async () => {
  await using p = await startTestPlatform();
  await makeFleet(p, "Alpha");
  const first = await p.login("admin@alpha.test", "password-admin");
  const bystander = await p.login("admin@alpha.test", "password-admin");
  const refresh = (refreshToken: string) =>
    p.call("POST", "/api/v1/auth/refresh", { json: { refreshToken } });
  const second = await assertOk(await refresh(first.refreshToken), "first refresh");
  const third = await assertOk(await refresh(second.refreshToken), "second refresh");

  await assertUnauthorized(
    await refresh(first.refreshToken),
    "Refresh token was already used; the session is revoked, sign in again",
  );
  await assertUnauthorized(await refresh(third.refreshToken), "Session has been revoked");
  for (const [name, token] of Object.entries({ first, second, third })) {
    await assertUnauthorized(
      await me(p, `Bearer ${token.accessToken}`),
      "Session has been revoked or has expired",
      name,
    );
  }
  await assertOk(await me(p, `Bearer ${bystander.accessToken}`), "other session");
  await assertOk(await refresh(bystander.refreshToken), "other session refreshes");
});

Deno.test("after key rotation old tokens verify, new ones use the new kid and the JWKS lists both", async () => {
  await using p = await startTestPlatform();
  const before = await p.login(OWNER.email, OWNER.password);
  const oldKid = decodeProtectedHeader(before.accessToken).kid!;
  const jwks = await assertOk(await p.call("GET", "/.well-known/jwks.json"));
  assert.deepEqual(jwks.keys.map((k: { kid: string }) => k.kid), [oldKid]);

  const newKid = await p.identity.keyring.rotate();
  assert.notEqual(newKid, oldKid);
  await assertOk(await me(p, `Bearer ${before.accessToken}`), "token of the retired key");
  const after = await p.login(OWNER.email, OWNER.password);
  assert.equal(decodeProtectedHeader(after.accessToken).kid, newKid);
  await assertOk(await me(p, `Bearer ${after.accessToken}`), "token of the new key");
  const refreshed = await assertOk(
    await p.call("POST", "/api/v1/auth/refresh", { json: { refreshToken: before.refreshToken } }),
  );
  assert.equal(decodeProtectedHeader(refreshed.accessToken).kid, newKid);

  const response = await p.call("GET", "/.well-known/jwks.json");
  const rotated = await assertOk(response);
  assert.deepEqual(rotated.keys.map((k: { kid: string }) => k.kid).sort(), [oldKid, newKid].sort());
  for (const key of rotated.keys) {
    assert.equal(key.kty, "EC");
    assert.equal(key.alg, "ES256");
    assert.equal(key.d, undefined, "the JWKS must not hold private keys");
  }
  // A third party holding only the JWKS verifies tokens of both keys.
  const keySet = createLocalJWKSet(rotated);
  for (const token of [before.accessToken, after.accessToken]) {
    const { payload } = await jwtVerify(token, keySet, { issuer: ISSUER, audience: "motorcade" });
    assert.equal(payload.role, "owner");
  }
});

/** Opens a platform on `dataDir` the way the test harness does. */
function openPlatform(dataDir: string): Promise<Platform> {
  return createPlatform(
    parseConfig({
      DATA_DIR: dataDir,
      PUBLIC_URL: ISSUER,
      MOTORCADE_ADMIN_EMAIL: OWNER.email,
      MOTORCADE_ADMIN_PASSWORD: OWNER.password,
    }),
    silentLogger,
  );
}

const request = (platform: Platform, path: string, init: RequestInit = {}) =>
  Promise.resolve(platform.app.request(`${ISSUER}${path}`, init));

Deno.test("signing keys and the tokens they signed survive a restart", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "motorcade-test-" });
  try {
    let oldKid: string, newKid: string, token: string, refreshToken: string;
    const first = await openPlatform(dataDir);
    try {
      oldKid = first.identity.keyring.signing().kid;
      newKid = await first.identity.keyring.rotate();
      const login = await request(first, "/api/v1/auth/login", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(OWNER),
      });
      ({ accessToken: token, refreshToken } = await assertOk(login, "login"));
      assert.equal(decodeProtectedHeader(token).kid, newKid);
    } finally {
      await first.close();
    }

    const second = await openPlatform(dataDir);
    try {
      assert.equal(second.identity.keyring.signing().kid, newKid, "the active key is kept");
      const jwks = await assertOk(await request(second, "/.well-known/jwks.json"), "jwks");
      assert.deepEqual(
        jwks.keys.map((k: { kid: string }) => k.kid).sort(),
        [oldKid, newKid].sort(),
      );
      const body = await assertOk(
        await request(second, "/api/v1/me", { headers: { authorization: `Bearer ${token}` } }),
        "token from before the restart",
      );
      assert.equal(body.email, OWNER.email);
      const refreshed = await assertOk(
        await request(second, "/api/v1/auth/refresh", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ refreshToken }),
        }),
        "refresh token from before the restart",
      );
      assert.equal(decodeProtectedHeader(refreshed.accessToken).kid, newKid);
    } finally {
      await second.close();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
