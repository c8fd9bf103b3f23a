import type { UrlSigner } from "../auth/mod.ts";

const HOUR = 3_600_000;

/**
 * When media URLs signed at `nowMs` for `ttlMs` expire: rounded up to the hour, so the URLs — and
 * the playlists holding them, and CDN cache keys — stay the same between a player's refreshes.
 */
export function mediaUrlExpiry(nowMs: number, ttlMs: number): number {
  return Math.ceil((nowMs + ttlMs) / HOUR) * HOUR;
}

/**
 * Signed URLs of one camera's media for the media route (or a CDN in front of it): the camera's
 * prefix is signed once, for all of them.
 */
export class MediaUrls {
  readonly #base: string;
  readonly #query: string;

  constructor(
    signer: UrlSigner,
    mediaBaseUrl: string,
    camera: { fleetId: string; vehicleId: string; cameraId: string },
    expiresAtMs: number,
  ) {
    const prefix =
      `/media/fleets/${camera.fleetId}/vehicles/${camera.vehicleId}/cameras/${camera.cameraId}/`;
    const { exp, sig } = signer.signPrefix(prefix, new Date(expiresAtMs));
    this.#base = mediaBaseUrl + prefix;
    this.#query = `?exp=${exp}&sig=${sig}`;
  }

  /**
   * The URL of a file of a recording: `init.mp4`, or a segment named as ingest stores it (its
   * sequence in 10 digits, then `.m4s`, or `.ts` for MPEG-TS), the only names the route serves.
   */
  file(recordingId: string, file: string): string {
    return `${this.#base}${recordingId}/${file}${this.#query}`;
  }
}
