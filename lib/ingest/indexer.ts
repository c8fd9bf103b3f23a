import type { Catalog, SegmentRecord } from "../catalog/mod.ts";
import { type BusMessage, type Consumer, type EventBus, SEGMENTS_TOPIC } from "../bus/mod.ts";
import type { Logger } from "../log/mod.ts";
import { Counter, type Registry } from "prom-client";
import type { SegmentEvent } from "./events.ts";

/** What the indexer did over the last minute, for the system health. */
export interface IndexerStats {
  /** Segments and bytes indexed per second over the last 60 s. */
  segmentsPerSecond: number;
  bytesPerSecond: number;
  /** Now minus the publish time of the newest event of the last batch; null before the first. */
  lagMs: number | null;
  lastIndexedAt: Date | null;
}

const STATS_WINDOW_MS = 60_000;

/**
 * The indexer — the seed's Streaming Service: consumes segment events into the catalog. Delivery
 * is at least once and may be out of order; indexing is idempotent (keyed by camera, recording and
 * sequence) and order-free (a recording's range is the min/max of its segments).
 */
export class Indexer {
  #consumer: Consumer | undefined;
  readonly #window: Array<{ at: number; segments: number; bytes: number }> = [];
  #last: { at: number; publishedAt: number } | undefined;
  /** Called after each batch with the newest indexed publish time (for lag measurements). */
  onIndexed?: (events: SegmentEvent[]) => void;
  /**
   * Bytes of the objects ingest stored, by usage kind, as their events are indexed (an event
   * redelivered after a crash may count twice; the catalog's usage counts each object once).
   */
  readonly uploadBytes = new Counter({
    name: "motorcade_upload_bytes_total",
    help: "Bytes of media and init segments vehicles uploaded and the server stored, by kind",
    labelNames: ["kind"],
    registers: [],
  });

  constructor(
    private readonly catalog: Catalog,
    private readonly bus: EventBus,
    private readonly logger: Logger,
  ) {}

  /** The indexer's counters on a Prometheus registry. */
  registerMetrics(registry: Registry): void {
    registry.registerMetric(this.uploadBytes);
  }

  start(): void {
    this.#consumer ??= this.bus.subscribe<SegmentEvent>(
      SEGMENTS_TOPIC,
      "indexer",
      (batch) => this.#index(batch),
    );
  }

  async #index(batch: BusMessage<SegmentEvent>[]): Promise<void> {
    const segments: SegmentRecord[] = [];
    const events = batch.map((m) => m.value);
    for (const event of events) {
      if (event.type === "segment.stored") {
        segments.push({
          fleetId: event.fleetId,
          vehicleId: event.vehicleId,
          cameraId: event.cameraId,
          recordingId: event.recordingId,
          sequence: event.sequence,
          startMs: event.startMs,
          durationMs: event.durationMs,
          size: event.size,
          sha256: event.sha256,
          objectKey: event.objectKey,
          rendition: event.rendition,
          kind: event.kind,
          storedAtMs: event.storedAt,
        });
      }
    }
    try {
      if (segments.length) await this.catalog.recordings.indexSegments(segments);
      for (const event of events) {
        if (event.type === "init.stored") {
          await this.catalog.recordings.setInit(
            { ...event, storedAtMs: event.storedAt ?? event.at },
            event.objectKey,
          );
        } else if (event.type === "recording.ended") {
          await this.catalog.recordings.close(
            event.cameraId,
            event.recordingId,
            new Date(event.endedAt),
          );
        }
      }
    } catch (error) {
      // A camera deleted meanwhile: its events can never be indexed; drop them, keep the rest.
      if (String(error).includes("FOREIGN KEY")) {
        this.logger.warn("dropping events of a deleted camera", { count: events.length });
        return await this.#indexOneByOne(events);
      }
      throw error;
    }
    this.#count(batch, segments);
    for (const event of events) {
      if (event.type !== "recording.ended" && event.created && event.size !== undefined) {
        this.uploadBytes.inc({ kind: event.kind ?? "continuous" }, event.size);
      }
    }
    this.onIndexed?.(events);
  }

  #count(batch: BusMessage<SegmentEvent>[], segments: SegmentRecord[]): void {
    const at = Date.now();
    const publishedAt = Math.max(...batch.map((m) => m.publishedAt));
    if (publishedAt > 0) this.#last = { at, publishedAt };
    this.#window.push({
      at,
      segments: segments.length,
      bytes: segments.reduce((sum, s) => sum + s.size, 0),
    });
    while (this.#window.length && this.#window[0].at <= at - STATS_WINDOW_MS) this.#window.shift();
  }

  /** Segments and bytes indexed per second over the last minute, and the bus lag. */
  stats(now = Date.now()): IndexerStats {
    const recent = this.#window.filter((entry) => entry.at > now - STATS_WINDOW_MS);
    const seconds = STATS_WINDOW_MS / 1000;
    return {
      segmentsPerSecond: recent.reduce((sum, e) => sum + e.segments, 0) / seconds,
      bytesPerSecond: recent.reduce((sum, e) => sum + e.bytes, 0) / seconds,
      lagMs: this.#last ? Math.max(0, this.#last.at - this.#last.publishedAt) : null,
      lastIndexedAt: this.#last ? new Date(this.#last.at) : null,
    };
  }

  async #indexOneByOne(events: SegmentEvent[]): Promise<void> {
    for (const event of events) {
      try {
        await this.#index([{
          topic: SEGMENTS_TOPIC,
          offset: 0,
          key: "",
          value: event,
          publishedAt: 0,
        }]);
      } catch (error) {
        if (!String(error).includes("FOREIGN KEY")) throw error;
      }
    }
  }

  /** Stops after the batch in hand is indexed and committed. */
  async close(): Promise<void> {
    await this.#consumer?.close();
    this.#consumer = undefined;
  }
}
