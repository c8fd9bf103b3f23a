/**
 * The uploader: drains the spool to the server's ingest API. Each init or media segment goes by
 * HTTPS PUT to its idempotent key with its RFC 9530 digest, and is deleted locally only after a
 * 2xx. Network errors, 429 and 5xx back off with full jitter (honouring Retry-After); 401 renews
 * the device token; 403/404 hold the camera back for a long while; other refusals are permanent
 * and quarantine the file. A back-off for network errors ends as soon as the server is seen again
 * (a probe of `/healthz`, a delivered heartbeat, an upload); one the server asked for does not.
 */
import type { Logger } from "../lib/log/mod.ts";
import {
  type BackoffPolicy,
  fullJitter,
  NETWORK_BACKOFF,
  parseRetryAfter,
  RateLimiter,
  retryDelay,
  sleep,
} from "./backoff.ts";
import { DeviceAuthError } from "./identity.ts";
import type { QueueEntry } from "./queue_entry.ts";
import type { ServerClock } from "./server_clock.ts";
import { ServerProbe } from "./server_probe.ts";
import type { Spool } from "./spool.ts";

/** Where device tokens come from ({@linkcode DeviceTokens} in production). */
export interface TokenSource {
  token(): Promise<string>;
  invalidate(): void;
}

/** Options of {@linkcode Uploader}. */
export interface UploaderOptions {
  spool: Spool;
  tokens: TokenSource;
  serverUrl: string;
  vehicleId: string;
  logger: Logger;
  concurrency?: number;
  /** Average upload rate cap; null or undefined for none. */
  bytesPerSecond?: number | null;
  backoff?: BackoffPolicy;
  /** How long a camera the server does not know (403/404) is held back. */
  blockedMs?: number;
  random?: () => number;
  /** The server's clock: times go with their correction to it, and every response teaches it. */
  clock?: ServerClock;
  /** Pause between probes of the server while network errors hold uploads back (default 1 s). */
  probeIntervalMs?: number;
}

/** How one attempt ended. */
type Outcome =
  | { kind: "done"; status: number }
  | { kind: "retry"; delayMs: number; reason: string; unreachable?: boolean }
  | { kind: "block"; reason: string }
  | { kind: "permanent"; reason: string }
  | { kind: "reauth" };

/** Formats a duration in seconds as the server expects: `2.000`, `2.002002`. */
export function formatDuration(seconds: number): string {
  const text = seconds.toFixed(6).replace(/0+$/, "");
  const [whole, fraction = ""] = text.split(".");
  return `${whole}.${fraction.padEnd(3, "0")}`;
}

/** Drains the spool to the server. */
export class Uploader {
  readonly #log: Logger;
  readonly #stop = new AbortController();
  readonly #abort = new AbortController();
  readonly #limiter: RateLimiter | undefined;
  readonly #lastUpload = new Map<string, number>();
  readonly #blocked = new Map<string, number>();
  readonly #probe: ServerProbe;
  #workers: Promise<void>[] = [];
  /** Until when the server asked for quiet (Retry-After, 5xx, 429): nothing shortens it. */
  #gateUntil = 0;
  /** Until when network errors hold uploads back: any sign of the server ends it. */
  #unreachableUntil = 0;
  #gateOpened = new AbortController();
  #attempt = 0;
  #reauths = 0;
  readonly #waiters = new Set<() => void>();

