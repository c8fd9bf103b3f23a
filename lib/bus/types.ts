/** An event as a consumer receives it. */
export interface BusMessage<T = unknown> {
  topic: string;
  /** Position in the topic; strictly increasing. */
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

/** Handles a batch; resolving commits it, throwing retries it (at-least-once). */
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
  close(): Promise<void>;
}
