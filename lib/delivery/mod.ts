/**
 * Delivery of stored segments: ranges, validators, caching through the server; or, with
 * `MEDIA_DELIVERY`, S3 presigned GETs or a CDN's signed URLs. The server's own signed URLs live
 * in lib/auth.
 *
 * @example
 * const delivery = await openMediaDelivery(config.mediaDelivery); // undefined: the server
 * const media = await delivery?.camera("fleets/f/vehicles/v/cameras/front/", expiresAt, Date.now());
 * media?.object("fleets/f/vehicles/v/cameras/front/r1/0000000001.m4s");
 */
export {
  IMMUTABLE,
  parseRange,
  RangeNotSatisfiableError,
  serveBytes,
  serveObject,
} from "./serve.ts";
export { CdnSignedDelivery, type CdnSigning } from "./cdn_signed.ts";
export { type CameraMedia, type MediaDelivery, openMediaDelivery } from "./media_delivery.ts";
export { S3PresignedDelivery, type S3SigningCredentials, signingHour } from "./s3_presigned.ts";
