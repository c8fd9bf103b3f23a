import assert from "node:assert/strict";
import { startTestPlatform } from "../support/platform.ts";

Deno.test("a token verified once is refused after its exp, cache or not", async () => {
  // Long enough that the two calls land before exp on a loaded machine; then wait for exp itself.
  await using platform = await startTestPlatform({ ACCESS_TOKEN_TTL: "5s" });
  const { accessToken } = await platform.login("owner@example.com", "owner-password-1");
  assert.equal((await platform.call("GET", "/api/v1/me", { token: accessToken })).status, 200);
  assert.equal((await platform.call("GET", "/api/v1/me", { token: accessToken })).status, 200);
  const { exp } = JSON.parse(atob(accessToken.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, exp * 1000 - Date.now()) + 1100));
  const response = await platform.call("GET", "/api/v1/me", { token: accessToken });
  assert.equal(response.status, 401);
  assert.equal((await response.json()).detail, "Token has expired");
});

Deno.test("a cached token stops working at once when its session is revoked", async () => {
  await using platform = await startTestPlatform();
  const { accessToken } = await platform.login("owner@example.com", "owner-password-1");
  assert.equal((await platform.call("GET", "/api/v1/me", { token: accessToken })).status, 200);
  const logout = await platform.call("POST", "/api/v1/auth/logout", { token: accessToken });
  assert.equal(logout.status, 204);
  assert.equal((await platform.call("GET", "/api/v1/me", { token: accessToken })).status, 401);
});
