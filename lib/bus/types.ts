import type { Registry } from "prom-client";

/** An event as a consumer receives it. */
export interface BusMessage<T = unknown> {
  topic: string;
  /** Kafka's partition of the topic (the log bus has one, undefined). */
  partition?: number;
  /** Position in the topic (in its partition, on Kafka); strictly increasing. */
  offset: number;
  /** Partitioning key (e.g. the camera), kept for distributed buses. */
  key: string;
  value: T;
  publishedAt: number;
}

/** A running subscription. */
export interface Consumer {
  /** Stops after the batch in hand is handled and committed. */
  close(): Promise<void>;
}

/**
 * Handles a batch; resolving commits it, throwing retries it (at-least-once). A transient failure
 * (an UnavailableError: the catalog unavailable or full) is retried until it passes; a message
 * that fails otherwise is retried alone a few times, and one that throws PoisonMessageError (or a
 * ValidationError) or keeps failing goes to `<topic>.dead-letter`, so it never blocks the rest.
 */
export type BatchHandler<T = unknown> = (batch: BusMessage<T>[]) => Promise<void>;

/**
 * The event bus between ingest and the indexer: the embedded log by default, Apache Kafka at
 * scale. Delivery is at least once; consumers must tolerate duplicates and reordering.
 */
export interface EventBus {
  readonly kind: string;
  /** Resolves once the event is durable; a rejection means it was not published. */
  publish(topic: string, key: string, value: unknown): Promise<void>;
  /** Delivers every event of `topic` not yet committed by `group`, in order, in batches. */
  subscribe<T>(topic: string, group: string, handler: BatchHandler<T>): Consumer;
  ping(): Promise<void>;
  /** The bus's counters (dead letters) on a Prometheus registry. */
  registerMetrics(registry: Registry): void;
  close(): Promise<void>;
}
