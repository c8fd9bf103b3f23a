/**
 * The admin CLI, run as a real subprocess (`deno run ctl.ts`) on a temporary DATA_DIR per test.
 * What it creates is then used through the HTTP API, so CLI and server agree on the catalog.
 */
import assert from "node:assert/strict";
import { decodeProtectedHeader, exportJWK, generateKeyPair } from "jose";
import { CONFIG_VARIABLES, parseConfig } from "../../lib/config/mod.ts";
import { silentLogger } from "../../lib/log/mod.ts";
import { createPlatform, type Platform } from "../../platform.ts";
import { startServer } from "../support/server.ts";

const REPO = new URL("../../", import.meta.url).pathname;
/** A well-formed fleet id that names nothing. */
const GHOST_FLEET = "flt_00000000000000000000";

/** The test runner's environment without any Motorcade variable, so only the test's count. */
const BASE_ENV = Object.fromEntries(
  Object.entries(Deno.env.toObject()).filter(([name]) =>
    !CONFIG_VARIABLES.some((v) => v.name === name)
  ),
);

interface CtlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A temporary DATA_DIR; `await using` removes it. */
async function dataDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "motorcade-ctl-" });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }).catch(() => {}),
  };
}

/** Runs `deno run ctl.ts ...args` on `dir`, feeding it `stdin`. */
async function ctl(
  dir: string,
  args: string[],
  options: { stdin?: string; env?: Record<string, string> } = {},
): Promise<CtlResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "ctl.ts", ...args],
    cwd: REPO,
    clearEnv: true,
    env: { ...BASE_ENV, DATA_DIR: dir, ...options.env },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  if (options.stdin !== undefined) await writer.write(new TextEncoder().encode(options.stdin));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  // Deno itself may report package metadata downloads on stderr (a cold cache); not the CLI's.
  const own = decoder.decode(stderr).split(/(?<=\n)/).filter((l) => !l.startsWith("Download "));
  return { code, stdout: decoder.decode(stdout), stderr: own.join("") };
}

