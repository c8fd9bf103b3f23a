import { TooManyRequestsError } from "../errors/mod.ts";

/** Limits of {@linkcode SignInThrottle}. */
export interface SignInLimits {
  /** Failed sign-ins for one account from one client address before back-off. */
  maxAttempts: number;
  /** Failed sign-ins from one client address, over all accounts, before back-off. */
  maxAttemptsPerAddress: number;
  /** Failed sign-ins for one account from all addresses (but those it signed in from) before back-off. */
  maxAttemptsPerAccount: number;
  /** First back-off; it doubles with each further failure. */
  backoffMs: number;
  /** Longest back-off; failures are forgotten after this long without one (and no back-off). */
  maxBackoffMs: number;
}

interface Record {
  failures: number;
  /** Attempts let through whose outcome is not known yet (they count as failures until then). */
  pending: number;
  blockedUntil: number;
  lastFailureAt: number;
}

/** How long an address that signed an account in stays exempt from that account's limit. */
const KNOWN_ADDRESS_MS = 30 * 24 * 3_600_000;
/** Addresses remembered per account. */
const KNOWN_ADDRESSES = 8;
/** Records kept at most; the oldest go first (memory stays bounded under a spray). */
const MAX_RECORDS = 100_000;

/** One sign-in let through: report how it ended. */
export interface SignInAttempt {
  /** The password was right: the account's and the pair's failures are forgotten. */
  succeeded(): void;
  /** The password (or email) was wrong. */
  failed(): void;
  /** Neither (the server could not check): the attempt does not count. */
  abandoned(): void;
}

/**
 * Throttles failed sign-ins with exponential back-off, keyed three ways: an account from one client
 * address (tight: guessing one password from one place), a client address over all accounts
 * (credential stuffing), and an account from every address (a distributed guess). Back-off refuses
 * before any password work is spent, and an attempt in flight counts as a failure until it ends,
 * so parallel guesses cannot slip past the limit. Emails are keyed whether or not they exist.
 */
export class SignInThrottle {
  readonly #records = new Map<string, Record>();
  readonly #known = new Map<string, Map<string, number>>();

  constructor(readonly limits: SignInLimits, private readonly now: () => number = Date.now) {}

  /**
   * Lets one sign-in of `email` from `address` through, or throws {@linkcode TooManyRequestsError}
   * with the seconds to wait.
   */
  begin(email: string, address: string | undefined): SignInAttempt {
    const now = this.now();
    const account = email.trim().toLowerCase();
    const client = addressKey(address);
    const known = this.#isKnown(account, client, now);
    const keys: Array<[string, number]> = [
      [`pair\n${account}\n${client}`, this.limits.maxAttempts],
      [`addr\n${client}`, this.limits.maxAttemptsPerAddress],
      ...(known
        ? []
        : [[`acct\n${account}`, this.limits.maxAttemptsPerAccount] as [string, number]]),
    ];
    let waitMs = 0;
    for (const [key, max] of keys) {
      const record = this.#get(key, now);
      if (!record) continue;
      if (record.blockedUntil > now) waitMs = Math.max(waitMs, record.blockedUntil - now);
      else if (
        record.failures >= max ? record.pending > 0 : record.failures + record.pending >= max
      ) {
        // Attempts in flight use up what is left (past a back-off: one at a time); their outcome
        // is known within a second.
        waitMs = Math.max(waitMs, 1000);
      }
    }
    if (waitMs > 0) {
      const seconds = Math.ceil(waitMs / 1000);
      throw new TooManyRequestsError(
        `Too many failed sign-ins; try again in ${seconds} s`,
        seconds,
      );
    }
    const records = keys.map(([key, max]) => ({ key, max, record: this.#touch(key, now) }));
    for (const { record } of records) record.pending++;
    let settled = false;
    const settle = (outcome: "succeeded" | "failed" | "abandoned") => {
      if (settled) return;
      settled = true;
      const at = this.now();
      for (const { key, max, record } of records) {
        record.pending = Math.max(0, record.pending - 1);
        if (outcome === "failed") {
          record.failures++;
          record.lastFailureAt = at;
          if (record.failures >= max) {
            record.blockedUntil = at + this.#backoff(record.failures, max);
          }
        } else if (outcome === "succeeded" && !key.startsWith("addr\n")) {
          // The address keeps its count: signing in to one's own account must not reset a spray.
          record.failures = 0;
          record.blockedUntil = 0;
        }
        if (record.failures === 0 && record.pending === 0) this.#records.delete(key);
      }
      if (outcome === "succeeded") this.#remember(account, client, at);
    };
    return {
      succeeded: () => settle("succeeded"),
      failed: () => settle("failed"),
      abandoned: () => settle("abandoned"),
    };
  }

  /** Records held now (for tests and metrics). */
  get size(): number {
    return this.#records.size;
  }

  #backoff(failures: number, max: number): number {
    const doublings = Math.min(30, Math.max(0, failures - max));
    return Math.min(this.limits.maxBackoffMs, this.limits.backoffMs * 2 ** doublings);
  }

  /** The record of `key`; forgotten once quiet for the longest back-off after its last one ended. */
  #get(key: string, now: number): Record | undefined {
    const record = this.#records.get(key);
    if (
      record && record.pending === 0 && record.blockedUntil <= now &&
      now - Math.max(record.lastFailureAt, record.blockedUntil) >= this.limits.maxBackoffMs
    ) {
      this.#records.delete(key);
      return undefined;
    }
    return record;
  }

  #touch(key: string, now: number): Record {
    const record = this.#get(key, now) ??
      { failures: 0, pending: 0, blockedUntil: 0, lastFailureAt: now };
    this.#records.delete(key);
    this.#records.set(key, record);
    while (this.#records.size > MAX_RECORDS) {
      this.#records.delete(this.#records.keys().next().value!);
    }
    return record;
  }

  #isKnown(account: string, client: string, now: number): boolean {
    const until = this.#known.get(account)?.get(client);
    return until !== undefined && until > now;
  }

  #remember(account: string, client: string, now: number): void {
    const addresses = this.#known.get(account) ?? new Map<string, number>();
    addresses.delete(client);
    addresses.set(client, now + KNOWN_ADDRESS_MS);
    while (addresses.size > KNOWN_ADDRESSES) addresses.delete(addresses.keys().next().value!);
    this.#known.delete(account);
    this.#known.set(account, addresses);
    while (this.#known.size > MAX_RECORDS) this.#known.delete(this.#known.keys().next().value!);
  }
}

/**
 * The key of a client address: IPv4 as is, IPv6 by its /64 (one subscriber's network), none as
 * "unknown".
 */
export function addressKey(address: string | undefined): string {
  if (!address) return "unknown";
  const bare = address.replace(/^\[|\]$/g, "").split("%")[0].toLowerCase();
  if (!bare.includes(":")) return bare;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
  if (mapped) return mapped[1];
  const [head, tail = ""] = bare.split("::");
  const left = head ? head.split(":") : [];
  const right = bare.includes("::") && tail ? tail.split(":") : [];
  const groups = bare.includes("::")
    ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right]
    : left;
  return groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, "")).join(":") + "::/64";
}
