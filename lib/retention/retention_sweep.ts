import { Counter, Gauge, type Registry } from "prom-client";
import type { Catalog, ExpiredObject, Fleet } from "../catalog/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { ObjectStore } from "../storage/mod.ts";

/** A day in milliseconds: retention is counted in days. */
export const DAY_MS = 86_400_000;
/** Most keys one batch deletes: what one S3 DeleteObjects request takes. */
export const MAX_RETENTION_BATCH = 1000;
/** Default of {@linkcode RetentionSweepOptions.maxBatches}. */
const DEFAULT_MAX_BATCHES = 1000;

/** The instant before which a fleet keeping `days` days of recordings lets them go. */
export function retentionCutoff(days: number, nowMs: number): number {
  return nowMs - days * DAY_MS;
}

/** Options of {@linkcode RetentionSweep}. */
export interface RetentionSweepOptions {
  /** Time between background sweeps; 0 runs none (a sweep still runs when called). */
  intervalMs: number;
  /** Segments, recordings or objects one batch deletes (1 to 1,000; default 1,000). */
  batchSize?: number;
  /** Batches one sweep runs at most; the next sweep goes on where it stopped (default 1,000). */
  maxBatches?: number;
  now?: () => number;
  logger?: Logger;
  /** Told the cameras whose segments or recordings a batch deleted (their playlists changed). */
  onExpired?: (cameraIds: ReadonlySet<string>) => void;
}

/** What one sweep did. */
export interface SweepResult {
  /** Media segments deleted from the store and the catalog, and their bytes. */
  segments: number;
  bytes: number;
  /** Recordings deleted whole, with their init segments. */
  recordings: number;
  /** False when the sweep stopped at its batch limit with work left. */
  complete: boolean;
}

/**
 * The retention sweep: per fleet with a retention, deletes what ended before now − retention.
 * Each batch deletes catalog rows first and queues their objects' keys in the same transaction,
 * then deletes the queued objects from the store (S3: one DeleteObjects per batch) and forgets
 * them. A playlist therefore never lists an object that is gone, and a crash (or a store that
 * refuses) between the two leaves queued keys that the next sweep deletes first. Any number of
 * processes may sweep at once: the catalog deletes each row for one of them, and deleting an
 * absent object is no error.
 *
 * @example
 * const sweep = new RetentionSweep(catalog, store, { intervalMs: 600_000 });
 * sweep.registerMetrics(registry);
 * sweep.start();
 * await sweep.close();
 */
