import assert from "node:assert/strict";
import { parseBusUrl, parseConfig } from "../../lib/config/mod.ts";

Deno.test("BUS_URL names the embedded log or Kafka brokers with topic settings", () => {
  assert.deepEqual(parseBusUrl("log:/var/bus"), { kind: "log", dir: "/var/bus" });
  assert.deepEqual(
    parseBusUrl(
      "kafka://k1:9093,k2?topicPrefix=fleet.&partitions=24&replication=3&attempts=2&tls=1",
    ),
    {
      kind: "kafka",
      brokers: ["k1:9093", "k2:9092"],
      topicPrefix: "fleet.",
      partitions: 24,
      replication: 3,
      attempts: 2,
      publishTimeoutMs: 20_000,
      clientId: "motorcade",
      tls: true,
      sasl: undefined,
    },
  );
  const defaults = parseBusUrl("kafka://127.0.0.1:9092");
  assert.equal(defaults.kind === "kafka" && defaults.replication, -1);
  assert.equal(defaults.kind === "kafka" && defaults.partitions, 12);
});

Deno.test("BUS_URL that is bad fails at start naming the variable and what is wrong", () => {
  const problem = (url: string, env: Record<string, string> = {}) => {
    try {
      parseConfig({ BUS_URL: url, ...env });
    } catch (error) {
      return (error as Error).message;
    }
    return "";
  };
  assert.match(problem("redis://x"), /BUS_URL must be "log:<dir>" or "kafka:\/\/host:port/);
  assert.match(problem("kafka://k1:99999"), /BUS_URL names an invalid broker "k1:99999"/);
  assert.match(problem("kafka://k1?partition=3"), /BUS_URL has unknown parameter "partition"/);
  assert.match(problem("kafka://k1?partitions=0"), /BUS_URL has partitions "0": use an integer/);
  assert.match(problem("kafka://k1?replication=0"), /BUS_URL has replication "0"/);
  assert.match(problem("kafka://k1?timeout=soon"), /BUS_URL has timeout "soon"/);
  assert.match(problem("kafka://k1?topicPrefix=a/b"), /BUS_URL has topicPrefix "a\/b"/);
  const withSecret = problem("kafka://me:s3cret@k1");
  assert.match(withSecret, /BUS_URL must not hold credentials: set KAFKA_SASL_MECHANISM/);
  assert.doesNotMatch(withSecret, /s3cret/);
  assert.match(
    problem("kafka://k1", { KAFKA_SASL_MECHANISM: "scram-sha-256", KAFKA_SASL_USERNAME: "me" }),
    /BUS_URL needs both KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/,
  );
  assert.match(
    problem("kafka://k1", { KAFKA_SASL_MECHANISM: "gssapi" }),
    /cannot use KAFKA_SASL_MECHANISM "gssapi"/,
  );
});

Deno.test("Kafka SASL credentials come from the environment and stay out of the error text", () => {
  const config = parseConfig({
    BUS_URL: "kafka://k1:9092?tls=1",
    KAFKA_SASL_MECHANISM: "SCRAM-SHA-512",
    KAFKA_SASL_USERNAME: "motorcade",
    KAFKA_SASL_PASSWORD: "p4ss",
  });
  assert.deepEqual(config.bus.kind === "kafka" && config.bus.sasl, {
    mechanism: "scram-sha-512",
    username: "motorcade",
    password: "p4ss",
  });
  try {
    parseConfig({ BUS_URL: "kafka://k1", KAFKA_SASL_PASSWORD: "p4ss" });
    assert.fail("accepted a password without a mechanism");
  } catch (error) {
    assert.doesNotMatch((error as Error).message, /p4ss/);
  }
});
