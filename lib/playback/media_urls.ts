import type { UrlSigner } from "../auth/mod.ts";

const HOUR = 3_600_000;

/**
 * When media URLs signed at `nowMs` for `ttlMs` expire: rounded up to the hour, so the URLs — and
 * the playlists holding them, and CDN cache keys — stay the same between a player's refreshes.
 */
export function mediaUrlExpiry(nowMs: number, ttlMs: number): number {
  return Math.ceil((nowMs + ttlMs) / HOUR) * HOUR;
}

/** The segment sequences of one recording a link's playlist lists; `last` null while it grows. */
export interface SequenceRange {
  first: number;
  last: number | null;
}

/**
 * Signed URLs of one camera's media for the media route (or a CDN in front of it). For a
 * signed-in viewer the camera's prefix is signed once, for all of them; for a link, each
 * recording's prefix (and the slate's, `gap/<encoding>/`) is signed once, naming the link and the
 * recording's sequences in the link's range, so the link's URLs reach only the segments its
 * range touches and end when it is revoked.
 */
export class MediaUrls {
  readonly #prefix: string;
  readonly #base: string;
  readonly #queries = new Map<string, string>();

  constructor(
    private readonly signer: UrlSigner,
    mediaBaseUrl: string,
    camera: { fleetId: string; vehicleId: string; cameraId: string },
    private readonly expiresAtMs: number,
    private readonly link?: string,
    private readonly sequences?: ReadonlyMap<string, SequenceRange>,
  ) {
    this.#prefix =
      `/media/fleets/${camera.fleetId}/vehicles/${camera.vehicleId}/cameras/${camera.cameraId}/`;
    this.#base = mediaBaseUrl + this.#prefix;
  }

  #query(scope: string): string {
    let query = this.#queries.get(scope);
    if (query === undefined) {
      const path = this.#prefix + (scope ? `${scope}/` : "");
      const range = this.sequences?.get(scope);
      const { exp, kid, link, seq, sig } = this.signer.signPrefix(
        path,
        new Date(this.expiresAtMs),
        this.link,
        range && `${range.first}-${range.last ?? ""}`,
      );
      query = `?exp=${exp}&kid=${kid}${link === undefined ? "" : `&link=${link}`}` +
        `${seq === undefined ? "" : `&seq=${seq}`}&sig=${sig}`;
      this.#queries.set(scope, query);
    }
    return query;
  }

  /**
   * The URL of a file of a recording: `init.mp4`, or a segment named as ingest stores it (its
   * sequence in 10 digits, then `.m4s`, or `.ts` for MPEG-TS), the only names the route serves.
   * Slate pieces are files of `gap`, named `<encoding>/…`: a link's signature covers one encoding.
   */
  file(recordingId: string, file: string): string {
    const scope = this.link === undefined
      ? ""
      : recordingId === "gap"
      ? `gap/${file.split("/")[0]}`
      : recordingId;
    return `${this.#base}${recordingId}/${file}${this.#query(scope)}`;
  }
}
