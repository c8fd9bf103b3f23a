import { createHmac, timingSafeEqual } from "node:crypto";
import type { Catalog } from "../catalog/mod.ts";
import { UnauthorizedError } from "../errors/mod.ts";
import { generateUrlSecret, UrlKeyring } from "./keyring.ts";
import { Links } from "./links.ts";

/** Name of the catalog secret that became the first URL signing key. */
export const URL_SIGNING_SECRET = "url-signing-key";

/** The query parameters of a prefix signature (see {@linkcode UrlSigner.signPrefix}). */
export interface PrefixSignature {
  exp: string;
  kid: string;
  /** The link the URL was handed out by; absent for a signed-in user's own media URLs. */
  link?: string;
  sig: string;
}

/**
 * Capability URLs: HMAC-SHA256 signatures with an expiry, the key that made them (`kid`) and the
 * link that handed them out (`link`), so a player (or a CDN) fetches playlists and segments with
 * no token, and revoking the link or retiring the key ends them. Three forms:
 * - exact: covers one path and its query (a playlist or clip link);
 * - prefix: covers every path under a prefix (one recording's segments for a link, a camera's for
 *   a signed-in viewer), so a playlist of 43,200 segments costs a signature per recording;
 * - bearer: a prefix signature as a Bearer token `mcs.<exp>.<kid>.<link>.<sig>` (live links).
 */
export class UrlSigner {
  private constructor(
    /** The keys; rotate them here. */
    readonly keyring: UrlKeyring,
    /** The links whose ids signed URLs carry; revoke them here. */
    readonly links: Links,
    private readonly now: () => number,
  ) {}

  /** Loads the URL keys (creating the first) and returns a ready signer. */
  static async open(catalog: Catalog, now: () => number = Date.now): Promise<UrlSigner> {
    const keyring = new UrlKeyring(catalog, now);
    await keyring.load(() => catalog.secrets.getOrCreate(URL_SIGNING_SECRET, generateUrlSecret));
    const links = new Links(catalog, now);
    await links.refresh();
    return new UrlSigner(keyring, links, now);
  }

  /**
   * Query parameters authorising every path under `prefix` until `expiresAt`, for `link` when
   * handed out by one.
   */
  signPrefix(prefix: string, expiresAt: Date, link?: string): PrefixSignature {
    const { kid, key } = this.keyring.signing();
    const exp = expOf(expiresAt);
    const sig = mac(key, prefixText(prefix, exp, link));
    return link === undefined ? { exp, kid, sig } : { exp, kid, link, sig };
  }

  /** Checks a prefix signature and its link; throws UnauthorizedError saying why it does not hold. */
  verifyPrefix(prefix: string, query: Partial<PrefixSignature>): Promise<void> {
    return this.#check(prefixText(prefix, query.exp ?? "", query.link), query);
  }

  /**
   * Signs `path` with its query `params` for `link`: returns the query string to append (params,
   * `exp`, `kid`, `link`, `sig`), in a canonical order.
   */
  signExact(path: string, params: Record<string, string>, expiresAt: Date, link: string): string {
    const { kid, key } = this.keyring.signing();
    const query = canonicalQuery({ ...params, exp: expOf(expiresAt), kid, link });
    return `${query}&sig=${mac(key, `exact\n${path}\n${query}`)}`;
  }

  /** Checks an exact signature over `url`'s path and query (without `sig`), and its link. */
  verifyExact(url: URL): Promise<void> {
    const params: Record<string, string> = {};
    for (const [name, value] of url.searchParams) if (name !== "sig") params[name] = value;
    if (params.link === undefined) {
      return Promise.reject(new UnauthorizedError("Signed URL needs a link parameter"));
    }
    const text = `exact\n${url.pathname}\n${canonicalQuery(params)}`;
    return this.#check(text, { ...params, sig: url.searchParams.get("sig") ?? undefined });
  }

  /** A Bearer token signing `prefix` until `expiresAt` for `link` (a live link). */
  signBearer(prefix: string, expiresAt: Date, link: string): string {
    const { exp, kid, sig } = this.signPrefix(prefix, expiresAt, link);
    return `${exp}.${kid}.${link}.${sig}`;
  }

  /** Checks a token made by {@linkcode signBearer} (without its `mcs.` prefix) for `prefix`. */
  verifyBearer(prefix: string, token: string): Promise<void> {
    const [exp, kid, link, sig, ...rest] = token.split(".");
    if (rest.length > 0 || !link) {
      return Promise.reject(new UnauthorizedError("Link token is malformed"));
    }
    return this.verifyPrefix(prefix, { exp, kid, link, sig });
  }

  async #check(text: string, claims: Partial<PrefixSignature>): Promise<void> {
    const { exp, kid, link, sig } = claims;
    if (!exp || !kid || !sig) {
      throw new UnauthorizedError("Signed URL needs exp, kid and sig parameters");
    }
    if (!/^\d{1,12}$/.test(exp)) throw new UnauthorizedError("Signed URL has a malformed exp");
    const key = await this.keyring.verifying(kid);
    if (!key) throw new UnauthorizedError("Signed URL is signed by an unknown or retired key");
    const expected = new TextEncoder().encode(mac(key, text));
    const given = new TextEncoder().encode(sig);
    if (given.byteLength !== expected.byteLength || !timingSafeEqual(given, expected)) {
      throw new UnauthorizedError("Signed URL signature is not valid");
    }
    if (Number(exp) * 1000 <= this.now()) throw new UnauthorizedError("Signed URL has expired");
    if (link !== undefined) await this.links.check(link);
  }
}

/** Seconds since the epoch, rounded down: a URL never outlives what it was signed for. */
function expOf(expiresAt: Date): string {
  return String(Math.floor(expiresAt.getTime() / 1000));
}

function prefixText(prefix: string, exp: string, link: string | undefined): string {
  return link === undefined ? `prefix\n${prefix}\n${exp}` : `prefix\n${prefix}\n${exp}\n${link}`;
}

function mac(key: Uint8Array, text: string): string {
  return createHmac("sha256", key).update(text).digest("base64url");
}

function canonicalQuery(params: Record<string, string>): string {
  return Object.keys(params).sort().map((k) =>
    `${encodeURIComponent(k)}=${encodeURIComponent(params[k])}`
  ).join("&");
}