  constructor(private readonly options: UploaderOptions) {
    this.#log = options.logger;
    if (options.bytesPerSecond) this.#limiter = new RateLimiter(options.bytesPerSecond);
    this.#probe = new ServerProbe({
      serverUrl: options.serverUrl,
      intervalMs: options.probeIntervalMs,
      random: options.random,
      onReturn: () => this.serverReachable("probe"),
    });
  }

  /** Starts the upload workers. */
  start(): void {
    if (this.#workers.length) return;
    for (let i = 0; i < (this.options.concurrency ?? 2); i++) this.#workers.push(this.#work());
  }

  /** Tells idle workers something was queued. */
  wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  /**
   * Ends a back-off caused by network errors: the server was seen answering (`via` a delivered
   * heartbeat, a probe, an upload). A wait the server asked for (Retry-After, 429, 5xx) is kept.
   */
  serverReachable(via: string): void {
    const now = performance.now();
    if (this.#unreachableUntil <= now) return;
    const cutMs = Math.round(this.#unreachableUntil - Math.max(now, this.#gateUntil));
    this.#unreachableUntil = 0;
    if (cutMs <= 0) return;
    this.#log.info("server reachable again; retrying uploads now", {
      via,
      cutMs,
      failedAttempts: this.#attempt,
    });
    this.#gateOpened.abort();
    this.#gateOpened = new AbortController();
  }

  /** Time of the last acknowledged upload of a camera, if any since start. */
  lastUploadAt(camera: string): number | undefined {
    return this.#lastUpload.get(camera);
  }

  /** Waits until the queue is empty or `timeoutMs` passed; true if it emptied. */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (this.options.spool.size > 0 && performance.now() < deadline) {
      await sleep(Math.min(100, deadline - performance.now()));
    }
    return this.options.spool.size === 0;
  }

  /**
   * Stops taking new work and waits for the uploads in flight; after `graceMs` they are aborted
   * (their files stay queued). Safe to call twice.
   */
  async close(graceMs = 15_000): Promise<void> {
    this.#stop.abort();
    this.wake();
    const timer = setTimeout(() => this.#abort.abort(), graceMs);
    await Promise.all([...this.#workers, this.#probe.close()]);
    clearTimeout(timer);
  }

  async #work(): Promise<void> {
    const { spool } = this.options;
    while (!this.#stop.signal.aborted) {
      const wait = Math.max(this.#gateUntil, this.#unreachableUntil) - performance.now();
      if (wait > 0) {
        await sleep(wait, AbortSignal.any([this.#stop.signal, this.#gateOpened.signal]));
        continue;
      }
      const now = performance.now();
      const entry = spool.take((camera) => (this.#blocked.get(camera) ?? 0) > now);
      if (!entry) {
        await this.#idle();
        continue;
      }
      let outcome: Outcome;
      try {
        outcome = await this.#upload(entry);
      } catch (error) {
        this.#log.error("upload failed unexpectedly", { file: entry.file, error });
        outcome = { kind: "retry", delayMs: 0, reason: String(error) };
      }
      try {
        await this.#settle(entry, outcome);
      } catch (error) {
        // A disk error must not stop the uploads: the entry stays queued for a later attempt.
        this.options.spool.release(entry);
        this.#log.error("cannot settle an upload", { file: entry.file, error });
        this.#backOff(undefined, String(error));
      }
    }
  }

  /** Waits for a wake-up, the end of a camera's hold, or a second at most. */
  async #idle(): Promise<void> {
    const holds = [...this.#blocked.values()].map((until) => until - performance.now());
    const ms = Math.max(50, Math.min(1000, ...holds.filter((ms) => ms > 0)));
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#waiters.add(done);
    });
  }

  async #settle(entry: QueueEntry, outcome: Outcome): Promise<void> {
    const { spool } = this.options;
    const fields = { camera: entry.camera, recordingId: entry.recordingId, file: entry.file };
    switch (outcome.kind) {
      case "done":
        this.serverReachable("upload");
        await spool.done(entry);
        if (this.#attempt > 0) {
          this.#log.info("uploads resumed", { failedAttempts: this.#attempt });
        }
        this.#attempt = 0;
        this.#reauths = 0;
        this.#lastUpload.set(entry.camera, Date.now());
        this.#log.debug("uploaded", { ...fields, status: outcome.status });
        return;
      case "reauth":
        spool.release(entry);
        this.options.tokens.invalidate();
        if (++this.#reauths > 1) this.#backOff(undefined, "401 after a fresh token");
        return;
      case "retry": {
        spool.release(entry);
        if (this.#stop.signal.aborted) return;
        const delay = this.#backOff(
          outcome.delayMs || undefined,
          outcome.reason,
          outcome.unreachable,
        );
        // Being offline is normal on a vehicle: warn when a streak of failures starts, then quietly.
        this.#log[this.#attempt === 1 ? "warn" : "debug"]("upload failed; will retry", {
          ...fields,
          reason: outcome.reason,
          retryInMs: delay,
        });
        return;
      }
      case "block": {
        spool.release(entry);
        const blockedMs = this.options.blockedMs ?? 5 * 60_000;
        const hold = blockedMs / 2 +
          fullJitter(0, { baseMs: blockedMs / 2, capMs: blockedMs }, this.options.random);
        this.#blocked.set(entry.camera, performance.now() + hold);
        this.#log.error("server refuses this camera's uploads; holding them back", {
          ...fields,
          reason: outcome.reason,
          retryInMs: Math.round(hold),
        });
        return;
      }
      case "permanent":
        if (entry.kind === "end") {
          await spool.done(entry);
          this.#log.error("server refused the end of a recording; dropped", {
            ...fields,
            reason: outcome.reason,
          });
        } else await spool.quarantine(entry, outcome.reason);
        return;
    }
  }

  /**
   * Closes the gate for every worker for a jittered delay; returns it. When the server could not be
   * reached, the server is probed meanwhile and its return opens the gate early.
   */
  #backOff(retryAfterMs: number | undefined, reason: string, unreachable = false): number {
    const delay = retryDelay(
      this.#attempt++,
      retryAfterMs,
      this.options.backoff ?? NETWORK_BACKOFF,
      this.options.random,
    );
    const until = performance.now() + delay;
    if (unreachable) {
      this.#unreachableUntil = Math.max(this.#unreachableUntil, until);
      this.#probe.watch(() =>
        !this.#stop.signal.aborted &&
        this.#unreachableUntil > Math.max(performance.now(), this.#gateUntil)
      );
    } else this.#gateUntil = Math.max(this.#gateUntil, until);
    this.#log.debug("backing off", { reason, delayMs: delay, attempt: this.#attempt, unreachable });
    return delay;
  }

  /** `{ [field]: RFC 3339 }`: a time of `entry` on the server's clock, when it can be known. */
  #corrected(field: string, wallMs: number, entry: QueueEntry): Record<string, string> {
    const corrected = this.options.clock?.correct(wallMs, entry);
    return corrected === undefined ? {} : { [field]: new Date(corrected).toISOString() };
  }

  async #upload(entry: QueueEntry): Promise<Outcome> {
    const { serverUrl, vehicleId } = this.options;
    const base = `${serverUrl}/api/v1/ingest/vehicles/${
      encodeURIComponent(vehicleId)
    }/cameras/${entry.camera}/recordings/${entry.recordingId}`;
    let url: string;
    let init: RequestInit;
    const rendition = { "motorcade-rendition": entry.rendition ?? "full" };
    if (entry.kind === "end") {
      url = `${base}/end`;
      init = {
        method: "POST",
        headers: { "content-type": "application/json", ...rendition },
        body: JSON.stringify({
          endedAt: new Date(entry.endedAtMs!).toISOString(),
          ...this.#corrected("endedAtCorrected", entry.endedAtMs!, entry),
        }),
      };
    } else {
      let body: Uint8Array;
      try {
        body = await this.options.spool.read(entry);
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) {
          return { kind: "permanent", reason: "the queued file vanished from the disk" };
        }
        throw error;
      }
      const headers: Record<string, string> = {
        "content-digest": `sha-256=:${entry.sha256}:`,
        ...rendition,
      };
      if (entry.kind === "init") {
        url = `${base}/init`;
        headers["content-type"] = "video/mp4";
      } else {
        url = `${base}/segments/${entry.sequence}`;
        headers["content-type"] = "video/iso.segment";
        headers["motorcade-segment-start"] = new Date(entry.startMs!).toISOString();
        headers["motorcade-segment-duration"] = formatDuration(entry.durationS!);
        headers["motorcade-upload-kind"] = entry.recallId === undefined ? "continuous" : "recall";
        if (entry.recallId !== undefined) headers["motorcade-recall-id"] = entry.recallId;
        Object.assign(
          headers,
          this.#corrected("motorcade-segment-start-corrected", entry.startMs!, entry),
        );
      }
      init = { method: "PUT", headers, body: body as BodyInit };
      if (this.#limiter) {
        let wait;
        while ((wait = this.#limiter.take(body.byteLength)) > 0) {
          await sleep(wait, this.#abort.signal);
          if (this.#abort.signal.aborted) return { kind: "retry", delayMs: 0, reason: "stopping" };
        }
      }
    }
    let token: string;
    try {
      token = await this.options.tokens.token();
    } catch (error) {
      if (error instanceof DeviceAuthError && error.status !== 0 && error.status < 500) {
        return { kind: "block", reason: `device token refused: ${error.message}` };
      }
      return {
        kind: "retry",
        delayMs: 0,
        reason: `no device token: ${(error as Error).message}`,
        unreachable: error instanceof DeviceAuthError && error.status === 0,
      };
    }
    (init.headers as Record<string, string>).authorization = `Bearer ${token}`;
    const timeoutMs = 30_000 + entry.bytes / 16;
    let response: Response;
    try {
      response = await (this.options.clock?.fetch ?? fetch)(url, {
        ...init,
        signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(timeoutMs)]),
      });
    } catch (error) {
      return {
        kind: "retry",
        delayMs: 0,
        reason: `network: ${(error as Error).message}`,
        unreachable: true,
      };
    }
    const status = response.status;
    if (status >= 200 && status < 300) {
      await response.body?.cancel();
      return { kind: "done", status };
    }
    const detail = await problemDetail(response);
    const reason = `${status}: ${detail}`;
    if (status === 401) return { kind: "reauth" };
    if (status === 403 || status === 404) return { kind: "block", reason };
    if (status === 408 || status === 429 || status >= 500) {
      return {
        kind: "retry",
        delayMs: parseRetryAfter(response.headers.get("retry-after")) ?? 0,
        reason,
      };
    }
    // 400 (digest, headers), 409 (other bytes under this key), 413, 415 and the rest of 4xx
    // will not change by retrying.
    if (status >= 400) return { kind: "permanent", reason };
    return { kind: "retry", delayMs: 0, reason };
  }
}

async function problemDetail(response: Response): Promise<string> {
  const text = await response.text().catch(() => "");
  try {
    return String(JSON.parse(text).detail ?? text).slice(0, 300);
  } catch {
    return text.slice(0, 300);
  }
}