/** Runs the CLI with `--json`, asserts it succeeded, and parses its output. */
async function ctlJson<T = Record<string, unknown>>(
  dir: string,
  args: string[],
  options?: { stdin?: string },
): Promise<T> {
  const result = await ctl(dir, [...args, "--json"], options);
  assert.equal(result.code, 0, `ctl ${args.join(" ")} failed: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

/** Asserts a failed run: exit code, a message on stderr, nothing on stdout, no stack trace. */
function assertFailed(result: CtlResult, code: number, message: string | RegExp) {
  assert.equal(result.code, code, `expected exit ${code}, stderr: ${result.stderr}`);
  if (typeof message === "string") assert.ok(result.stderr.includes(message), result.stderr);
  else assert.match(result.stderr, message);
  assert.equal(result.stdout, "");
  assert.doesNotMatch(result.stderr, /^\s+at /m, "no stack trace");
}

/** The server's app in-process on the same DATA_DIR the CLI wrote to. */
async function platformOn(
  dir: string,
  env: Record<string, string> = {},
): Promise<Platform & AsyncDisposable> {
  const platform = await createPlatform(
    parseConfig({ DATA_DIR: dir, PUBLIC_URL: "http://motorcade.test", ...env }),
    silentLogger,
  );
  return { ...platform, [Symbol.asyncDispose]: () => platform.close() };
}

function login(platform: Platform, email: string, password: string): Promise<Response> {
  return Promise.resolve(platform.app.request("http://motorcade.test/api/v1/auth/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
  }));
}

Deno.test("ctl fleets add and list round-trip as JSON", async () => {
  await using dir = await dataDir();
  const fleet = await ctlJson(dir.path, ["fleets", "add", "Acme Buses"]);
  assert.match(String(fleet.id), /^flt_/);
  assert.equal(fleet.name, "Acme Buses");
  assert.deepEqual(Object.keys(fleet).sort(), [
    "createdAt",
    "id",
    "liveLadder",
    "name",
    "retentionDays",
    "segmentSeconds",
    "timeZone",
  ]);

  assert.deepEqual(await ctlJson(dir.path, ["fleets", "list"]), { fleets: [fleet] });
  const text = await ctl(dir.path, ["fleets", "list"]);
  assert.equal(text.code, 0);
  assert.match(text.stdout, new RegExp(`^ID +NAME +CREATED\\n${fleet.id} +Acme Buses +\\d{4}-`));
});

Deno.test("ctl fleets retention sets how long a fleet keeps recordings and shows the dry-run", async () => {
  await using dir = await dataDir();
  const fleet = await ctlJson(dir.path, ["fleets", "add", "Acme"]);
  const forever = await ctl(dir.path, ["fleets", "retention", String(fleet.id)]);
  assert.equal(forever.code, 0, forever.stderr);
  assert.equal(forever.stdout.trim(), `Fleet ${fleet.id} keeps recordings forever`);
  const set = await ctlJson(dir.path, ["fleets", "retention", "--days", "30", String(fleet.id)]);
  assert.equal(set.retentionDays, 30);
  assert.deepEqual(set.expired, { segments: 0, bytes: 0, recordings: 0 });
  assert.ok(Date.now() - 30 * 86_400_000 - Date.parse(String(set.cutoff)) < 60_000);
  const listed = await ctlJson<{ fleets: Array<{ retentionDays: number }> }>(dir.path, [
    "fleets",
    "list",
  ]);
  assert.equal(listed.fleets[0].retentionDays, 30);
  for (const days of ["0", "x", "3651"]) {
    const refused = await ctl(dir.path, ["fleets", "retention", "--days", days, String(fleet.id)]);
    assert.equal(refused.code, 1, `${days}: ${refused.stderr}`);
    assert.match(refused.stderr, /retentionDays/, days);
  }
  const back = await ctlJson(dir.path, [
    "fleets",
    "retention",
    "--days",
    "forever",
    String(fleet.id),
  ]);
  assert.equal(back.retentionDays, null);
});

Deno.test("ctl vehicles add prints an enrolment code the running server accepts", async () => {
  await using dir = await dataDir();
  await using server = await startServer({ DATA_DIR: dir.path });
  const fleet = await ctlJson(dir.path, ["fleets", "add", "Acme"]);

  const added = await ctl(dir.path, ["vehicles", "add", "--fleet", String(fleet.id), "bus-1"]);
  assert.equal(added.code, 0, added.stderr);
  const vehicleId = added.stdout.match(/Registered vehicle "bus-1" \((veh_\w+)\)/)?.[1];
  const code = added.stdout.match(/^Enrolment code \(shown once\): (MCE-[A-Z0-9-]+)$/m)?.[1];
  assert.ok(vehicleId && code, added.stdout);

  const { publicKey } = await generateKeyPair("ES256");
  const { kty, crv, x, y } = await exportJWK(publicKey);
  const response = await fetch(`${server.url}/api/v1/device/enrol`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code, publicKey: { kty, crv, x, y } }),
  });
  const enrolled = await response.json();
  assert.equal(response.status, 201, JSON.stringify(enrolled));
  assert.equal(enrolled.vehicleId, vehicleId);

  const { credentials } = await ctlJson<{ credentials: Array<Record<string, unknown>> }>(
    dir.path,
    ["vehicles", "credentials", "--fleet", String(fleet.id), vehicleId],
  );
  assert.deepEqual(credentials.map((c) => [c.id, c.state]), [[enrolled.credentialId, "active"]]);
});

Deno.test("ctl users add takes a password from stdin or generates one, and both sign in", async () => {
  await using dir = await dataDir();
  const fleet = await ctlJson(dir.path, ["fleets", "add", "Acme"]);
  const operator = await ctlJson(dir.path, [
    "users",
    "add",
    "--email",
    "Ola@Acme.test",
    "--role",
    "operator",
    "--fleet",
    String(fleet.id),
    "--password-stdin",
  ], { stdin: "operator-password-1\nnot this line\n" });
  assert.deepEqual(
    { ...(operator.user as object), id: undefined, createdAt: undefined },
    {
      id: undefined,
      email: "ola@acme.test",
      role: "operator",
      fleetId: fleet.id,
      disabled: false,
      createdAt: undefined,
    },
  );
  assert.equal(operator.password, null);

  const owner = await ctl(dir.path, ["users", "add", "--email", "boss@acme.test", "--owner"]);
  assert.equal(owner.code, 0, owner.stderr);
  const generated = owner.stdout.match(/^Password \(shown once\): (\S+)$/m)?.[1];
  assert.ok(generated && generated.length >= 16, owner.stdout);

  await using platform = await platformOn(dir.path);
  assert.equal((await login(platform, "ola@acme.test", "operator-password-1")).status, 200);
  assert.equal((await login(platform, "boss@acme.test", generated)).status, 200);
  assert.equal((await login(platform, "ola@acme.test", "not this line")).status, 401);
});

Deno.test("ctl keys rotate activates a new signing key that the server signs with", async () => {
  await using dir = await dataDir();
  type Keys = { keys: Array<{ kid: string; active: boolean; retiredAt: string | null }> };
  const before = await ctlJson<Keys>(dir.path, ["keys", "list"]);
  assert.equal(before.keys.length, 1);
  const first = before.keys[0].kid;

  const rotated = await ctlJson(dir.path, ["keys", "rotate"]);
  assert.equal(rotated.retired, first);
  assert.notEqual(rotated.kid, first);

  const after = await ctlJson<Keys>(dir.path, ["keys", "list"]);
  assert.deepEqual(
    after.keys.map((k) => [k.kid, k.active, k.retiredAt !== null]).sort(),
    [[first, false, true], [rotated.kid, true, false]].sort(),
  );

  await using platform = await platformOn(dir.path, {
    MOTORCADE_ADMIN_EMAIL: "boss@acme.test",
    MOTORCADE_ADMIN_PASSWORD: "owner-password-1",
  });
  const response = await login(platform, "boss@acme.test", "owner-password-1");
  assert.equal(response.status, 200);
  assert.equal(decodeProtectedHeader((await response.json()).accessToken).kid, rotated.kid);
});

Deno.test("ctl rejects a wrong command line with exit code 2 and the usage line", async () => {
  await using dir = await dataDir();
  const [unknownCommand, unknownVerb, missingArgument, missingFlag, unknownFlag] = await Promise
    .all([
      ctl(dir.path, ["lorries", "list"]),
      ctl(dir.path, ["fleets", "frobnicate"]),
      ctl(dir.path, ["fleets", "rename", GHOST_FLEET]),
      ctl(dir.path, ["vehicles", "list"]),
      ctl(dir.path, ["fleets", "list", "--colour"]),
    ]);
  assertFailed(
    unknownCommand,
    2,
    /error: Unknown command "lorries": expected fleets, .* or config/,
  );
  assertFailed(unknownCommand, 2, "usage: deno task ctl <command>");
  assertFailed(
    unknownVerb,
    2,
    'Unknown verb "fleets frobnicate": expected list, add, rename, retention or remove',
  );
  assertFailed(unknownVerb, 2, "usage: deno task ctl fleets list [--json]\n");
  assertFailed(missingArgument, 2, "error: Missing argument <name>\n");
  assertFailed(missingArgument, 2, "usage: deno task ctl fleets rename <fleetId> <name> [--json]");
  assertFailed(missingFlag, 2, "error: Missing flag --fleet ID\n");
  assertFailed(unknownFlag, 2, 'error: Unknown flag "--colour"\n');
  assertFailed(unknownFlag, 2, "usage: deno task ctl fleets list [--json]");
});

Deno.test("ctl reports refused changes with exit code 1, as text or a JSON problem", async () => {
  await using dir = await dataDir();
  const fleet = await ctlJson(dir.path, ["fleets", "add", "Acme"]);
  const [duplicate, unknownFleet, invalidRole, asJson] = await Promise.all([
    ctl(dir.path, ["fleets", "add", "Acme"]),
    ctl(dir.path, ["vehicles", "list", "--fleet", GHOST_FLEET]),
    ctl(dir.path, [
      "users",
      "add",
      "--email",
      "cap@acme.test",
      "--role",
      "captain",
      "--fleet",
      String(fleet.id),
      "--password-stdin",
    ], { stdin: "captain-password\n" }),
    ctl(dir.path, ["fleets", "remove", GHOST_FLEET, "--json"]),
  ]);
  assertFailed(duplicate, 1, 'error: A fleet named "Acme" already exists\n');
  assertFailed(unknownFleet, 1, `error: Fleet "${GHOST_FLEET}" not found\n`);
  assertFailed(invalidRole, 1, /^error: Field "role": .*"admin"\|"operator"\|"viewer"\n$/);
  assertFailed(asJson, 1, "");
  assert.deepEqual(JSON.parse(asJson.stderr), {
    code: "not_found",
    message: `Fleet "${GHOST_FLEET}" not found`,
  });
  assert.deepEqual((await ctlJson(dir.path, ["users", "list"])).users, []);
});

Deno.test("ctl config masks secrets, and a bad configuration exits with code 3", async () => {
  await using dir = await dataDir();
  const shown = await ctl(dir.path, ["config", "--json"], {
    env: {
      PORT: "9090",
      METRICS_TOKEN: "s3cret-metrics-token",
      TURN_URLS: "turn:turn.example.com:3478",
      TURN_SECRET: "s3cret-turn",
    },
  });
  assert.equal(shown.code, 0, shown.stderr);
  assert.ok(!shown.stdout.includes("s3cret"));
  const variables = new Map<string, { value: string | null; source: string }>(
    JSON.parse(shown.stdout).variables.map((v: { name: string }) => [v.name, v]),
  );
  assert.deepEqual(variables.get("PORT"), {
    ...variables.get("PORT"),
    value: "9090",
    source: "env",
  });
  assert.equal(variables.get("METRICS_TOKEN")?.value, "********");
  assert.equal(variables.get("CATALOG_URL")?.value, `sqlite:${dir.path}/catalog.db`);
  assert.equal(variables.get("TLS_CERT_FILE")?.value, null);

  const bad = await ctl(dir.path, ["fleets", "list"], { env: { PORT: "abc" } });
  assertFailed(
    bad,
    3,
    'error: Invalid configuration:\n  - PORT must be an integer from 0 to 65535, got "abc"\n',
  );
});

Deno.test("ctl prints help at every level", async () => {
  await using dir = await dataDir();
  const [root, group, command] = await Promise.all([
    ctl(dir.path, ["--help"]),
    ctl(dir.path, ["vehicles", "--help"]),
    ctl(dir.path, ["vehicles", "revoke", "-h"]),
  ]);
  for (const result of [root, group, command]) assert.equal(result.code, 0, result.stderr);
  assert.match(root.stdout, /^ {2}cameras +Cameras of a vehicle$/m);
  assert.match(group.stdout, /deno task ctl vehicles add --fleet ID <name> \[--json\]/);
  assert.match(
    command.stdout,
    /usage: deno task ctl vehicles revoke --fleet ID <vehicleId> <credentialId> \[--json\]/,
  );
  assert.match(command.stdout, /--fleet ID +The fleet the vehicle belongs to \(required\)/);
});

Deno.test("ctl refuses to disable or remove the last enabled owner", async () => {
  await using dir = await dataDir();
  const added = await ctlJson<{ user: { id: string } }>(dir.path, [
    "users",
    "add",
    "--email",
    "root@example.com",
    "--owner",
  ]);
  const ownerId = added.user.id;
  assertFailed(await ctl(dir.path, ["users", "disable", ownerId]), 1, /last enabled owner/);
  assertFailed(await ctl(dir.path, ["users", "remove", ownerId]), 1, /last enabled owner/);

  await ctlJson(dir.path, ["users", "add", "--email", "two@example.com", "--owner"]);
  assert.equal((await ctl(dir.path, ["users", "disable", ownerId])).code, 0);
});
