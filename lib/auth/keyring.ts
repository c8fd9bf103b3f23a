import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from "jose";
import { InsufficientStorageError } from "../errors/mod.ts";
import type { Catalog, SigningKey } from "../catalog/mod.ts";

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
