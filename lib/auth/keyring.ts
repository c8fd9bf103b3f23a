import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from "jose";
import { InsufficientStorageError } from "../errors/mod.ts";
import type { Catalog, SigningKey, UrlSigningKey } from "../catalog/mod.ts";

/** How often every process re-reads the keys, so a rotation made elsewhere reaches it. */
export const KEY_RELOAD_INTERVAL_MS = 60_000;

/** Options of a {@linkcode Keyring}. */
export interface KeyringOptions {
  /** Rotate the signing key once it is older than this; 0 never. */
  rotationMs: number;
  /** Longest lifetime of a token signed by any key: retired keys verify this long, then go. */
  maxTokenTtlMs: number;
  now?: () => number;
}

interface LoadedKey {
  record: SigningKey;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

/**
 * The ES256 keys that sign and verify Motorcade's JWTs. Keys live in the catalog, so they survive
 * restarts and are shared by every server process; a rotation adds a key and retires the previous
 * one, which keeps verifying until every token it signed has expired.
 */
export class Keyring {
  #keys = new Map<string, LoadedKey>();
  #active: LoadedKey | undefined;
  #lastReload = 0;
  readonly #now: () => number;

  constructor(private readonly catalog: Catalog, private readonly options: KeyringOptions) {
    this.#now = options.now ?? Date.now;
  }

