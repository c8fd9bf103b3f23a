import { join } from "node:path";
import type { WriteFailureSink } from "../disk/mod.ts";
import type { Registry } from "prom-client";
import type { Logger } from "../log/mod.ts";
import { DeadLetterCounter, deadLettering, deadLetterTopic } from "./dead_letter.ts";
import type { BatchHandler, BusMessage, Consumer, EventBus } from "./types.ts";

const ROLL_BYTES = 16 * 1024 * 1024;
const BATCH_BYTES = 1024 * 1024;
const TOPIC_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/**
 * A consuming group writes its offset at most this often (and when it stops): a restart delivers
 * again at most the events of that long, which at-least-once consumers tolerate. Writing it after
 * every batch cost a file created and one deleted per batch.
 */
const COMMIT_INTERVAL_MS = 1000;
/** Longest wait before a failed batch (or a failed read of the log) is tried again. */
const MAX_RETRY_MS = 10_000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface Pending {
  line: Uint8Array;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** One topic: log files named by the offset of their first byte, appended with group commit. */
class TopicLog {
  #files: number[] = [];
  #active!: Deno.FsFile;
  /** Offset up to which everything is written and synced: readers never go past it. */
  durableEnd = 0;
  #pending: Pending[] = [];
  #flushing = false;
  #waiters: Array<() => void> = [];

  constructor(readonly dir: string) {}

  open(): void {
    Deno.mkdirSync(this.dir, { recursive: true });
    this.#files = [...Deno.readDirSync(this.dir)]
      .filter((e) => e.isFile && /^\d{20}\.log$/.test(e.name))
      .map((e) => Number(e.name.slice(0, 20)))
      .sort((a, b) => a - b);
    if (this.#files.length === 0) this.#files.push(0);
    const base = this.#files.at(-1)!;
    const path = this.#path(base);
    this.#active = Deno.openSync(path, { read: true, write: true, create: true });
    // A crash can leave half a line after the last synced one; nobody was told it was published.
    const bytes = Deno.readFileSync(path);
    const end = bytes.lastIndexOf(10) + 1;
    if (end < bytes.byteLength) this.#active.truncateSync(end);
    this.#active.seekSync(end, Deno.SeekMode.Start);
    this.durableEnd = base + end;
  }

  #path(base: number): string {
    return join(this.dir, `${String(base).padStart(20, "0")}.log`);
  }

  append(line: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ line, resolve, reject });
      if (!this.#flushing) queueMicrotask(() => this.#flush());
    });
  }

  async #flush(): Promise<void> {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      while (this.#pending.length) {
        const batch = this.#pending.splice(0);
        const size = batch.reduce((n, p) => n + p.line.byteLength, 0);
        const bytes = new Uint8Array(size);
        let at = 0;
        for (const p of batch) {
          bytes.set(p.line, at);
          at += p.line.byteLength;
        }
        try {
          // The write only copies into the page cache; the fsync is what waits for the disk.
          let written = 0;
          while (written < size) written += this.#active.writeSync(bytes.subarray(written));
          await this.#active.syncData();
          this.durableEnd += size;
          for (const p of batch) p.resolve();
        } catch (error) {
          // Undo a partial write so the log stays whole lines up to durableEnd.
          const base = this.#files.at(-1)!;
          await this.#active.truncate(this.durableEnd - base).catch(() => {});
          await this.#active.seek(this.durableEnd - base, Deno.SeekMode.Start).catch(() => {});
          for (const p of batch) p.reject(error);
          continue;
        }
        for (const wake of this.#waiters.splice(0)) wake();
        if (this.durableEnd - this.#files.at(-1)! >= ROLL_BYTES) {
          try {
            this.#roll();
          } catch {
            /* a full disk, say: the active file grows on, and rolls after the next write */
          }
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  /** Starts a new log file; when it cannot be made, the active one stays. */
  #roll(): void {
    const next = Deno.openSync(this.#path(this.durableEnd), {
      read: true,
      write: true,
      create: true,
    });
    this.#active.close();
    this.#files.push(this.durableEnd);
    this.#active = next;
  }

  /** Waits until something is appended past `offset`, or `ms` pass. */
  wait(offset: number, ms: number): Promise<void> {
    if (this.durableEnd > offset) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Reads whole lines from `offset`, up to about `maxBytes`. */
  async read(offset: number, maxBytes: number): Promise<Array<{ offset: number; line: string }>> {
    const end = this.durableEnd;
    if (offset >= end) return [];
    const index = this.#files.findLastIndex((base) => base <= offset);
    const base = this.#files[index];
    const fileEnd = Math.min(end, this.#files[index + 1] ?? end);
    const length = Math.min(maxBytes, fileEnd - offset);
    const file = await Deno.open(this.#path(base), { read: true });
    try {
      await file.seek(offset - base, Deno.SeekMode.Start);
      const buffer = new Uint8Array(length);
      let read = 0;
      while (read < length) {
        const n = await file.read(buffer.subarray(read));
        if (n === null) break;
        read += n;
      }
      const out: Array<{ offset: number; line: string }> = [];
      let start = 0;
      for (let i = 0; i < read; i++) {
        if (buffer[i] !== 10) continue;
        out.push({ offset: offset + start, line: decoder.decode(buffer.subarray(start, i)) });
        start = i + 1;
      }
      if (out.length === 0 && read === length && length === maxBytes) {
        return await this.read(offset, maxBytes * 2); // one line longer than a batch
      }
      return out;
    } finally {
      file.close();
    }
  }

  /** Deletes log files that every group has consumed entirely. */
  truncateBefore(offset: number): void {
    while (this.#files.length > 1 && this.#files[1] <= offset) {
      Deno.removeSync(this.#path(this.#files.shift()!));
    }
  }

  close(): void {
    this.#active.close();
  }
}

/**
 * The embedded event bus: an append-only, fsynced log per topic in `dir`, with consumer groups
 * whose committed offsets are files. Publishing resolves only once the event is on disk (many
 * concurrent publishes share one fsync), so an acknowledged event survives a crash, and a
 * consumer resumes after its last committed offset, committed about every second and when it
 * stops (as Kafka's consumers auto-commit): Kafka's guarantees on one machine.
 */
export class LogBus implements EventBus {
  readonly kind = "log";
  /** Messages moved to dead-letter topics (`motorcade_bus_dead_letters_total`). */
  readonly deadLetters = new DeadLetterCounter();
  readonly #topics = new Map<string, TopicLog>();
  readonly #consumers = new Set<Consumer>();
  #closed = false;

  /**
   * Opens the log in `dir`. Writes storage refuses (disk full) are told to `disk`; a consumer
   * survives them: it retries, and commits its offset again once writes work.
   */
  constructor(
    readonly dir: string,
    private readonly logger?: Logger,
    private readonly disk?: WriteFailureSink,
  ) {
    Deno.mkdirSync(dir, { recursive: true });
  }

  #topic(name: string): TopicLog {
    if (!TOPIC_NAME.test(name)) throw new TypeError(`Topic name "${name}" is not valid`);
    let topic = this.#topics.get(name);
    if (!topic) {
      topic = new TopicLog(join(this.dir, name));
      topic.open();
      this.#topics.set(name, topic);
    }
    return topic;
  }

  publish(topic: string, key: string, value: unknown): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("Bus is closed"));
    const line = JSON.stringify({ k: key, v: value, t: Date.now() }) + "\n";
    return this.#topic(topic).append(encoder.encode(line));
  }

  subscribe<T>(topicName: string, group: string, handle: BatchHandler<T>): Consumer {
    if (!TOPIC_NAME.test(group)) throw new TypeError(`Group name "${group}" is not valid`);
    const handler = deadLettering(handle, {
      topic: topicName,
      group,
      attempts: 5,
      counter: this.deadLetters,
      logger: this.logger,
      publish: (letter, key) => this.publish(deadLetterTopic(topicName), key, letter),
    });
    const topic = this.#topic(topicName);
    const offsetFile = join(topic.dir, `${group}.offset`);
    let offset = 0;
    try {
      offset = Number(Deno.readTextFileSync(offsetFile).trim()) || 0;
    } catch { /* a new group starts at the beginning */ }
    let stopping = false;
    let failures = 0;
    let committed = offset;
    let committedAt = Date.now();
    let commitFailing = false;
    const fields = () => ({ topic: topicName, group, offset });
    // A commit that fails (a full disk) is not fatal: consuming goes on, the next commit retries,
    // and a restart meanwhile delivers again what came after the last commit (at least once).
    const commit = async () => {
      if (offset === committed) return;
      const at = offset;
      try {
        const tmp = `${offsetFile}.tmp`;
        await Deno.writeTextFile(tmp, String(at));
        await Deno.rename(tmp, offsetFile);
        committed = at;
        if (commitFailing) this.logger?.info("bus consumer commits its offset again", fields());
        commitFailing = false;
        this.#truncate(topicName);
      } catch (error) {
        this.disk?.report("bus", error);
        if (!commitFailing) {
          this.logger?.error("Cannot commit the bus consumer's offset; retrying", {
            ...fields(),
            committed,
            error,
          });
        }
        commitFailing = true;
      } finally {
        committedAt = Date.now();
      }
    };
    const retry = (what: string, error: unknown) => {
      failures++;
      this.disk?.report("bus", error);
      this.logger?.error(what, { ...fields(), failures, error });
      return new Promise((r) => setTimeout(r, Math.min(MAX_RETRY_MS, 100 * 2 ** failures)));
    };
    const loop = (async () => {
      while (!stopping) {
        if (Date.now() - committedAt >= COMMIT_INTERVAL_MS) await commit();
        let lines: Awaited<ReturnType<TopicLog["read"]>>;
        let batch: BusMessage<T>[];
        try {
          lines = await topic.read(offset, BATCH_BYTES);
          batch = lines.map(({ offset, line }) => {
            const record = JSON.parse(line);
            return {
              topic: topicName,
              offset,
              key: record.k,
              value: record.v,
              publishedAt: record.t,
            };
          });
        } catch (error) {
          await retry("Cannot read the bus log; retrying", error);
          continue;
        }
        if (lines.length === 0) {
          await topic.wait(offset, COMMIT_INTERVAL_MS);
          continue;
        }
        try {
          await handler(batch);
          failures = 0;
        } catch (error) {
          await retry("bus consumer failed; retrying the batch", error);
          continue;
        }
        const last = lines.at(-1)!;
        offset = last.offset + encoder.encode(last.line).byteLength + 1;
      }
      await commit();
    })();
    const consumer: Consumer = {
      close: async () => {
        stopping = true;
        await loop;
        this.#consumers.delete(consumer);
      },
    };
    this.#consumers.add(consumer);
    return consumer;
  }

  /** Deletes log files every group has consumed; a failure leaves them for the next commit. */
  #truncate(topicName: string): void {
    const topic = this.#topics.get(topicName)!;
    try {
      const offsets = [...Deno.readDirSync(topic.dir)]
        .filter((e) => e.name.endsWith(".offset"))
        .map((e) => Number(Deno.readTextFileSync(join(topic.dir, e.name))) || 0);
      if (offsets.length) topic.truncateBefore(Math.min(...offsets));
    } catch (error) {
      this.logger?.warn("Cannot delete consumed bus log files; retrying at the next commit", {
        topic: topicName,
        error,
      });
    }
  }

  async ping(): Promise<void> {
    await Deno.stat(this.dir);
  }

  /** The bus's counters on a Prometheus registry. */
  registerMetrics(registry: Registry): void {
    this.deadLetters.registerMetrics(registry);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#consumers].map((c) => c.close()));
    for (const topic of this.#topics.values()) topic.close();
  }
}
