import { statfs } from "node:fs/promises";
import { join } from "node:path";
import { Counter, Gauge, type Registry } from "prom-client";
import { InsufficientStorageError } from "../errors/mod.ts";
import type { Logger } from "../log/mod.ts";
import { writeFailureOf, type WriteFailureSink } from "./write_failure.ts";

/** How often free space is read, and a refusing storage probed. */
const CHECK_INTERVAL_MS = 2000;
/** `Retry-After` of uploads refused while storage refuses writes. */
const RETRY_AFTER_SECONDS = 10;
/** Bytes of the probe write that tells when storage accepts writes again. */
const PROBE_BYTES = 4096;
/** Name of the ballast file, in the folder given as `ballastDir`. */
const BALLAST_NAME = ".motorcade-ballast";

/** Options of {@linkcode DiskHealth}. */
export interface DiskHealthOptions {
  /** Folders whose file systems hold what the server writes (data, catalog, objects, bus). */
  paths: string[];
  /** Below this many free bytes on any of them, uploads are refused (0: only when full). */
  minFreeBytes: number;
  /**
   * Folder of a ballast file (the catalog's): space held back while there is plenty, and given
   * up when a start finds the disk full, so that the catalog can open (SQLite's WAL index and
   * first writes need room). Unset, or MIN_FREE_BYTES 0: no ballast.
   */
  ballastDir?: string;
  /** Bytes of the ballast; default 4 MiB. */
  ballastBytes?: number;
  logger?: Logger;
  /** Between checks; default 2 s. */
  intervalMs?: number;
}

/**
 * Whether the server can write to its storage. Components report the writes storage refused
 * (disk full, quota, I/O error, read-only); free space is read every 2 s (statfs). While a
 * refusal stands, or free space is below MIN_FREE_BYTES, uploads are refused with 507 (leaving
 * the room that remains to the catalog and the bus, which record what was accepted) and
 * `/readyz` says why; a probe write every 2 s tells when storage accepts writes again. A ballast
 * file (CockroachDB's idea) keeps a few MiB back for a start on a full disk.
 *
 * @example
 * const disk = new DiskHealth({ paths: [dataDir], minFreeBytes: 256 * 2 ** 20, logger });
 * await disk.check();
 * disk.start();
 * disk.refuseWhenFull("segment 42"); // throws InsufficientStorageError while writes fail
 */
