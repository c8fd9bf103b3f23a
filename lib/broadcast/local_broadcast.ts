import type { Broadcast } from "./types.ts";

/**
 * The in-process {@linkcode Broadcast} of the embedded configuration: listeners run synchronously
 * in publish order, and one that throws does not keep the message from the others.
 */
export class LocalBroadcast implements Broadcast {
  readonly kind = "local";
  readonly #listeners = new Map<string, Set<(message: string) => void>>();

  /** Delivers `message` to every listener of `channel`. */
  publish(channel: string, message: string): void {
    for (const listener of [...this.#listeners.get(channel) ?? []]) {
      try {
        listener(message);
      } catch {
        // a listener's failure is its own; the others still hear of it
      }
    }
  }

  /** Adds `listener` to `channel`; nothing is ever lost in-process, so `resync` never runs. */
  subscribe(channel: string, listener: (message: string) => void): () => void {
    const own = (message: string) => listener(message);
    let set = this.#listeners.get(channel);
    if (!set) this.#listeners.set(channel, set = new Set());
    set.add(own);
    return () => set.delete(own);
  }

  /** In-process listeners listen at once. */
  ready(): Promise<void> {
    return Promise.resolve();
  }

  /** Nothing to close. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
