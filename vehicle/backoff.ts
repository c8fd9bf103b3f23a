/**
 * Waiting between attempts: exponential backoff with full jitter, the server's `Retry-After`, and
 * a token bucket that caps the upload rate.
 */

/** Bounds of an exponential backoff. */
export interface BackoffPolicy {
  /** Ceiling of the first delay. */
  baseMs: number;
  /** Largest ceiling, however many attempts failed. */
  capMs: number;
}

/** The uploader's policy for network errors, 429 and 5xx. */
export const NETWORK_BACKOFF: BackoffPolicy = { baseMs: 1_000, capMs: 60_000 };

/** Longest `Retry-After` honoured; a larger one (or a far date) is clipped to this. */
export const MAX_RETRY_AFTER_MS = 15 * 60_000;

/**
 * Delay before retry number `attempt` (0 for the first retry): uniformly random between 0 and
 * `min(capMs, baseMs * 2^attempt)` ("full jitter"), so that vehicles coming back online together
 * do not retry in step.
 *
 * @example fullJitter(3, NETWORK_BACKOFF) // somewhere in [0, 8000)
 */
export function fullJitter(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  return Math.floor(random() * ceiling);
}

/**
 * Reads a `Retry-After` header (RFC 9110 §10.2.3): delay-seconds or an HTTP date. Returns
 * milliseconds from `now` (0 for a date in the past), or undefined when absent or unreadable.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(at - now, 0), MAX_RETRY_AFTER_MS);
}

/** Delay before a retry: the jittered backoff, but never sooner than the server asked. */
export function retryDelay(
  attempt: number,
  retryAfterMs: number | undefined,
  policy: BackoffPolicy = NETWORK_BACKOFF,
  random: () => number = Math.random,
): number {
  return Math.max(retryAfterMs ?? 0, fullJitter(attempt, policy, random));
}

/**
 * A token bucket of bytes: `take(n)` says how long to wait before sending `n` bytes so that the
 * average rate stays at or below `bytesPerSecond`. A request larger than the bucket may go once it
 * is full, leaving a debt the next requests wait out.
 */
export class RateLimiter {
  #tokens: number;
  #at: number;
  readonly capacity: number;

  constructor(
    readonly bytesPerSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(bytesPerSecond > 0)) throw new RangeError(`Rate must be positive, got ${bytesPerSecond}`);
    this.capacity = bytesPerSecond;
    this.#tokens = this.capacity;
    this.#at = now();
  }

  /** Milliseconds to wait before `bytes` may go; 0 means they were taken now. */
  take(bytes: number): number {
    const now = this.now();
    this.#tokens = Math.min(
      this.capacity,
      this.#tokens + (now - this.#at) * this.bytesPerSecond / 1000,
    );
    this.#at = now;
    const needed = Math.min(bytes, this.capacity);
    if (this.#tokens >= needed) {
      this.#tokens -= bytes;
      return 0;
    }
    return Math.ceil((needed - this.#tokens) * 1000 / this.bytesPerSecond);
  }
}

/** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