export class DiskHealth implements WriteFailureSink {
  readonly #paths: string[];
  #failure: { component: string; reason: string; at: Date } | undefined;
  #low: { path: string; free: number } | undefined;
  readonly #free = new Map<string, number>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #checking: Promise<void> | undefined;
  readonly #errors = new Counter({
    name: "motorcade_storage_write_errors_total",
    help: "Writes that storage refused (disk full, quota, I/O error, read-only), by component",
    labelNames: ["component"],
    registers: [],
  });

  constructor(private readonly options: DiskHealthOptions) {
    this.#paths = [...new Set(options.paths)];
  }

  /** Starts the periodic check. */
  start(): void {
    this.#timer ??= setInterval(
      () => void this.check(),
      this.options.intervalMs ?? CHECK_INTERVAL_MS,
    );
    Deno.unrefTimer(this.#timer);
  }

  /** Stops the periodic check; safe to call twice. */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  report(component: string, error: unknown): boolean {
    const reason = writeFailureOf(error);
    if (!reason) return false;
    this.#errors.inc({ component });
    if (!this.#failure) {
      this.options.logger?.error(
        "Storage refuses writes: uploads are refused until it accepts them again",
        { component, reason },
      );
    }
    this.#failure = { component, reason, at: new Date() };
    return true;
  }

  /** Reads free space and, while writes are refused, probes whether they work again. */
  check(): Promise<void> {
    this.#checking ??= this.#check().finally(() => this.#checking = undefined);
    return this.#checking;
  }

  async #check(): Promise<void> {
    let low: { path: string; free: number } | undefined;
    for (const path of this.#paths) {
      const free = await freeBytes(path);
      if (free === undefined) continue; // not made yet: nothing written there yet either
      this.#free.set(path, free);
      if (free === 0 || free < this.options.minFreeBytes) low ??= { path, free };
    }
    if (low && !this.#low) {
      this.options.logger?.warn("Free space is below MIN_FREE_BYTES: uploads are refused", {
        ...low,
        minFreeBytes: this.options.minFreeBytes,
      });
    } else if (!low && this.#low) {
      this.options.logger?.info("Free space is above MIN_FREE_BYTES again: uploads resume", {
        path: this.#low.path,
      });
    }
    this.#low = low;
    if (!this.#failure) return await this.#keepBallast();
    try {
      for (const path of this.#paths) await probe(path);
    } catch (error) {
      const reason = writeFailureOf(error);
      if (reason) this.#failure = { ...this.#failure, reason };
      return;
    }
    this.options.logger?.info("Storage accepts writes again", {
      refusedSince: this.#failure.at.toISOString(),
    });
    this.#failure = undefined;
  }

  /**
   * Gives up the ballast when its disk is below MIN_FREE_BYTES (or full): call it before opening
   * the catalog. The ballast comes back once free space allows it again.
   */
  async releaseBallastWhenFull(): Promise<void> {
    const ballast = this.#ballast();
    if (!ballast) return;
    const free = await freeBytes(ballast.dir);
    if (free === undefined || (free > 0 && free >= this.options.minFreeBytes)) return;
    try {
      await Deno.remove(ballast.path);
    } catch {
      return; // none was kept
    }
    this.options.logger?.warn("The disk is full: gave up the ballast so the server can start", {
      path: ballast.path,
      bytes: ballast.bytes,
      freeBefore: free,
    });
  }

  /** Makes the ballast when it is missing and there is room for it above MIN_FREE_BYTES. */
  async #keepBallast(): Promise<void> {
    const ballast = this.#ballast();
    if (!ballast || this.#low) return;
    const free = await freeBytes(ballast.dir);
    if (free === undefined || free < this.options.minFreeBytes + 2 * ballast.bytes) return;
    try {
      if ((await Deno.stat(ballast.path)).size === ballast.bytes) return;
    } catch { /* missing: make it */ }
    try {
      // Zeros written, not a sparse file: the blocks must really be held.
      await Deno.writeFile(ballast.path, new Uint8Array(ballast.bytes), { mode: 0o600 });
    } catch {
      await Deno.remove(ballast.path).catch(() => {});
    }
  }

  #ballast(): { dir: string; path: string; bytes: number } | undefined {
    const dir = this.options.ballastDir;
    if (dir === undefined || this.options.minFreeBytes === 0) return undefined;
    return { dir, path: join(dir, BALLAST_NAME), bytes: this.options.ballastBytes ?? 4 << 20 };
  }

  /** Why writes are refused now, in a sentence; undefined when they are not. */
  problem(): string | undefined {
    if (this.#failure) {
      const { component, reason, at } = this.#failure;
      return `Storage refuses writes: ${reason} (${component}, since ${at.toISOString()})`;
    }
    if (this.#low?.free === 0) return `No space left on "${this.#low.path}"`;
    if (this.#low) {
      return `Free space on "${this.#low.path}" is ${this.#low.free} bytes, below ` +
        `MIN_FREE_BYTES (${this.options.minFreeBytes})`;
    }
    return undefined;
  }

  /** Throws InsufficientStorageError (507, Retry-After) for `what` while writes are refused. */
  refuseWhenFull(what: string): void {
    const problem = this.problem();
    if (!problem) return;
    throw new InsufficientStorageError(
      `Cannot accept ${what} now: ${problem}; retry later`,
      this.#failure?.reason ??
        (this.#low?.free === 0 ? "no space left" : "free space below MIN_FREE_BYTES"),
      RETRY_AFTER_SECONDS,
    );
  }

  /** The readiness check: rejects with the reason while writes are refused. */
  ready(): Promise<void> {
    const problem = this.problem();
    return problem ? Promise.reject(new Error(problem)) : Promise.resolve();
  }

  /**
   * Registers `motorcade_storage_write_errors_total{component}`, `motorcade_storage_writable`
   * (0 while writes are refused) and `motorcade_storage_free_bytes{path}`.
   */
  registerMetrics(registry: Registry): void {
    registry.registerMetric(this.#errors);
    const problem = () => this.problem();
    const free = this.#free;
    new Gauge({
      name: "motorcade_storage_writable",
      help: "1 when storage accepts writes and has MIN_FREE_BYTES free, else 0 (uploads refused)",
      registers: [registry],
      collect() {
        this.set(problem() ? 0 : 1);
      },
    });
    new Gauge({
      name: "motorcade_storage_free_bytes",
      help: "Free bytes of each file system the server writes to, as last read",
      labelNames: ["path"],
      registers: [registry],
      collect() {
        for (const [path, bytes] of free) this.set({ path }, bytes);
      },
    });
  }
}

/** Free bytes of the file system of `dir`; undefined when it cannot be read. */
async function freeBytes(dir: string): Promise<number | undefined> {
  try {
    const stats = await statfs(dir);
    return Number(stats.bavail) * Number(stats.bsize);
  } catch {
    return undefined;
  }
}

/** Writes, syncs and removes a small file in `dir`; throws what the storage says. */
async function probe(dir: string): Promise<void> {
  const path = join(dir, ".motorcade-write-probe");
  try {
    const file = await Deno.open(path, { write: true, create: true, truncate: true });
    try {
      let written = 0;
      const bytes = new Uint8Array(PROBE_BYTES);
      while (written < bytes.byteLength) written += await file.write(bytes.subarray(written));
      await file.syncData();
    } finally {
      file.close();
    }
  } finally {
    await Deno.remove(path).catch(() => {});
  }
}
