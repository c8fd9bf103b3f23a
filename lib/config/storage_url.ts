/** The object store named by `STORAGE_URL`: a folder (embedded) or an S3 bucket. */
import { parseDuration } from "./duration.ts";

/** Where segment bytes live, parsed from `STORAGE_URL`. */
export type StorageTarget =
  | { kind: "file"; dir: string }
  | {
    kind: "s3";
    bucket: string;
    /** S3-compatible server, e.g. `http://127.0.0.1:7070`; undefined: AWS's own endpoint. */
    endpoint?: string;
    /** Undefined: from the AWS chain (`AWS_REGION`, profile), else `us-east-1`. */
    region?: string;
    /** Path-style URLs (`endpoint/bucket/key`), which most S3-compatible servers need. */
    forcePathStyle: boolean;
    /** Prepended to every object key (a folder in a shared bucket), e.g. `motorcade/`. */
    prefix: string;
    /** Longest wait for a request to S3 to make progress before it is failed. */
    timeoutMs: number;
    /** Attempts of one request to S3 (retries are bounded and back off). */
    attempts: number;
  };

const S3_PARAMETERS = ["endpoint", "region", "forcePathStyle", "prefix", "timeout", "attempts"];

/**
 * Parses a `STORAGE_URL`: `file:<dir>` or
 * `s3://<bucket>?endpoint=…&region=…&forcePathStyle=1&prefix=…&timeout=30s&attempts=3`.
 * Credentials never go in the URL (they come from the AWS chain): a URL with a user or password
 * is refused without being repeated. Throws TypeError naming what is wrong.
 *
 * @example parseStorageUrl("s3://videos?endpoint=http://127.0.0.1:7070&forcePathStyle=1")
 */
export function parseStorageUrl(raw: string): StorageTarget {
  if (/^file:.+/.test(raw)) return { kind: "file", dir: raw.slice("file:".length) };
  if (!raw.startsWith("s3://")) {
    throw new TypeError(
      `must be "file:<dir>" or "s3://<bucket>?endpoint=…&region=…", got "${raw.split("?")[0]}"`,
    );
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TypeError("is not a valid s3:// URL");
  }
  if (url.username || url.password) {
    throw new TypeError(
      "must not hold credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) instead",
    );
  }
  const bucket = url.hostname;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || url.port) {
    throw new TypeError(`names an invalid bucket "${url.host}" (3 to 63 of a-z 0-9 . -)`);
  }
  if (url.pathname !== "" && url.pathname !== "/") {
    throw new TypeError(`must not have a path ("${url.pathname}"): use ?prefix= for a folder`);
  }
  const unknown = [...url.searchParams.keys()].filter((name) => !S3_PARAMETERS.includes(name));
  if (unknown.length) {
    throw new TypeError(
      `has unknown parameter "${unknown[0]}" (known: ${S3_PARAMETERS.join(", ")})`,
    );
  }
  const param = (name: string) => url.searchParams.get(name)?.trim() || undefined;
  const endpoint = param("endpoint");
  if (endpoint !== undefined) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(endpoint);
    } catch { /* reported below */ }
    if (!parsed || !/^https?:$/.test(parsed.protocol) || parsed.username || parsed.password) {
      throw new TypeError(`has endpoint "${endpoint}", which is not an http(s) URL`);
    }
  }
  const region = param("region");
  if (region !== undefined && !/^[a-z0-9-]{1,40}$/.test(region)) {
    throw new TypeError(`has region "${region}", which is not a region name`);
  }
  const flag = param("forcePathStyle") ?? "0";
  if (!["0", "1", "true", "false"].includes(flag)) {
    throw new TypeError(`has forcePathStyle "${flag}": use 1 or 0`);
  }
  const prefix = param("prefix") ?? "";
  if (prefix && !/^([A-Za-z0-9._-]+\/)+$/.test(prefix)) {
    throw new TypeError(`has prefix "${prefix}": use folders of [A-Za-z0-9._-] ending in "/"`);
  }
  const timeout = param("timeout") ?? "30s";
  const timeoutMs = parseDuration(timeout);
  if (timeoutMs === undefined || timeoutMs <= 0) {
    throw new TypeError(`has timeout "${timeout}": use a duration such as "30s"`);
  }
  const attempts = Number(param("attempts") ?? "3");
  if (!Number.isInteger(attempts) || attempts < 1 || attempts > 10) {
    throw new TypeError(`has attempts "${param("attempts")}": use an integer from 1 to 10`);
  }
  return {
    kind: "s3",
    bucket,
    endpoint: endpoint?.replace(/\/+$/, ""),
    region,
    forcePathStyle: flag === "1" || flag === "true",
    prefix,
    timeoutMs,
    attempts,
  };
}
