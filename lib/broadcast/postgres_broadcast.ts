import { PostgresDatabase } from "../catalog/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { Broadcast } from "./types.ts";

/** NOTIFY payloads are limited to 8000 bytes; a message must fit with its origin prefix. */
export const MAX_MESSAGE_BYTES = 7_900;
const RETRY_MS = [250, 1_000, 2_000, 5_000];

/**
 * {@linkcode Broadcast} over PostgreSQL `LISTEN/NOTIFY` on the catalog's server: every process
 * sharing the catalog hears every message. This process's own listeners hear it at once (and
 * ignore its echo); a listening connection that breaks is reopened by npm:postgres, and since
 * NOTIFYs sent meanwhile are gone, listeners are told to resync when it is back.
 */
export class PostgresBroadcast implements Broadcast {
  readonly kind = "postgres";
  readonly #database: PostgresDatabase;
  readonly #origin = crypto.randomUUID();
  readonly #local = new Map<string, Set<(message: string) => void>>();
  readonly #listening: Promise<void>[] = [];
  #closed = false;

  constructor(url: string, private readonly logger: Logger) {
    // One connection NOTIFYs, npm:postgres opens one more of its own for every LISTEN.
    this.#database = new PostgresDatabase(url, { max: 1 });
  }

  /** Delivers `message` here at once, then NOTIFYs the other processes (failures are logged). */
  publish(channel: string, message: string): void {
    for (const listener of [...this.#local.get(channel) ?? []]) {
      try {
        listener(message);
      } catch {
        // a listener's failure is its own
      }
    }
    if (this.#closed) return;
    if (new TextEncoder().encode(message).byteLength > MAX_MESSAGE_BYTES) {
      this.logger.error("broadcast message too long to send, dropped", { channel });
      return;
    }
    this.#database.sql.notify(pgChannel(channel), `${this.#origin} ${message}`).catch((error) =>
      this.logger.warn("broadcast not sent (listeners resync when they reconnect)", {
        channel,
        error: String(error),
      })
    );
  }

  /** Listens on `channel` (retrying until it can), `resync` after every reconnection. */
  subscribe(
    channel: string,
    listener: (message: string) => void,
    resync?: () => void,
  ): () => void {
    let set = this.#local.get(channel);
    if (!set) this.#local.set(channel, set = new Set());
    const own = (message: string) => listener(message);
    set.add(own);
    let unlisten: (() => Promise<void>) | undefined;
    let stopped = false;
    const listening = (async () => {
      let first = true;
      for (let attempt = 0; !stopped && !this.#closed; attempt++) {
        try {
          const meta = await this.#database.sql.listen(
            pgChannel(channel),
            (payload) => {
              const space = payload.indexOf(" ");
              if (space < 0 || payload.slice(0, space) === this.#origin) return;
              try {
                listener(payload.slice(space + 1));
              } catch (error) {
                this.logger.error("broadcast listener failed", { channel, error });
              }
            },
            () => {
              if (!first) resync?.();
              first = false;
            },
          );
          unlisten = () => meta.unlisten();
          if (stopped || this.#closed) await unlisten().catch(() => {});
          return;
        } catch (error) {
          this.logger.warn("cannot listen for broadcasts yet, retrying", {
            channel,
            error: String(error),
          });
          // a failed first LISTEN may have missed messages too
          first = false;
          await new Promise((r) => setTimeout(r, RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)]));
        }
      }
    })();
    this.#listening.push(listening);
    return () => {
      stopped = true;
      set.delete(own);
      void unlisten?.().catch(() => {});
    };
  }

  /**
   * Resolves once every subscription so far has its LISTEN in place, or after `timeoutMs` (they
   * keep trying, and listeners resync when they get there): a server starts either way.
   */
  async ready(timeoutMs = 10_000): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(this.#listening),
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          this.logger.warn("not listening for broadcasts yet; starting anyway", { timeoutMs });
          resolve();
        }, timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  /** Stops listening and closes the connections. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#database.sql.end({ timeout: 5 }).catch(() => {});
  }
}

/** PostgreSQL channel of a broadcast channel: a plain identifier under `motorcade_`. */
function pgChannel(channel: string): string {
  if (!/^[a-z][a-z0-9_]{0,40}$/.test(channel)) {
    throw new TypeError(`Cannot use broadcast channel "${channel}": use a-z, 0-9 and _`);
  }
  return `motorcade_${channel}`;
}
