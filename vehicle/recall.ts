/**
 * Recall fulfilment: each recall the server lists binds the full-quality segments of its camera
 * that overlap its range (in the ring or queued; those recorded later as they are harvested) and
 * sends them ahead of continuous traffic. Progress and what could not be had (evicted, never
 * recorded) are reported in heartbeats; the book is saved in the spool, so it survives restarts.
 */
import type { Logger } from "../lib/log/mod.ts";
import type { RecallOrder } from "./instructions.ts";
import {
  intersectRanges,
  MERGE_GAP_MS,
  mergeRanges,
  type Range,
  subtractRanges,
} from "./inventory.ts";
import type { QueueEntry } from "./queue_entry.ts";
import type { Route, RouteQuery, Spool } from "./spool.ts";
import { readJson, writeSynced } from "./spool_files.ts";

/** Where the vehicle is with a recall. */
export type RecallState = "pending" | "uploading" | "done";

/** A part of a recall's range that could not be had. */
export interface MissingRange {
  from: string;
  to: string;
  reason: "evicted" | "not-recorded";
}

/** A recall's line in a heartbeat. */
export interface RecallProgress {
  id: string;
  state: RecallState;
  segmentsTotal: number;
  segmentsDone: number;
  bytesTotal: number;
  bytesDone: number;
  missing: MissingRange[];
}

/** What the book keeps of a recall. */
interface RecallRecord {
  id: string;
  camera: string;
  fromMs: number;
  toMs: number;
  done: boolean;
  segmentsDone: number;
  bytesDone: number;
  /** Time the server has or will have from this recall (merged). */
  covered: Range[];
  missing: MissingRange[];
}

/** Options of {@linkcode RecallBook}. */
export interface RecallBookOptions {
  /** Where the book is saved (`<spool>/recalls.json`). */
  path: string;
  spool: Spool;
  logger: Logger;
  /** How long after a recall's end capture has certainly harvested past it. */
  settleMs: number;
  /** Called when a recall's reported state changes (a heartbeat should go soon). */
  onChange?: () => void;
  now?: () => number;
}

/** Gaps shorter than this between a recall's segments and its bounds are not reported. */
const NEGLIGIBLE_MS = MERGE_GAP_MS / 2;
/** Most missing ranges reported per recall. */
const MAX_MISSING = 512;

/** The recalls the vehicle works on. */
export class RecallBook {
  readonly #records = new Map<string, RecallRecord>();
  readonly #reported = new Map<string, RecallState>();
  #serial: Promise<unknown> = Promise.resolve();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly options: RecallBookOptions) {}