  /**
   * Loads the keys, creating the first one, rotating an old one and pruning expired ones. Call it
   * every {@linkcode KEY_RELOAD_INTERVAL_MS} to pick up rotations made by other processes.
   */
  async load(): Promise<void> {
    await this.#reload();
    const age = this.#active ? this.#now() - this.#active.record.createdAt.getTime() : Infinity;
    try {
      if (!this.#active || (this.options.rotationMs > 0 && age >= this.options.rotationMs)) {
        await this.rotate();
      }
      await this.prune();
    } catch (error) {
      // On a full disk the current key keeps signing; the next load rotates and prunes.
      if (!(error instanceof InsufficientStorageError) || !this.#active) throw error;
    }
  }

  async #reload(): Promise<void> {
    const records = await this.catalog.signingKeys.list();
    const keys = new Map<string, LoadedKey>();
    for (const record of records) {
      keys.set(record.kid, this.#keys.get(record.kid) ?? await loadKey(record));
    }
    this.#keys = keys;
    this.#active = [...keys.values()].filter((k) => k.record.retiredAt === null).at(-1);
    this.#lastReload = this.#now();
  }

  /** Creates a new signing key and retires the current one; returns the new key id. */
  async rotate(): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
    const publicJwk = { ...await exportJWK(publicKey), alg: "ES256", use: "sig" };
    const kid = await calculateJwkThumbprint(publicJwk);
    const record: SigningKey = {
      kid,
      privateJwk: await exportJWK(privateKey) as JsonWebKey,
      publicJwk: { ...publicJwk, kid } as JsonWebKey,
      createdAt: new Date(this.#now()),
      retiredAt: null,
    };
    await this.catalog.signingKeys.activate(record);
    await this.#reload();
    return kid;
  }

  /**
   * Removes keys retired longer ago than any token they signed can live. A process learns of a
   * rotation only at its next reload, and may sign with the retired key until then, so the grace
   * covers two reload intervals as well.
   */
  async prune(): Promise<void> {
    const cutoff = this.#now() - this.options.maxTokenTtlMs - 2 * KEY_RELOAD_INTERVAL_MS;
    for (const key of this.#keys.values()) {
      if (key.record.retiredAt && key.record.retiredAt.getTime() < cutoff) {
        await this.catalog.signingKeys.delete(key.record.kid);
      }
    }
    await this.#reload();
  }

  /** The key that signs new tokens. */
  signing(): { kid: string; key: CryptoKey } {
    if (!this.#active) throw new Error("Keyring is not loaded");
    return { kid: this.#active.record.kid, key: this.#active.privateKey };
  }

  /**
   * The public key for `kid`, reloading from the catalog (at most every 5 s) when another process
   * rotated to a key this one has not seen.
   */
  async verifying(kid: string | undefined): Promise<CryptoKey | undefined> {
    if (kid === undefined) return undefined;
    let key = this.#keys.get(kid);
    if (!key && this.#now() - this.#lastReload > 5_000) {
      await this.#reload();
      key = this.#keys.get(kid);
    }
    return key?.publicKey;
  }

  /** The public keys as a JWK Set, for `/.well-known/jwks.json`. */
  jwks(): { keys: JWK[] } {
    return { keys: [...this.#keys.values()].map((k) => k.record.publicJwk as JWK) };
  }

  /** Summary for the CLI: kid, creation and retirement. */
  describe(): Array<{ kid: string; createdAt: Date; retiredAt: Date | null; active: boolean }> {
    return [...this.#keys.values()].map((k) => ({
      kid: k.record.kid,
      createdAt: k.record.createdAt,
      retiredAt: k.record.retiredAt,
      active: k === this.#active,
    }));
  }
}

async function loadKey(record: SigningKey): Promise<LoadedKey> {
  return {
    record,
    privateKey: await importJWK(record.privateJwk as JWK, "ES256") as CryptoKey,
    publicKey: await importJWK(record.publicJwk as JWK, "ES256") as CryptoKey,
  };
}

/** How long a URL signing key keeps verifying after a rotation, unless told: the longest link. */
export const URL_KEY_OVERLAP_MS = 30 * 86_400_000;

/** How often URL keys are re-read to pick up a rotation made by another process. */
const URL_KEY_RELOAD_MS = 60_000;

interface LoadedUrlKey {
  record: UrlSigningKey;
  key: Uint8Array;
}

/**
 * The HMAC keys that sign capability URLs (media, playlist links, live-link tokens), kept in the
 * catalog like the JWT keys. Every signed URL names its key (`kid`); a rotation adds a key that
 * signs from then on, and the previous one keeps verifying for an overlap, then goes.
 */
export class UrlKeyring {
  #keys = new Map<string, LoadedUrlKey>();
  #active: LoadedUrlKey | undefined;
  #lastReload = -Infinity;
  #reloading: Promise<void> | undefined;

  constructor(
    private readonly catalog: Catalog,
    private readonly now: () => number = Date.now,
  ) {}

  /** Loads the keys, creating the first from `firstSecret` (base64) when there is none. */
  async load(firstSecret: () => Promise<string>): Promise<void> {
    await this.reload();
    if (this.#active) return;
    await this.catalog.urlSigningKeys.addFirst({
      kid: newKid(),
      secret: await firstSecret(),
      createdAt: new Date(this.now()),
      retiredAt: null,
      verifyUntil: null,
    });
    await this.reload();
  }

  /** Re-reads the keys from the catalog (one read at a time). */
  reload(): Promise<void> {
    this.#reloading ??= (async () => {
      try {
        const keys = new Map<string, LoadedUrlKey>();
        for (const record of await this.catalog.urlSigningKeys.list()) {
          keys.set(record.kid, {
            record,
            key: this.#keys.get(record.kid)?.key ?? decodeBase64(record.secret),
          });
        }
        this.#keys = keys;
        this.#active = [...keys.values()].filter((k) => k.record.retiredAt === null).at(-1);
        this.#lastReload = this.now();
      } finally {
        this.#reloading = undefined;
      }
    })();
    return this.#reloading;
  }

  /**
   * Creates a new key that signs from now on; the current one verifies for `overlapMs` more
   * (0: URLs it signed stop working at once, for a leaked key). Returns the new key id.
   */
  async rotate(overlapMs = URL_KEY_OVERLAP_MS): Promise<string> {
    if (!(overlapMs >= 0)) throw new RangeError("URL key overlap must be 0 or more");
    const now = this.now();
    const kid = newKid();
    await this.catalog.urlSigningKeys.activate({
      kid,
      secret: generateUrlSecret(),
      createdAt: new Date(now),
      retiredAt: null,
      verifyUntil: null,
    }, new Date(now + overlapMs));
    await this.catalog.urlSigningKeys.prune(new Date(now));
    await this.reload();
    return kid;
  }

  /** The key that signs new URLs; a reload is started in the background once a minute. */
  signing(): { kid: string; key: Uint8Array } {
    if (this.now() - this.#lastReload > URL_KEY_RELOAD_MS) this.reload().catch(() => {});
    if (!this.#active) throw new Error("URL keyring is not loaded");
    return { kid: this.#active.record.kid, key: this.#active.key };
  }

  /**
   * The key `kid` names while it may verify; re-reads the keys (at most every 5 s) for a kid this
   * process has not seen, made by a rotation elsewhere.
   */
  verifying(kid: string): Uint8Array | undefined | Promise<Uint8Array | undefined> {
    const known = this.#keys.get(kid);
    if (known || this.now() - this.#lastReload <= 5_000) return this.#usable(known);
    return this.reload().then(() => this.#usable(this.#keys.get(kid)));
  }

  #usable(loaded: LoadedUrlKey | undefined): Uint8Array | undefined {
    const until = loaded?.record.verifyUntil;
    return loaded && (!until || until.getTime() > this.now()) ? loaded.key : undefined;
  }

  /** Summary for the CLI: kid, creation, retirement and end of overlap. */
  describe(): Array<
    {
      kid: string;
      createdAt: Date;
      retiredAt: Date | null;
      verifyUntil: Date | null;
      active: boolean;
    }
  > {
    return [...this.#keys.values()].map(({ record }) => ({
      kid: record.kid,
      createdAt: record.createdAt,
      retiredAt: record.retiredAt,
      verifyUntil: record.verifyUntil,
      active: record.kid === this.#active?.record.kid,
    }));
  }
}

/** A new random URL signing key, base64 (32 bytes). */
export function generateUrlSecret(): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
}

function newKid(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return "u" + btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_");
}

function decodeBase64(text: string): Uint8Array {
  const key = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  if (key.byteLength < 32) throw new RangeError("URL signing key must be 32 bytes or more");
  return key;
}
