import assert from "node:assert/strict";
import { ConfigError, loadConfig, parseConfig, parseDuration } from "../../lib/config/mod.ts";

Deno.test("config has working defaults with an empty environment", () => {
  const config = parseConfig({});
  assert.equal(config.port, 8080);
  assert.equal(config.dataDir, "./data");
  assert.equal(config.catalogUrl, "sqlite:./data/catalog.db");
  assert.equal(config.publicUrl, "http://localhost:8080");
  assert.equal(config.accessTokenTtlMs, 5 * 60_000);
  assert.equal(config.tls, undefined);
  assert.equal(config.admin, undefined);
});

Deno.test("config collects every problem and names the variable and value", () => {
  const error = (() => {
    try {
      parseConfig({
        PORT: "70000",
        PUBLIC_URL: "ftp://x",
        TRUST_PROXY: "maybe",
        MOTORCADE_ADMIN_EMAIL: "root@example.com",
        CATALOG_URL: "mysql://db",
      });
    } catch (e) {
      return e;
    }
  })();
  assert.ok(error instanceof ConfigError);
  assert.deepEqual(error.problems, [
    'PORT must be an integer from 0 to 65535, got "70000"',
    'PUBLIC_URL must be an absolute http(s) URL, got "ftp://x"',
    'CATALOG_URL must be "sqlite:<file>" or "postgres://user@host:port/database", got "mysql://db"',
    "MOTORCADE_ADMIN_EMAIL and MOTORCADE_ADMIN_PASSWORD must be set together",
    'TRUST_PROXY must be true, false or a number of proxies from 1 to 10, got "maybe"',
  ]);
});

Deno.test("config rejects a short admin password and a rotation shorter than token life", () => {
  assert.throws(
    () =>
      parseConfig({
        MOTORCADE_ADMIN_EMAIL: "a@b.c",
        MOTORCADE_ADMIN_PASSWORD: "short",
        SIGNING_KEY_ROTATION: "1m",
      }),
    (e: ConfigError) =>
      e.problems.includes("MOTORCADE_ADMIN_PASSWORD must be at least 8 characters") &&
      e.problems.includes("SIGNING_KEY_ROTATION must be longer than ACCESS_TOKEN_TTL"),
  );
});

Deno.test("config file supplies values, the environment wins, unknown keys are refused", async () => {
  const file = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(file, JSON.stringify({ PORT: 9000, LOG_LEVEL: "debug" }));
    const config = loadConfig({ MOTORCADE_CONFIG: file, LOG_LEVEL: "warn" });
    assert.equal(config.port, 9000);
    assert.equal(config.logLevel, "warn");

    await Deno.writeTextFile(file, JSON.stringify({ PROT: 9000 }));
    assert.throws(() => loadConfig({ MOTORCADE_CONFIG: file }), /"PROT" in .* is not a known/);
    await Deno.writeTextFile(file, "{ nope");
    assert.throws(() => loadConfig({ MOTORCADE_CONFIG: file }), /is not valid JSON/);
    assert.throws(
      () => loadConfig({ MOTORCADE_CONFIG: file + ".missing" }),
      /cannot be read/,
    );
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("durations accept bare seconds and unit suffixes", () => {
  assert.equal(parseDuration("90"), 90_000);
  assert.equal(parseDuration("15m"), 900_000);
  assert.equal(parseDuration("1.5h"), 5_400_000);
  assert.equal(parseDuration("30d"), 2_592_000_000);
  assert.equal(parseDuration("250ms"), 250);
  assert.equal(parseDuration("soon"), undefined);
  assert.equal(parseDuration("-5s"), undefined);
});

Deno.test("a config file may set every variable the server reads", async () => {
  const { CONFIG_VARIABLES } = await import("../../lib/config/mod.ts");
  const file = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(
      file,
      JSON.stringify({ STORAGE_URL: "file:/tmp/objects", MEDIA_URL_TTL: "2h", GAP_TOLERANCE: 0 }),
    );
    const config = loadConfig({ MOTORCADE_CONFIG: file });
    assert.equal(config.storageUrl, "file:/tmp/objects");
    assert.equal(config.mediaUrlTtlMs, 7_200_000);
    assert.equal(config.gapToleranceMs, 0);
    for (const name of ["STORAGE_URL", "BUS_URL", "MEDIA_BASE_URL", "SEGMENT_MAX_BYTES"]) {
      assert.ok(CONFIG_VARIABLES.some((v) => v.name === name), name);
    }
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("live configuration: defaults, and every bad value named", () => {
  const live = parseConfig({}).live!;
  assert.equal(live.janusUrl, undefined);
  assert.equal(live.ladder, "auto");
  assert.deepEqual(live.janusRtpPortRange, [20_000, 40_000]);
  assert.equal(parseConfig({ LIVE: "off" }).live, null);
  assert.equal(parseConfig({ LIVE_LADDER: "off" }).live!.ladder, null);
  assert.equal(
    parseConfig({ TURN_URLS: "turn:t.example:3478", TURN_SECRET: "x" }).live!.turnUrls[0],
    "turn:t.example:3478",
  );
  const error = (() => {
    try {
      parseConfig({
        JANUS_URL: "http://janus:8188",
        JANUS_RTP_PORT_RANGE: "40000-20000",
        LIVE_LADDER: "720p,1080p",
        TURN_URLS: "http://not-turn",
        STUN_URLS: "stun:ok.example,bad",
      });
    } catch (e) {
      return e;
    }
  })();
  assert.ok(error instanceof ConfigError);
  const text = error.problems.join("\n");
  assert.match(text, /JANUS_URL must be a ws:\/\/ or wss:\/\/ URL, got "http:\/\/janus:8188"/);
  assert.match(text, /JANUS_URL needs JANUS_ADMIN_URL, JANUS_API_SECRET and JANUS_ADMIN_SECRET/);
  assert.match(text, /JANUS_RTP_PORT_RANGE must be "min-max".*"40000-20000"/);
  assert.match(text, /LIVE_LADDER must be auto, off or three rungs.*"720p,1080p"/);
  assert.match(text, /TURN_URLS has an invalid URL "http:\/\/not-turn"/);
  assert.match(text, /TURN_URLS needs TURN_SECRET/);
  assert.match(text, /STUN_URLS has an invalid URL "bad"/);
});