  /** Loads the saved book (call before the spool opens: recovery routes through it). */
  async open(): Promise<void> {
    const saved = await readJson<{ recalls?: unknown[] }>(this.options.path);
    for (const value of saved?.recalls ?? []) {
      const record = value as RecallRecord;
      if (
        typeof record?.id !== "string" || typeof record.camera !== "string" ||
        !Number.isFinite(record.fromMs) || !Number.isFinite(record.toMs)
      ) continue;
      this.#records.set(record.id, {
        ...record,
        segmentsDone: record.segmentsDone || 0,
        bytesDone: record.bytesDone || 0,
        covered: mergeRanges(Array.isArray(record.covered) ? record.covered : []),
        missing: Array.isArray(record.missing) ? record.missing : [],
      });
    }
  }

  /** Checks the recalls every second until closed. */
  start(): void {
    this.#timer ??= setInterval(() => void this.check(), 1_000);
  }

  /** Stops checking and saves; safe to call twice. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#serial;
    await this.#save();
  }

  /** Sends a segment of a recall's camera and time for it; undefined when none wants it. */
  route(query: RouteQuery): Route | undefined {
    if (query.rendition !== "full" || query.startMs === undefined) return undefined;
    for (const record of this.#records.values()) {
      if (
        !record.done && record.camera === query.camera && query.startMs < record.toMs &&
        query.endMs! > record.fromMs
      ) return { to: "queue", recallId: record.id };
    }
    return undefined;
  }

  /** Works on exactly `orders`: new ones are bound, unlisted ones dropped. */
  sync(orders: RecallOrder[]): Promise<void> {
    return this.#run(async () => {
      const listed = new Set(orders.map((o) => o.id));
      for (const id of [...this.#records.keys()]) {
        if (listed.has(id)) continue;
        this.#records.delete(id);
        this.#reported.delete(id);
        const unbound = await this.options.spool.forgetRecall(id);
        this.options.logger.info("recall dropped", { recallId: id, unbound });
      }
      for (const order of orders) {
        if (this.#records.has(order.id)) continue;
        this.#records.set(order.id, {
          id: order.id,
          camera: order.camera,
          fromMs: order.fromMs,
          toMs: order.toMs,
          done: false,
          segmentsDone: 0,
          bytesDone: 0,
          covered: [],
          missing: [],
        });
        this.options.logger.info("recall received", {
          recallId: order.id,
          camera: order.camera,
          from: order.from,
          to: order.to,
        });
      }
      for (const record of this.#records.values()) if (!record.done) await this.#bind(record);
      await this.#save();
    }).then(() => this.check());
  }

  /** Counts a segment the server acknowledged. */
  uploaded(entry: QueueEntry): void {
    const record = entry.recallId === undefined ? undefined : this.#records.get(entry.recallId);
    if (!record || entry.kind !== "segment") return;
    record.segmentsDone++;
    record.bytesDone += entry.bytes;
    record.covered = mergeRanges([
      ...record.covered,
      [entry.startMs!, entry.startMs! + entry.durationS! * 1000],
    ]);
    void this.#run(() => this.#save());
    // Its last segment went: finish it now rather than at the next second's check.
    if (this.options.spool.boundTo(record.id).length === 0) void this.check();
  }

  /** Finishes the recalls whose time capture has passed and whose segments all went. */
  check(): Promise<void> {
    return this.#run(async () => {
      const now = (this.options.now ?? Date.now)();
      const { spool } = this.options;
      for (const record of this.#records.values()) {
        if (record.done) continue;
        const passed = (spool.harvestedUntil(record.camera) ?? -Infinity) >= record.toMs ||
          now >= record.toMs + this.options.settleMs;
        if (!passed || spool.boundTo(record.id).length > 0) continue;
        // A last look: segments recovered or harvested since the recall was bound.
        if (await this.#bind(record)) continue;
        record.missing = this.#missing(record);
        record.done = true;
        await this.#save();
        this.options.logger.info("recall done", {
          recallId: record.id,
          segments: record.segmentsDone,
          bytes: record.bytesDone,
          missing: record.missing,
        });
      }
      let changed = false;
      for (const progress of this.reports()) {
        if (this.#reported.get(progress.id) === progress.state) continue;
        this.#reported.set(progress.id, progress.state);
        changed = true;
      }
      if (changed) this.options.onChange?.();
    });
  }

  /** Each recall's progress, for the heartbeat. */
  reports(): RecallProgress[] {
    return [...this.#records.values()].map((record) => {
      const bound = this.options.spool.boundTo(record.id);
      const segmentsTotal = record.segmentsDone + bound.length;
      return {
        id: record.id,
        state: record.done ? "done" : segmentsTotal > 0 ? "uploading" : "pending",
        segmentsTotal,
        segmentsDone: record.segmentsDone,
        bytesTotal: record.bytesDone + bound.reduce((sum, e) => sum + e.bytes, 0),
        bytesDone: record.bytesDone,
        missing: record.missing,
      };
    });
  }

  /** Binds what the spool holds of a recall; true if anything is newly queued for it. */
  async #bind(record: RecallRecord): Promise<boolean> {
    const before = this.options.spool.boundTo(record.id).length;
    const found = await this.options.spool.recall(
      record.id,
      record.camera,
      record.fromMs,
      record.toMs,
    );
    // Segments already on their way as continuous traffic reach the server anyway.
    const coming = found.filter((f) => !f.recalled).map((f): Range => [f.startMs, f.endMs]);
    if (coming.length) record.covered = mergeRanges([...record.covered, ...coming]);
    return found.filter((f) => f.recalled).length > before;
  }

  /** What of a recall's range neither it nor earlier uploads brought, and why. */
  #missing(record: RecallRecord): MissingRange[] {
    const range: Range = [record.fromMs, record.toMs];
    const { spool } = this.options;
    const had = mergeRanges([
      ...record.covered,
      ...intersectRanges(range, spool.sent(record.camera)),
    ]);
    const evicted = spool.evicted(record.camera);
    const missing: Array<[Range, MissingRange["reason"]]> = [];
    for (const gap of subtractRanges(range, had)) {
      const lost = intersectRanges(gap, evicted);
      for (const part of lost) missing.push([part, "evicted"]);
      for (const part of subtractRanges(gap, lost)) missing.push([part, "not-recorded"]);
    }
    return missing
      .filter(([[from, to]]) => to - from >= NEGLIGIBLE_MS)
      .slice(0, MAX_MISSING)
      .sort((a, b) => a[0][0] - b[0][0])
      .map(([[from, to], reason]) => ({
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
        reason,
      }));
  }

  #run<T>(step: () => Promise<T>): Promise<T> {
    const result = this.#serial.then(step);
    this.#serial = result.catch((error) => {
      this.options.logger.error("recall book step failed", { error });
    });
    return result;
  }

  async #save(): Promise<void> {
    const text = JSON.stringify({ recalls: [...this.#records.values()] });
    await writeSynced(`${this.options.path}.tmp`, text);
    await Deno.rename(`${this.options.path}.tmp`, this.options.path);
  }
}
