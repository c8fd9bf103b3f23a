/**
 * News one server process gives every other process sharing its engines: access taken away,
 * segments indexed. Best effort and at most once: what listens treats a message as a hint and
 * resynchronises (drops what it cached) whenever it may have missed some.
 */
export interface Broadcast {
  /** `local` (one process) or `postgres` (LISTEN/NOTIFY across processes). */
  readonly kind: string;
  /** Sends `message` to every listener of `channel` in every process, this one first; never throws. */
  publish(channel: string, message: string): void;
  /**
   * Calls `listener` with every message on `channel` from now on, and `resync` when messages may
   * have been lost (the connection carrying them broke and came back). Returns the unsubscriber.
   */
  subscribe(
    channel: string,
    listener: (message: string) => void,
    resync?: () => void,
  ): () => void;
  /** Resolves once every subscription so far listens (at once in-process). */
  ready(): Promise<void>;
  close(): Promise<void>;
}