export class RetentionSweep {
  readonly #deletedSegments = new Counter({
    name: "motorcade_retention_deleted_segments_total",
    help: "Media segments the retention sweep deleted from the object store and the catalog",
    registers: [],
  });
  readonly #deletedBytes = new Counter({
    name: "motorcade_retention_deleted_bytes_total",
    help: "Bytes of the media segments the retention sweep deleted",
    registers: [],
  });
  readonly #deletedRecordings = new Counter({
    name: "motorcade_retention_deleted_recordings_total",
    help: "Recordings the retention sweep deleted whole, with their init segments",
    registers: [],
  });
  readonly #errors = new Counter({
    name: "motorcade_retention_sweep_errors_total",
    help: "Retention sweeps that failed (the next one goes on where it stopped)",
    registers: [],
  });
  readonly #lastSweep = new Gauge({
    name: "motorcade_retention_last_sweep_timestamp_seconds",
    help: "When the last retention sweep that failed nowhere finished (Unix time); 0 before",
    registers: [],
  });
  readonly #batch: number;
  readonly #maxBatches: number;
  readonly #now: () => number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #running: Promise<unknown> | undefined;
  #closed = false;
  /** The fleet the next sweep starts with, when the last one stopped at its batch limit. */
  #resumeAt = "";

  constructor(
    private readonly catalog: Catalog,
    private readonly store: ObjectStore,
    private readonly options: RetentionSweepOptions,
  ) {
    const batch = options.batchSize ?? MAX_RETENTION_BATCH;
    if (!Number.isInteger(batch) || batch < 1 || batch > MAX_RETENTION_BATCH) {
      throw new RangeError(`Retention batch size must be 1 to ${MAX_RETENTION_BATCH}: ${batch}`);
    }
    this.#batch = batch;
    this.#maxBatches = options.maxBatches ?? DEFAULT_MAX_BATCHES;
    this.#now = options.now ?? Date.now;
  }

  /** Registers the sweep's counters and its last-sweep gauge. */
  registerMetrics(registry: Registry): void {
    for (
      const metric of [
        this.#deletedSegments,
        this.#deletedBytes,
        this.#deletedRecordings,
        this.#errors,
        this.#lastSweep,
      ]
    ) registry.registerMetric(metric);
  }

  /** Sweeps every `intervalMs` in the background (a sweep still running skips a turn). */
  start(): void {
    if (this.#timer !== undefined || this.#closed || this.options.intervalMs <= 0) return;
    const timer = setInterval(() => {
      if (this.#running) return;
      this.#running = this.sweep()
        .catch(() => {}) // counted and logged by sweep()
        .finally(() => this.#running = undefined);
    }, this.options.intervalMs);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  /** Stops the background sweeps and waits for the one running, if any; safe to call twice. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** Runs one sweep now; rejects (after counting the error) when the catalog or store fails. */
  async sweep(): Promise<SweepResult> {
    const result: SweepResult = { segments: 0, bytes: 0, recordings: 0, complete: true };
    const budget = { batches: this.#maxBatches };
    try {
      // What an interrupted sweep queued goes first.
      await this.#drain(result, budget);
      const fleets = (await this.catalog.fleets.list())
        .filter((fleet) => fleet.retentionDays !== null)
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const first = fleets.findIndex((fleet) => fleet.id >= this.#resumeAt);
      const turn = first <= 0 ? fleets : [...fleets.slice(first), ...fleets.slice(0, first)];
      this.#resumeAt = "";
      const now = this.#now();
      for (const fleet of turn) {
        if (this.#closed) break;
        if (!await this.#sweepFleet(fleet, now, result, budget)) {
          result.complete = false;
          this.#resumeAt = fleet.id;
          break;
        }
      }
      this.#lastSweep.set(this.#now() / 1000);
      if (result.segments || result.recordings) {
        this.options.logger?.info("retention sweep deleted expired recordings", { ...result });
      }
      return result;
    } catch (error) {
      this.#errors.inc();
      this.options.logger?.error("retention sweep failed", { error, ...result });
      throw error;
    }
  }

  /** Sweeps one fleet; false when the batch budget ran out first. */
  async #sweepFleet(
    fleet: Fleet,
    now: number,
    result: SweepResult,
    budget: { batches: number },
  ): Promise<boolean> {
    const cutoff = retentionCutoff(fleet.retentionDays!, now);
    const { retention } = this.catalog;
    for (const cameraId of await retention.cameraIds(fleet.id)) {
      for (;;) {
        if (budget.batches-- <= 0 || this.#closed) return false;
        const deleted = await retention.expireSegments(cameraId, cutoff, this.#batch);
        if (deleted > 0) {
          this.options.onExpired?.(new Set([cameraId]));
          await this.#drain(result, budget);
        }
        if (deleted < this.#batch) break;
      }
    }
    for (;;) {
      if (budget.batches-- <= 0 || this.#closed) return false;
      const cameras = await retention.expireRecordings(fleet.id, cutoff, this.#batch);
      if (cameras.length > 0) {
        result.recordings += cameras.length;
        this.#deletedRecordings.inc(cameras.length);
        this.options.onExpired?.(new Set(cameras));
        await this.#drain(result, budget);
      }
      if (cameras.length < this.#batch) return true;
    }
  }

  /** Deletes the queued objects from the store, then forgets them, a batch at a time. */
  async #drain(result: SweepResult, budget: { batches: number }): Promise<void> {
    for (;;) {
      const queued = await this.catalog.retention.queued(this.#batch);
      if (queued.length === 0) return;
      await this.store.deleteMany(queued.map((object) => object.key));
      this.#count(await this.catalog.retention.forget(queued.map((object) => object.key)), result);
      budget.batches--;
      if (queued.length < this.#batch) return;
    }
  }

  /** Counts objects this process forgot (each is forgotten by one process only). */
  #count(objects: ExpiredObject[], result: SweepResult): void {
    for (const object of objects) {
      if (object.kind !== "segment") continue;
      result.segments++;
      result.bytes += object.size;
      this.#deletedSegments.inc();
      this.#deletedBytes.inc(object.size);
    }
  }
}
