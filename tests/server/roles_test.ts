import assert from "node:assert/strict";
import { ConfigError, parseConfig } from "../../lib/config/mod.ts";
import { roleOfPath } from "../../routes/mod.ts";
import { startTestPlatform } from "../support/platform.ts";

Deno.test("ROLES defaults to every role and takes any non-empty subset", () => {
  assert.deepEqual([...parseConfig({}).roles], ["ingest", "api", "indexer", "live"]);
  assert.deepEqual([...parseConfig({ ROLES: " Ingest , indexer" }).roles], ["ingest", "indexer"]);
  // Live runs only where its role is.
  assert.equal(parseConfig({ ROLES: "api" }).live, null);
});

Deno.test("ROLES refuses unknown names and an empty list, naming the variable", () => {
  for (
    const [raw, expected] of [["ingest,transcoder", /ROLES .*unknown: "transcoder"/], [
      " , ",
      /ROLES must be a comma-separated list of ingest, api, indexer, live/,
    ]] as const
  ) {
    assert.throws(() => parseConfig({ ROLES: raw }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, expected);
      return true;
    });
  }
});

Deno.test("roleOfPath sends uploads to ingest, WebRTC to live, probes to every role", () => {
  assert.equal(roleOfPath("/api/v1/ingest/vehicles/v/cameras/front/recordings/r/init"), "ingest");
  assert.equal(roleOfPath("/api/v1/live/ws"), "live");
  assert.equal(roleOfPath("/api/v1/fleets/f/vehicles/v/cameras/front/whep"), "live");
  assert.equal(roleOfPath("/api/v1/live/whip/3f0c"), "live");
  assert.equal(roleOfPath("/api/v1/fleets/f/vehicles/v/cameras/front/recordings"), "api");
  assert.equal(roleOfPath("/media/x"), "api");
  for (const path of ["/healthz", "/readyz", "/metrics", "/.well-known/jwks.json"]) {
    assert.equal(roleOfPath(path), null);
  }
});

Deno.test("a process refuses another role's routes with 421 naming the role, and probes only its engines", async () => {
  await using ingest = await startTestPlatform({ ROLES: "ingest" });
  const refused = await ingest.call("GET", "/api/v1/fleets");
  assert.equal(refused.status, 421);
  const problem = await refused.json();
  assert.equal(problem.code, "misdirected_request");
  assert.equal(problem.role, "api");
  assert.match(problem.detail, /needs the "api" role.*ROLES/);
  const upload = await ingest.call(
    "PUT",
    "/api/v1/ingest/vehicles/v/cameras/front/recordings/r/init",
  );
  assert.equal(upload.status, 401, "the ingest route answers (here: no device token)");
  assert.equal((await ingest.call("GET", "/healthz")).status, 200);
  const ready = await (await ingest.call("GET", "/readyz")).json();
  assert.ok("bus" in ready.checks && "object-store" in ready.checks);

  await using api = await startTestPlatform({ ROLES: "api" });
  assert.equal(
    (await api.call("PUT", "/api/v1/ingest/vehicles/v/cameras/front/recordings/r/init"))
      .status,
    421,
  );
  const apiReady = await (await api.call("GET", "/readyz")).json();
  assert.ok(!("bus" in apiReady.checks), "the api process uses no bus");

  await using indexer = await startTestPlatform({ ROLES: "indexer" });
  assert.equal((await indexer.call("GET", "/api/v1/fleets")).status, 421);
  const indexerReady = await (await indexer.call("GET", "/readyz")).json();
  assert.deepEqual(Object.keys(indexerReady.checks).sort(), ["bus", "catalog", "storage"]);
});
