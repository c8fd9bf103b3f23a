/**
 * An ingest worker thread's bus and broadcast: both relay to the server's thread, which owns the
 * real ones. The embedded log bus has one writer (its appends and its consumers' wake-ups are
 * in-process), so every event a worker publishes is appended there; a publish resolves once that
 * append is durable, exactly as it would on the server's thread.
 */
import type { Registry } from "prom-client";
import type { Broadcast } from "../broadcast/mod.ts";
import type { BatchHandler, Consumer, EventBus } from "../bus/mod.ts";
import { InsufficientStorageError, UnavailableError } from "../errors/mod.ts";
import type { FromWorker, PublishFailure } from "./messages.ts";

/** The {@linkcode EventBus} of a worker thread: publishes are appended by the server's thread. */
export class ThreadBus implements EventBus {
  readonly kind = "thread";
  readonly #pending = new Map<number, PromiseWithResolvers<void>>();
  #next = 0;
  #closed = false;

  constructor(private readonly post: (message: FromWorker) => void) {}

  /** Resolves once the server's thread has the event durably on its bus. */
  publish(topic: string, key: string, value: unknown): Promise<void> {
    if (this.#closed) return Promise.reject(new UnavailableError("Bus is closed", 1));
    const id = this.#next++;
    const waiting = Promise.withResolvers<void>();
    this.#pending.set(id, waiting);
    this.post({ type: "publish", id, topic, key, value });
    return waiting.promise;
  }

  /** Settles the publish `id` with the server thread's answer. */
  settle(id: number, failure?: PublishFailure): void {
    const waiting = this.#pending.get(id);
    if (!waiting) return;
    this.#pending.delete(id);
    if (!failure) return waiting.resolve();
    waiting.reject(
      failure.reason
        ? new InsufficientStorageError(failure.message, failure.reason, failure.retryAfterSeconds)
        : new UnavailableError(failure.message, failure.retryAfterSeconds ?? 5),
    );
  }

  /** Workers only publish: the indexer consumes on the server's thread. */
  subscribe<T>(topic: string, _group: string, _handler: BatchHandler<T>): Consumer {
    throw new TypeError(`Cannot consume "${topic}" in an ingest worker: the indexer does`);
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  /** The bus's metrics are the server thread's. */
  registerMetrics(_registry: Registry): void {}

  /** Refuses publishes from now on; those unanswered fail (their uploads get 503 and retry). */
  close(): Promise<void> {
    this.#closed = true;
    for (const waiting of this.#pending.values()) {
      waiting.reject(new UnavailableError("Ingest worker is stopping; retry the upload", 1));
    }
    this.#pending.clear();
    return Promise.resolve();
  }
}

/** The {@linkcode Broadcast} of a worker thread: the server thread's, relayed both ways. */
export class ThreadBroadcast implements Broadcast {
  readonly kind = "thread";
  readonly #listeners = new Map<string, Set<(message: string) => void>>();

  constructor(private readonly post: (message: FromWorker) => void) {}

  /** Sends `message` through the server thread, which delivers it here too. */
  publish(channel: string, message: string): void {
    this.post({ type: "broadcast", channel, message });
  }

  /** Listens to `channel` on the server thread's broadcast. */
  subscribe(channel: string, listener: (message: string) => void): () => void {
    const own = (message: string) => listener(message);
    let set = this.#listeners.get(channel);
    if (!set) {
      this.#listeners.set(channel, set = new Set());
      this.post({ type: "subscribe", channel });
    }
    set.add(own);
    return () => set.delete(own);
  }

  /** Delivers a message the server thread relayed. */
  deliver(channel: string, message: string): void {
    for (const listener of [...this.#listeners.get(channel) ?? []]) {
      try {
        listener(message);
      } catch {
        // a listener's failure is its own
      }
    }
  }

  ready(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
