import { createHash, createHmac } from "node:crypto";
import { S3Client } from "@aws-sdk/client-s3";
import type { StorageTarget } from "../config/mod.ts";
import type { CameraMedia, MediaDelivery } from "./media_delivery.ts";

const HOUR = 3_600_000;
/** Longest lifetime SigV4 query authentication allows, in seconds. */
const MAX_EXPIRES_S = 7 * 24 * 3_600;

/** Credentials a URL is signed with (the AWS chain's, resolved once per playlist). */
export interface S3SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/**
 * Segment URLs that are S3 presigned GETs (SigV4 query authentication, as
 * `@aws-sdk/s3-request-presigner` writes them, byte for byte), so players fetch segment bytes
 * from the bucket itself. Each URL is signed at the hour before now (`X-Amz-Date`) and expires at
 * the playlist's expiry, so a playlist written again within the hour is byte-identical.
 * Credentials and region come from the AWS chain through the SDK; the signing itself is
 * synchronous (HMAC-SHA256 with node:crypto, the signing key derived once a day): the SDK's
 * presigner costs ~1.4 ms a URL here, ~60 s for a day's 43,200 segments.
 */
export class S3PresignedDelivery implements MediaDelivery {
  readonly mode = "s3";
  readonly #client: S3Client;
  readonly #target: Extract<StorageTarget, { kind: "s3" }>;
  #key?: { scope: string; secret: string; key: Buffer };

  constructor(
    target: Extract<StorageTarget, { kind: "s3" }>,
    credentials?: S3SigningCredentials,
  ) {
    this.#target = target;
    // Only its configuration is used: region and credentials from the AWS chain, as the store's.
    this.#client = new S3Client({
      endpoint: target.endpoint,
      region: target.region ?? (target.endpoint ? "us-east-1" : undefined),
      forcePathStyle: target.forcePathStyle,
      credentials,
    });
  }

  /** The hour the URLs signed now carry as their date: a playlist's cache key names it. */
  epoch(nowMs: number): string {
    return String(signingHour(nowMs));
  }

  async camera(_cameraKey: string, expiresAtMs: number, nowMs: number): Promise<CameraMedia> {
    const credentials = await this.#client.config.credentials();
    const region = await this.#client.config.region();
    const signedAt = signingHour(nowMs);
    const expires = Math.round((expiresAtMs - signedAt) / 1000);
    if (expires <= 0 || expires > MAX_EXPIRES_S) {
      throw new RangeError(
        `Cannot presign a URL for ${expires} s: S3 allows 1 s to ${MAX_EXPIRES_S} s`,
      );
    }
    const signer = this.signer(credentials, region, signedAt, expires);
    return { object: signer, template: undefined };
  }

  /** Signs object keys (without STORAGE_URL's prefix) as of `signedAt`, valid `expires` s. */
  signer(
    credentials: S3SigningCredentials,
    region: string,
    signedAtMs: number,
    expires: number,
  ): (key: string) => string {
    const { endpoint, bucket, forcePathStyle, prefix } = this.#target;
    const base = new URL(
      endpoint ??
        (region === "us-east-1"
          ? "https://s3.amazonaws.com"
          : `https://s3.${region}.amazonaws.com`),
    );
    const pathStyle = forcePathStyle || bucket.includes(".");
    const host = pathStyle ? base.host : `${bucket}.${base.host}`;
    const origin = `${base.protocol}//${host}`;
    const root = pathStyle ? `/${uriEncode(bucket)}/` : "/";
    const amzDate = new Date(signedAtMs).toISOString().replace(/[-:]|\.\d{3}/g, "");
    const day = amzDate.slice(0, 8);
    const scope = `${day}/${region}/s3/aws4_request`;
    const key = this.#signingKey(credentials.secretAccessKey, day, region, scope);
    // Sorted by name, as SigV4 wants and as the SDK writes them; the signature goes in its place.
    const before = `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Content-Sha256=UNSIGNED-PAYLOAD` +
      `&X-Amz-Credential=${uriEncode(`${credentials.accessKeyId}/${scope}`)}` +
      `&X-Amz-Date=${amzDate}&X-Amz-Expires=${expires}` +
      (credentials.sessionToken
        ? `&X-Amz-Security-Token=${uriEncode(credentials.sessionToken)}`
        : "");
    const after = "X-Amz-SignedHeaders=host";
    const query = `${before}&${after}`;
    const headers = `host:${host}\n\nhost\nUNSIGNED-PAYLOAD`;
    const stringStart = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n`;
    return (objectKey: string) => {
      const path = root + (prefix + objectKey).split("/").map(uriEncode).join("/");
      const canonical = `GET\n${path}\n${query}\n${headers}`;
      const hash = createHash("sha256").update(canonical).digest("hex");
      const signature = createHmac("sha256", key).update(stringStart + hash).digest("hex");
      return `${origin}${path}?${before}&X-Amz-Signature=${signature}&${after}`;
    };
  }

  #signingKey(secret: string, day: string, region: string, scope: string): Buffer {
    if (this.#key?.scope === scope && this.#key.secret === secret) return this.#key.key;
    const hmac = (key: string | Buffer, data: string) =>
      createHmac("sha256", key).update(data).digest();
    const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), "s3"), "aws4_request");
    this.#key = { scope, secret, key };
    return key;
  }

  close(): void {
    this.#client.destroy();
  }
}

/** The start of the hour `nowMs` is in: the date presigned URLs carry. */
export function signingHour(nowMs: number): number {
  return Math.floor(nowMs / HOUR) * HOUR;
}

/** RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - . _ ~ */
function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}
