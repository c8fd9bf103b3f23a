import type { MediaDeliveryTarget } from "../config/mod.ts";
import { ConfigError } from "../config/mod.ts";
import { CdnSignedDelivery } from "./cdn_signed.ts";
import { S3PresignedDelivery } from "./s3_presigned.ts";

/** URLs of one camera's stored objects outside the server, signed until one expiry. */
export interface CameraMedia {
  /** The URL of a stored object, by its object key. */
  object(key: string): string;
  /**
   * A URL template of a recording's media segments, `number` placed verbatim where the 10-digit
   * sequence goes; undefined when every URL is signed alone (S3 presigned).
   */
  template?: (recordingId: string, number: string, extension: string) => string;
}

/**
 * Delivery of recorded segments from somewhere other than the server: S3 presigned GETs or a CDN
 * with signed URLs. Playlists stay on the server; see README "Delivery" for what else does.
 */
export interface MediaDelivery {
  readonly mode: "s3" | "cdn";
  /**
   * Signs a camera's objects (those under `cameraKey`, `fleets/…/cameras/<id>/`) until
   * `expiresAtMs`, as of `nowMs`.
   */
  camera(cameraKey: string, expiresAtMs: number, nowMs: number): Promise<CameraMedia>;
  /** Names what, besides the expiry, the signatures of URLs signed at `nowMs` depend on. */
  epoch(nowMs: number): string;
  close(): void;
}

/**
 * The delivery `MEDIA_DELIVERY` names; undefined for `server`. Reads the CDN's private key;
 * a key that cannot be read or is not an RSA private key is a ConfigError naming the variable
 * (never the key).
 */
export async function openMediaDelivery(
  target: MediaDeliveryTarget,
): Promise<MediaDelivery | undefined> {
  if (target.kind === "server") return undefined;
  if (target.kind === "s3") return new S3PresignedDelivery(target.storage);
  let privateKey: string;
  try {
    privateKey = await Deno.readTextFile(target.privateKeyFile);
  } catch (error) {
    throw new ConfigError([
      `CDN_PRIVATE_KEY_FILE cannot be read ("${target.privateKeyFile}"): ${(error as Error).name}`,
    ]);
  }
  try {
    return new CdnSignedDelivery({ ...target, privateKey });
  } catch {
    throw new ConfigError([
      `CDN_PRIVATE_KEY_FILE "${target.privateKeyFile}" is not a PEM RSA private key`,
    ]);
  }
}
