/** Where players fetch segment bytes from, parsed from `MEDIA_DELIVERY` and `CDN_*`. */
import { parseStorageUrl, type StorageTarget } from "./storage_url.ts";

/** Longest lifetime of an S3 presigned URL (SigV4 query authentication): 7 days. */
export const PRESIGNED_MAX_MS = 7 * 24 * 3_600_000;
/**
 * Longest `MEDIA_URL_TTL` with S3 delivery: a presigned URL is signed at the hour before now and
 * expires at the hour after now + TTL, so it lives up to TTL + 2 hours, and must stay under 7 days.
 */
export const PRESIGNED_MAX_TTL_MS = PRESIGNED_MAX_MS - 2 * 3_600_000;

/** Where playlists point segment URLs (`MEDIA_DELIVERY`). */
export type MediaDeliveryTarget =
  | { kind: "server" }
  | { kind: "s3"; storage: Extract<StorageTarget, { kind: "s3" }> }
  | {
    kind: "cdn";
    /** `CDN_BASE_URL`, no trailing slash: the CDN whose origin serves object keys as paths. */
    baseUrl: string;
    /** `CDN_KEY_PAIR_ID`: the CloudFront public key's id. */
    keyPairId: string;
    /** `CDN_PRIVATE_KEY_FILE`: PEM RSA private key (read at start, never logged). */
    privateKeyFile: string;
    /** STORAGE_URL's `prefix` on S3 (object keys are under it in the origin), else "". */
    keyPrefix: string;
  };

/**
 * Reads `MEDIA_DELIVERY` (`server`, `s3` or `cdn`) and, for `cdn`, `CDN_BASE_URL`,
 * `CDN_KEY_PAIR_ID` and `CDN_PRIVATE_KEY_FILE`; every problem is pushed to `problems`, naming
 * the variable.
 *
 * @example parseMediaDelivery({ MEDIA_DELIVERY: "s3" }, "s3://videos?region=eu-west-1", 6 * 3_600_000, [])
 */
export function parseMediaDelivery(
  get: (name: string) => string | undefined,
  storageUrl: string,
  mediaUrlTtlMs: number,
  problems: string[],
): MediaDeliveryTarget {
  const mode = get("MEDIA_DELIVERY") ?? "server";
  let storage: StorageTarget | undefined;
  try {
    storage = parseStorageUrl(storageUrl);
  } catch { /* STORAGE_URL's own problem is reported where it is parsed */ }
  if (mode === "server") return { kind: "server" };
  if (mode === "s3") {
    if (storage?.kind !== "s3") {
      problems.push(
        'MEDIA_DELIVERY is "s3", which needs the object store on S3 (STORAGE_URL=s3://…)',
      );
      return { kind: "server" };
    }
    if (mediaUrlTtlMs > PRESIGNED_MAX_TTL_MS) {
      problems.push(
        `MEDIA_URL_TTL must be at most ${
          PRESIGNED_MAX_TTL_MS / 3_600_000
        }h with MEDIA_DELIVERY "s3": S3 presigned URLs live 7 days at most`,
      );
    }
    return { kind: "s3", storage };
  }
  if (mode === "cdn") {
    const missing = ["CDN_BASE_URL", "CDN_KEY_PAIR_ID", "CDN_PRIVATE_KEY_FILE"].filter((name) =>
      get(name) === undefined
    );
    if (missing.length) {
      problems.push(`MEDIA_DELIVERY is "cdn", which needs ${missing.join(", ")}`);
      return { kind: "server" };
    }
    const raw = get("CDN_BASE_URL")!;
    let baseUrl: URL | undefined;
    try {
      baseUrl = new URL(raw);
    } catch { /* reported below */ }
    if (
      !baseUrl || !/^https?:$/.test(baseUrl.protocol) || baseUrl.search || baseUrl.hash ||
      baseUrl.username || baseUrl.password
    ) {
      problems.push(`CDN_BASE_URL must be an http(s) URL with no query, got "${raw}"`);
      return { kind: "server" };
    }
    const keyPairId = get("CDN_KEY_PAIR_ID")!;
    if (!/^[A-Z0-9]{1,64}$/.test(keyPairId)) {
      problems.push(
        `CDN_KEY_PAIR_ID must be a CloudFront public key id (A-Z, 0-9), got "${keyPairId}"`,
      );
    }
    return {
      kind: "cdn",
      baseUrl: raw.replace(/\/+$/, ""),
      keyPairId,
      privateKeyFile: get("CDN_PRIVATE_KEY_FILE")!,
      keyPrefix: storage?.kind === "s3" ? storage.prefix : "",
    };
  }
  problems.push(`MEDIA_DELIVERY must be one of server, s3, cdn, got "${mode}"`);
  return { kind: "server" };
}
