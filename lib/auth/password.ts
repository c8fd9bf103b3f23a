import { hash, verify } from "@node-rs/argon2";
import { UnavailableError } from "../errors/mod.ts";

// OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane.
const OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/**
 * Bounds the argon2 work of the process: at most `concurrency` hashes run at once (each takes a
 * CPU core for ~15-40 ms off the event loop), at most `queue` wait; past that the caller gets
 * {@linkcode UnavailableError} (503, `Retry-After: 1`) at once instead of a growing backlog that
 * would take the CPU from every other request.
 */
export class PasswordWork {
  #running = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(public concurrency: number, public queue: number) {}

  /** Changes the bounds (the server applies its configuration at start-up). */
  configure(options: { concurrency: number; queue: number }): void {
    this.concurrency = Math.max(1, options.concurrency);
    this.queue = Math.max(0, options.queue);
  }

  /** Hashes running and waiting now. */
  get load(): { running: number; waiting: number } {
    return { running: this.#running, waiting: this.#waiting.length };
  }

  /** Runs `task` when a slot is free. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.concurrency) {
      if (this.#waiting.length >= this.queue) {
        throw new UnavailableError("Too many password checks at once; retry in a moment", 1);
      }
      // The slot is handed over by the task that finishes, so #running stays counted.
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else this.#running++;
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }
}

/** The process's one bound on password hashing; half the cores by default. */
export const passwordWork = new PasswordWork(
  Math.max(1, Math.floor((navigator.hardwareConcurrency ?? 2) / 2)),
  32,
);

/** Hashes a password with argon2id; the result embeds its salt and parameters. */
export function hashPassword(password: string): Promise<string> {
  return passwordWork.run(() => hash(password, OPTIONS));
}

let decoy: Promise<string> | undefined;

/**
 * Checks `password` against `stored`. With no stored hash (an unknown user) it still spends the
 * same work on a decoy, so response time does not tell which emails exist.
 */
export async function verifyPassword(stored: string | undefined, password: string) {
  if (stored === undefined) {
    decoy ??= hash(crypto.randomUUID(), OPTIONS);
    const target = await decoy;
    await passwordWork.run(() => verify(target, password)).catch(rethrowUnavailable);
    return false;
  }
  return await passwordWork.run(() => verify(stored, password)).catch(rethrowUnavailable);
}

/** A full queue is reported; a malformed stored hash is a wrong password. */
function rethrowUnavailable(error: unknown): false {
  if (error instanceof UnavailableError) throw error;
  return false;
}
