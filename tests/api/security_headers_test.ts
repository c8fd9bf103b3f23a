/** Every answer says `nosniff`; HSTS comes with TLS, and only then. */
import assert from "node:assert/strict";
import { HSTS } from "../../lib/http/mod.ts";
import { makeTestCertificate } from "../support/tls.ts";
import { startTestPlatform } from "../support/platform.ts";

const paths = ["/healthz", "/api/v1/openapi.json", "/api/v1/no-such-route", "/api/v1/fleets"];

Deno.test("every answer, errors included, carries nosniff and no HSTS without TLS", async () => {
  await using p = await startTestPlatform();
  for (const path of paths) {
    const response = await p.call("GET", path);
    await response.body?.cancel();
    assert.equal(response.headers.get("x-content-type-options"), "nosniff", path);
    assert.equal(response.headers.get("strict-transport-security"), null, path);
  }
});

Deno.test("with TLS on, every answer carries HSTS", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const certificate = await makeTestCertificate(dir);
    await using p = await startTestPlatform({
      TLS_CERT_FILE: certificate.certFile,
      TLS_KEY_FILE: certificate.keyFile,
    });
    for (const path of paths) {
      const response = await p.call("GET", path);
      await response.body?.cancel();
      assert.equal(response.headers.get("strict-transport-security"), HSTS, path);
      assert.equal(response.headers.get("x-content-type-options"), "nosniff", path);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
