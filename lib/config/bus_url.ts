/** The event bus named by `BUS_URL`: an embedded log (a folder) or Apache Kafka. */
import { parseDuration } from "./duration.ts";

/** SASL mechanisms a Kafka bus can authenticate with. */
export const KAFKA_SASL_MECHANISMS = ["plain", "scram-sha-256", "scram-sha-512"] as const;

/** Where events go, parsed from `BUS_URL` (and, for Kafka, the `KAFKA_SASL_*` variables). */
export type BusTarget =
  | { kind: "log"; dir: string }
  | {
    kind: "kafka";
    /** `host:port` of each bootstrap broker. */
    brokers: string[];
    /** Prepended to every topic name (a namespace on a shared cluster), e.g. `motorcade.`. */
    topicPrefix: string;
    /** Partitions of each topic the bus creates: the most consumers of a group that share work. */
    partitions: number;
    /** Replicas of each topic the bus creates; -1: the brokers' `default.replication.factor`. */
    replication: number;
    /** Attempts of a message whose handler fails with an unknown error before it is dead-lettered. */
    attempts: number;
    /** Longest a publish waits for the brokers (retries included) before it is refused. */
    publishTimeoutMs: number;
    clientId: string;
    /** TLS to the brokers (system trust store). */
    tls: boolean;
    /** From KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD; never logged. */
    sasl?: KafkaSasl;
  };

/** SASL credentials of a Kafka bus. */
export interface KafkaSasl {
  mechanism: typeof KAFKA_SASL_MECHANISMS[number];
  username: string;
  password: string;
}

const KAFKA_PARAMETERS = [
  "topicPrefix",
  "partitions",
  "replication",
  "attempts",
  "timeout",
  "clientId",
  "tls",
];

/**
 * Parses a `BUS_URL`: `log:<dir>` or
 * `kafka://h1:9092,h2:9092?topicPrefix=motorcade.&partitions=12&replication=3&timeout=20s&tls=0`.
 * Kafka credentials come from `env` (`KAFKA_SASL_*`), never from the URL: a URL with a user or
 * password is refused without being repeated. Throws TypeError naming what is wrong.
 *
 * @example parseBusUrl("kafka://127.0.0.1:9092?partitions=6", {})
 */
export function parseBusUrl(
  raw: string,
  env: Record<string, string | undefined> = {},
): BusTarget {
  if (/^log:.+/.test(raw)) return { kind: "log", dir: raw.slice("log:".length) };
  if (!raw.startsWith("kafka://")) {
    throw new TypeError(
      `must be "log:<dir>" or "kafka://host:port,…?topicPrefix=…", got "${raw.split("?")[0]}"`,
    );
  }
  const rest = raw.slice("kafka://".length);
  const [authority, query = ""] = splitOnce(rest, "?");
  const [hosts, path] = splitOnce(authority, "/");
  if (hosts.includes("@")) {
    throw new TypeError(
      "must not hold credentials: set KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD instead",
    );
  }
  if (path) throw new TypeError(`must not have a path ("/${path}"): use ?topicPrefix=`);
  const brokers = hosts.split(",").map((host) => host.trim());
  for (const broker of brokers) {
    const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(broker);
    if (!match || (match[2] !== undefined && (Number(match[2]) < 1 || Number(match[2]) > 65535))) {
      throw new TypeError(`names an invalid broker "${broker}" (host:port, comma-separated)`);
    }
  }
  const params = new URLSearchParams(query);
  const unknown = [...params.keys()].filter((name) => !KAFKA_PARAMETERS.includes(name));
  if (unknown.length) {
    throw new TypeError(
      `has unknown parameter "${unknown[0]}" (known: ${KAFKA_PARAMETERS.join(", ")})`,
    );
  }
  const param = (name: string) => params.get(name)?.trim() || undefined;
  const integer = (name: string, fallback: number, min: number, max: number) => {
    const text = param(name);
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!/^-?\d+$/.test(text) || value < min || value > max) {
      throw new TypeError(`has ${name} "${text}": use an integer from ${min} to ${max}`);
    }
    return value;
  };
  const topicPrefix = param("topicPrefix") ?? "motorcade.";
  if (!/^[A-Za-z0-9._-]{0,100}$/.test(topicPrefix)) {
    throw new TypeError(`has topicPrefix "${topicPrefix}": use up to 100 of A-Z a-z 0-9 . _ -`);
  }
  const replication = integer("replication", -1, -1, 32);
  if (replication === 0) throw new TypeError('has replication "0": use 1 or more (-1: default)');
  const clientId = param("clientId") ?? "motorcade";
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(clientId)) {
    throw new TypeError(`has clientId "${clientId}": use 1 to 100 of A-Z a-z 0-9 . _ -`);
  }
  const timeout = param("timeout") ?? "20s";
  const publishTimeoutMs = parseDuration(timeout);
  if (publishTimeoutMs === undefined || publishTimeoutMs <= 0) {
    throw new TypeError(`has timeout "${timeout}": use a duration such as "20s"`);
  }
  const tls = param("tls") ?? "0";
  if (!["0", "1", "true", "false"].includes(tls)) {
    throw new TypeError(`has tls "${tls}": use 1 or 0`);
  }
  return {
    kind: "kafka",
    brokers: brokers.map((b) => /:\d+$/.test(b) ? b : `${b}:9092`),
    topicPrefix,
    partitions: integer("partitions", 12, 1, 10_000),
    replication,
    attempts: integer("attempts", 5, 1, 100),
    publishTimeoutMs,
    clientId,
    tls: tls === "1" || tls === "true",
    sasl: sasl(env),
  };
}

/** SASL settings from the environment; TypeError when they are incomplete (values not shown). */
function sasl(env: Record<string, string | undefined>): KafkaSasl | undefined {
  const mechanism = env.KAFKA_SASL_MECHANISM?.trim().toLowerCase() || undefined;
  const username = env.KAFKA_SASL_USERNAME || undefined;
  const password = env.KAFKA_SASL_PASSWORD || undefined;
  if (mechanism === undefined) {
    if (username !== undefined || password !== undefined) {
      throw new TypeError(
        `needs KAFKA_SASL_MECHANISM (${
          KAFKA_SASL_MECHANISMS.join(", ")
        }) when KAFKA_SASL_USERNAME or KAFKA_SASL_PASSWORD is set`,
      );
    }
    return undefined;
  }
  if (!(KAFKA_SASL_MECHANISMS as readonly string[]).includes(mechanism)) {
    throw new TypeError(
      `cannot use KAFKA_SASL_MECHANISM "${mechanism}" (known: ${KAFKA_SASL_MECHANISMS.join(", ")})`,
    );
  }
  if (username === undefined || password === undefined) {
    throw new TypeError("needs both KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD with SASL");
  }
  return { mechanism: mechanism as KafkaSasl["mechanism"], username, password };
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}
