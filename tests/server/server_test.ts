import assert from "node:assert/strict";
import { OWNER } from "../support/platform.ts";
import { startServer } from "../support/server.ts";
import { makeTestCertificate } from "../support/tls.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

Deno.test("server answers over a real socket, echoes request ids and stops cleanly on SIGTERM", async () => {
  await using server = await startServer();
  const response = await fetch(`${server.url}/healthz`, { headers: { "x-request-id": "abc-123" } });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("x-request-id"), "abc-123");
  assert.deepEqual(await response.json(), { status: "ok" });

  const weird = await fetch(`${server.url}/healthz`, { headers: { "x-request-id": "a b\tc" } });
  await weird.body?.cancel();
  assert.match(weird.headers.get("x-request-id")!, /^[0-9a-f-]{36}$/, "unsafe ids are replaced");

  const ready = await fetch(`${server.url}/readyz`);
  assert.equal(ready.status, 200);
  assert.equal((await ready.json()).checks.catalog.ok, true);

  const status = await server.stop("SIGTERM");
  assert.equal(status.code, 0);
  const records = server.logs.filter((line) => line.startsWith("{")).map((line) =>
    JSON.parse(line)
  );
  const logged = records.find((r) => r.msg === "request" && r.requestId === "abc-123");
  assert.equal(logged.client, "127.0.0.1");
  assert.equal(logged.route, "/healthz");
  assert.ok(records.some((r) => r.msg === "shutting down" && r.signal === "SIGTERM"));
});

Deno.test("server serves HTTPS itself when given a certificate and key", async () => {
  const dir = await Deno.makeTempDir({ prefix: "motorcade-tls-" });
  try {
    const tls = await makeTestCertificate(dir);
    await using server = await startServer({
      TLS_CERT_FILE: tls.certFile,
      TLS_KEY_FILE: tls.keyFile,
    });
    assert.ok(server.url.startsWith("https://"), server.url);
    const client = Deno.createHttpClient({ caCerts: [tls.caPem] });
    try {
      const response = await fetch(`${server.url}/api/v1/auth/login`, {
        client,
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(OWNER),
      });
      assert.equal(response.status, 200);
      assert.ok((await response.json()).accessToken);
    } finally {
      client.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("server refuses to start on invalid configuration and names each variable", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN],
    env: {
      PORT: "eighty",
      LOG_LEVEL: "loud",
      TLS_CERT_FILE: "/tmp/cert.pem",
      ACCESS_TOKEN_TTL: "soon",
      DATA_DIR: "/nonexistent-motorcade",
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 2);
  const stderr = new TextDecoder().decode(output.stderr);
  assert.match(stderr, /PORT must be an integer from 0 to 65535, got "eighty"/);
  assert.match(stderr, /LOG_LEVEL must be one of debug, info, warn, error, got "loud"/);
  assert.match(stderr, /TLS_CERT_FILE and TLS_KEY_FILE must be set together/);
  assert.match(stderr, /ACCESS_TOKEN_TTL must be a duration/);
  assert.doesNotMatch(stderr, /\n\s+at /, "no stack trace");
});

Deno.test("first start without an admin in the environment creates one and shows its password once", async () => {
  await using server = await startServer({
    MOTORCADE_ADMIN_EMAIL: "",
    MOTORCADE_ADMIN_PASSWORD: "",
  });
  const record = server.logs.filter((line) => line.startsWith("{")).map((line) => JSON.parse(line))
    .find((r) => r.password);
  assert.equal(record?.email, "admin@motorcade.local");
  assert.equal(record.alsoWrittenTo, `${server.dataDir}/initial-owner.txt`);
  const file = await Deno.readTextFile(record.alsoWrittenTo);
  assert.equal(file, `admin@motorcade.local\n${record.password}\n`);
  assert.equal((await Deno.stat(record.alsoWrittenTo)).mode! & 0o777, 0o600);
  const login = await fetch(`${server.url}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: record.email, password: record.password }),
  });
  assert.equal(login.status, 200);
  await login.body?.cancel();
  await server.stop();

  await using again = await startServer({
    DATA_DIR: server.dataDir,
    MOTORCADE_ADMIN_EMAIL: "",
    MOTORCADE_ADMIN_PASSWORD: "",
  });
  assert.ok(!again.logs.some((line) => line.includes('"password"')), "shown only the first time");
});
