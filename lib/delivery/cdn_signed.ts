import { createPrivateKey } from "node:crypto";
import { getSignedUrl } from "@aws-sdk/cloudfront-signer";
import type { CameraMedia, MediaDelivery } from "./media_delivery.ts";

/** What {@linkcode CdnSignedDelivery} signs with. */
export interface CdnSigning {
  /** The CDN's URL, no trailing slash; its origin serves object keys as paths (the bucket). */
  baseUrl: string;
  /** Id of the CloudFront public key that checks the signatures. */
  keyPairId: string;
  /** PEM RSA private key. */
  privateKey: string;
  /** STORAGE_URL's prefix on S3: object keys sit under it in the origin. */
  keyPrefix: string;
}

/**
 * Segment URLs on a CDN (CloudFront) with signed URLs. A canned policy names one exact URL, so
 * it cannot cover a camera's segments; this signs one custom policy per camera whose resource is
 * the camera's prefix with a wildcard (`https://cdn/…/cameras/<id>/*`) and whose only condition
 * is the playlist's expiry. Every URL of the camera carries the same query (`Policy`,
 * `Signature`, `Key-Pair-Id`), and RSA-SHA1 (PKCS #1 v1.5) signatures are deterministic, so the
 * playlist is byte-identical until its expiry hour, and a CDN that leaves the query out of its
 * cache key caches each segment once for every viewer.
 */
export class CdnSignedDelivery implements MediaDelivery {
  readonly mode = "cdn";
  readonly #signing: CdnSigning;

  constructor(signing: CdnSigning) {
    // Checked now rather than at the first playlist.
    if (createPrivateKey(signing.privateKey).asymmetricKeyType !== "rsa") {
      throw new TypeError("Cannot sign CDN URLs: the private key is not an RSA key");
    }
    this.#signing = signing;
  }

  /** Policies depend only on the expiry, which the playlist's cache key already names. */
  epoch(_nowMs: number): string {
    return "";
  }

  camera(cameraKey: string, expiresAtMs: number, _nowMs?: number): Promise<CameraMedia> {
    const { baseUrl, keyPairId, privateKey, keyPrefix } = this.#signing;
    const root = `${baseUrl}/${keyPrefix}`;
    const resource = `${root}${cameraKey}*`;
    const policy = JSON.stringify({
      Statement: [{
        Resource: resource,
        Condition: { DateLessThan: { "AWS:EpochTime": Math.floor(expiresAtMs / 1000) } },
      }],
    });
    const signed = getSignedUrl({ url: resource, keyPairId, privateKey, policy });
    const query = signed.slice(signed.indexOf("?") + 1);
    const object = (key: string) => `${root}${key}?${query}`;
    return Promise.resolve({
      object,
      template: (recordingId, number, extension) =>
        object(`${cameraKey}${recordingId}/${number}.${extension}`),
    });
  }

  close(): void {}
}
