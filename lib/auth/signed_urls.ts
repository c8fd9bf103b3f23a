import { createHmac, timingSafeEqual } from "node:crypto";
import { UnauthorizedError } from "../errors/mod.ts";

/** Name of the catalog secret that signs URLs. */
export const URL_SIGNING_SECRET = "url-signing-key";

/**
 * Capability URLs: HMAC-SHA256 signatures with an expiry, so a player (or a CDN) fetches
 * playlists and segments with no token. Two forms:
 * - exact: covers one path and its query (a shared playlist link);
 * - prefix: covers every path under a prefix (all segments of a camera), so a playlist of 43,200
 *   segments costs one signature, not 43,200.
 */
export class UrlSigner {
  readonly #key: Uint8Array;

  constructor(secretBase64: string, private readonly now: () => number = Date.now) {
    this.#key = Uint8Array.from(atob(secretBase64), (c) => c.charCodeAt(0));
    if (this.#key.byteLength < 32) throw new RangeError("URL signing key must be 32 bytes or more");
  }

  /** A new random signing key, base64. */
  static generateSecret(): string {
    return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
  }

  #mac(text: string): string {
    return createHmac("sha256", this.#key).update(text).digest("base64url");
  }

  /** Query parameters (`exp`, `sig`) that authorise every path under `prefix` until `expiresAt`. */
  signPrefix(prefix: string, expiresAt: Date): { exp: string; sig: string } {
    const exp = String(Math.floor(expiresAt.getTime() / 1000));
    return { exp, sig: this.#mac(`prefix\n${prefix}\n${exp}`) };
  }

  /** Checks a prefix signature; throws UnauthorizedError saying why it does not hold. */
  verifyPrefix(prefix: string, exp: string | undefined, sig: string | undefined): void {
    this.#check(`prefix\n${prefix}\n${exp}`, exp, sig);
  }

  /**
   * Signs `path` with its query `params`: returns the query string to append (params, `exp`,
   * `sig`), in a canonical order.
   */
  signExact(path: string, params: Record<string, string>, expiresAt: Date): string {
    const exp = String(Math.floor(expiresAt.getTime() / 1000));
    const query = canonicalQuery({ ...params, exp });
    return `${query}&sig=${this.#mac(`exact\n${path}\n${query}`)}`;
  }

  /** Checks an exact signature over `url`'s path and query (without `sig`). */
  verifyExact(url: URL): void {
    const params: Record<string, string> = {};
    for (const [name, value] of url.searchParams) if (name !== "sig") params[name] = value;
    const query = canonicalQuery(params);
    this.#check(`exact\n${url.pathname}\n${query}`, params.exp, url.searchParams.get("sig") ?? "");
  }

  #check(text: string, exp: string | undefined, sig: string | undefined): void {
    if (!exp || !sig) throw new UnauthorizedError("Signed URL needs exp and sig parameters");
    if (!/^\d{1,12}$/.test(exp)) throw new UnauthorizedError("Signed URL has a malformed exp");
    const expected = new TextEncoder().encode(this.#mac(text));
    const given = new TextEncoder().encode(sig);
    if (given.byteLength !== expected.byteLength || !timingSafeEqual(given, expected)) {
      throw new UnauthorizedError("Signed URL signature is not valid");
    }
    if (Number(exp) * 1000 <= this.now()) throw new UnauthorizedError("Signed URL has expired");
  }
}

function canonicalQuery(params: Record<string, string>): string {
  return Object.keys(params).sort().map((k) =>
    `${encodeURIComponent(k)}=${encodeURIComponent(params[k])}`
  ).join("&");
}
