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
  /**
   * With a link: the segment sequences under the prefix it covers, `first-last` or `first-` (a
   * recording still growing); absent: every file under the prefix.
   */
  seq?: string;
  sig: string;
}

/** The shape of a link id; anything else in a `link` parameter is refused before use. */
const LINK_ID = /^lnk_[0-9a-z]{20}$/;
/** The shape of a `seq` parameter. */
const SEQUENCES = /^(\d{1,10})-(\d{1,10})?$/;

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
   * handed out by one, and then only the segments `seq` (`first-last`, or `first-`) when given.
   */
  signPrefix(prefix: string, expiresAt: Date, link?: string, seq?: string): PrefixSignature {
    if (seq !== undefined && (link === undefined || !SEQUENCES.test(seq))) {
      throw new RangeError(`Cannot sign sequences "${seq}": a link's "first-last" or "first-"`);
    }
    const { kid, key } = this.keyring.signing();
    const exp = expOf(expiresAt);
    const sig = mac(key, prefixText(prefix, exp, link, seq));
    if (link === undefined) return { exp, kid, sig };
    return seq === undefined ? { exp, kid, link, sig } : { exp, kid, link, seq, sig };
  }

  /** Checks a prefix signature and its link; throws UnauthorizedError saying why it does not hold. */
  verifyPrefix(prefix: string, query: Partial<PrefixSignature>): Promise<void> {
    if (query.seq !== undefined && (query.link === undefined || !SEQUENCES.test(query.seq))) {
      return Promise.reject(new UnauthorizedError("Signed URL has a malformed seq"));
    }
    return this.#check(prefixText(prefix, query.exp ?? "", query.link, query.seq), query);
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
    if (!exp || !sig) throw new UnauthorizedError("Signed URL needs exp and sig parameters");
    // Without a key id no key signed it (URLs from before the URL keyring name none).
    if (!kid) throw new UnauthorizedError("Signed URL signature is not valid");
    if (!/^\d{1,12}$/.test(exp)) throw new UnauthorizedError("Signed URL has a malformed exp");
    if (link !== undefined && !LINK_ID.test(link)) {
      throw new UnauthorizedError("Signed URL has a malformed link");
    }
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

function prefixText(prefix: string, exp: string, link?: string, seq?: string): string {
  return link === undefined
    ? `prefix\n${prefix}\n${exp}`
    : `prefix\n${prefix}\n${exp}\n${link}\n${seq ?? ""}`;
}

/**
 * Whether a `seq` parameter (already verified) covers the media file `file` (`init.mp4`, or a
 * segment named by its sequence); without `seq`, every file does.
 */
export function sequencesCover(seq: string | undefined, file: string): boolean {
  if (seq === undefined || file === "init.mp4") return true;
  const range = SEQUENCES.exec(seq);
  const sequence = Number.parseInt(file, 10);
  if (!range || !Number.isInteger(sequence)) return false;
  return sequence >= Number(range[1]) && (range[2] === undefined || sequence <= Number(range[2]));
}

function mac(key: Uint8Array, text: string): string {
  return createHmac("sha256", key).update(text).digest("base64url");
}

function canonicalQuery(params: Record<string, string>): string {
  return Object.keys(params).sort().map((k) =>
    `${encodeURIComponent(k)}=${encodeURIComponent(params[k])}`
  ).join("&");
}
