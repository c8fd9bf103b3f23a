/**
 * Live data usage: the bytes the server received from each camera's live publication, read from
 * Janus's Admin API (the publisher handle's `webrtc.media[*].stats.in.bytes`, RTP as Janus
 * received it) every `intervalMs` and once when the publication ends, the growth since the last
 * read handed to a sink (the vehicle's usage of kind "live" and the upload-bytes metric).
 */
import type { JanusAdmin } from "../janus/mod.ts";
import type { Logger } from "../log/mod.ts";

/** Bytes one camera's publication brought in since the last read. */
export interface LiveBytes {
  fleetId: string;
  vehicleId: string;
  /** The camera's name (as live streams know it). */
  camera: string;
  bytes: number;
  /** When they were measured (epoch ms): their usage day. */
  atMs: number;
}

/** Where measured live bytes go. */
export type LiveUsageSink = (entry: LiveBytes) => Promise<void>;

/** The publication a meter reads: its camera and its Janus publisher handle. */
export interface MeteredPublisher {
  fleetId: string;
  vehicleId: string;
  camera: string;
  sessionId: number;
  handleId: number;
}

/** Bytes a handle received over all its media (from `handle_info`); null without WebRTC media. */
export function receivedBytes(info: Record<string, unknown>): number | null {
  const webrtc = info.webrtc as { media?: Record<string, Record<string, unknown>> } | undefined;
  const media = Object.values(webrtc?.media ?? {});
  if (media.length === 0) return null;
  let bytes = 0;
  for (const medium of media) {
    const stats = (medium.stats ?? {}) as Record<string, Record<string, number> | undefined>;
    // Simulcast substreams past the first are counted apart (`in-1`, or `bytes-sim1` in `in`).
    for (const [name, counters] of Object.entries(stats)) {
      if (!/^in(-\d+)?$/.test(name)) continue;
      for (const [counter, value] of Object.entries(counters ?? {})) {
        if (/^bytes(-sim\d+)?$/.test(counter)) bytes += Number(value ?? 0);
      }
    }
  }
  return bytes;
}

const FINAL_READ_TIMEOUT_MS = 2_000;
/** Failed periodic reads after which a publication is forgotten (its handle is gone). */
const MAX_FAILURES = 3;

interface Tracked {
  publisher: MeteredPublisher;
  /** Bytes counted so far (the last read). */
  counted: number;
  failures: number;
  /** The read under way: reads of one publication run one after another. */
  chain: Promise<void>;
}

/** Reads the received bytes of live publishers periodically and when they end. */
export class LiveUsageMeter {
  readonly #tracked = new Map<string, Tracked>();
  readonly #pending = new Set<Promise<void>>();
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    readonly admin: JanusAdmin,
    readonly sink: LiveUsageSink,
    readonly options: { intervalMs: number; logger: Logger },
  ) {}

  /** Starts the periodic reads. */
  start(): void {
    this.#timer ??= setInterval(() => {
      for (const tracked of this.#tracked.values()) this.#track(this.#read(tracked, false));
    }, this.options.intervalMs);
  }

  /** Meters a publication from now on (its handle received nothing before). */
  publishing(publisher: MeteredPublisher): void {
    this.#tracked.set(`${publisher.sessionId}/${publisher.handleId}`, {
      publisher,
      counted: 0,
      failures: 0,
      chain: Promise.resolve(),
    });
  }

  /** The publication ends: counts what came since the last read (call before detaching). */
  ended(sessionId: number, handleId: number): Promise<void> {
    const key = `${sessionId}/${handleId}`;
    const tracked = this.#tracked.get(key);
    if (!tracked) return Promise.resolve();
    this.#tracked.delete(key);
    return this.#track(this.#read(tracked, true));
  }

  #track(read: Promise<void>): Promise<void> {
    this.#pending.add(read);
    return read.finally(() => this.#pending.delete(read));
  }

  #read(tracked: Tracked, final: boolean): Promise<void> {
    tracked.chain = tracked.chain.then(async () => {
      const { publisher } = tracked;
      let total: number | null;
      try {
        const info = this.admin.handleInfo(publisher.sessionId, publisher.handleId);
        total = receivedBytes(
          final
            ? await Promise.race([
              info,
              new Promise<never>((_, reject) =>
                setTimeout(() => reject(new Error("no answer in time")), FINAL_READ_TIMEOUT_MS)
              ),
            ])
            : await info,
        );
      } catch (error) {
        tracked.failures += 1;
        const key = `${publisher.sessionId}/${publisher.handleId}`;
        if (tracked.failures >= MAX_FAILURES) this.#tracked.delete(key);
        this.options.logger.debug("cannot read live bytes", {
          camera: publisher.camera,
          vehicleId: publisher.vehicleId,
          error: (error as Error).message,
        });
        return;
      }
      tracked.failures = 0;
      if (total === null || total <= tracked.counted) return;
      const bytes = total - tracked.counted;
      tracked.counted = total;
      const { fleetId, vehicleId, camera } = publisher;
      try {
        await this.sink({ fleetId, vehicleId, camera, bytes, atMs: Date.now() });
      } catch (error) {
        this.options.logger.warn("cannot count live bytes", {
          camera,
          vehicleId,
          bytes,
          error: (error as Error).message,
        });
      }
    });
    return tracked.chain;
  }

  /** Stops the periodic reads and waits for the reads under way (the final ones). */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await Promise.allSettled([...this.#pending]);
  }
}
