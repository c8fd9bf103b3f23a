/**
 * Heartbeats: every few seconds the agent tells the server how each camera is doing — queue
 * depth, bytes pending, last upload, evictions, quarantined files — and what the clock did.
 */
import type { Logger } from "../lib/log/mod.ts";
import { sleep } from "./backoff.ts";
import type { CaptureClockReport } from "./capture_clock.ts";
import type { ClockReport } from "./clock.ts";
import type { InventoryEntry } from "./inventory.ts";
import type { RecallProgress } from "./recall.ts";
import type { TokenSource } from "./uploader.ts";

/** One camera's line in a heartbeat. */
export interface CameraHeartbeat {
  camera: string;
  recordingId: string | null;
  capturing: boolean;
  queueDepth: number;
  bytesPending: number;
  lastUploadAt: string | null;
  evictedSegments: number;
  evictedBytes: number;
  quarantined: number;
  /** Whether segment times had to be re-anchored on the capture clock. */
  captureClock?: CaptureClockReport;
}

/** The body of `POST /api/v1/device/heartbeat`. */
export interface HeartbeatBody {
  sentAt: string;
  uptimeS: number;
  clock: ClockReport;
  cameras: CameraHeartbeat[];
  /** The instructions in force (sent once the server has given any). */
  instructionsVersion?: string | null;
  /** What the vehicle holds, per camera and rendition. */
  inventory?: InventoryEntry[];
  /** Progress of the recalls the vehicle works on. */
  recalls?: RecallProgress[];
}

/** Options of {@linkcode Heartbeat}. */
export interface HeartbeatOptions {
  serverUrl: string;
  tokens: TokenSource;
  intervalMs: number;
  logger: Logger;
  /** Builds the report to send. */
  report: () => HeartbeatBody;
  /** Sends the request (the server clock's `fetch`, to learn its time from the answer). */
  fetch?: typeof fetch;
  /** Called after the server accepted a report. */
  delivered?: (body: HeartbeatBody) => void;
  /** Called with the server's answer when it sent one (its instructions). */
  answered?: (answer: unknown) => Promise<unknown> | void;
}

/** Sends heartbeats until closed. A failed one is not retried: the next one carries newer news. */
export class Heartbeat {
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;
  #failures = 0;
  #soon: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly options: HeartbeatOptions) {}

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Sends one heartbeat now; true if the server accepted it. */
  async send(): Promise<boolean> {
    const body = this.options.report();
    try {
      const token = await this.options.tokens.token();
      const send = this.options.fetch ?? fetch;
      const response = await send(`${this.options.serverUrl}/api/v1/device/heartbeat`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      const text = await response.text();
      if (response.status === 401) this.options.tokens.invalidate();
      if (!response.ok) throw new Error(`${response.status}: ${text.slice(0, 300)}`);
      this.options.delivered?.(body);
      if (response.status === 200 && text) {
        try {
          await this.options.answered?.(JSON.parse(text));
        } catch (error) {
          this.options.logger.warn("heartbeat answer refused", {
            error: (error as Error).message,
          });
        }
      }
      if (this.#failures) this.options.logger.info("heartbeat delivered again");
      this.#failures = 0;
      return true;
    } catch (error) {
      // Offline is normal on a vehicle: say so once, then quietly.
      const level = this.#failures++ === 0 ? "warn" : "debug";
      this.options.logger[level]("heartbeat failed", { error: (error as Error).message });
      return false;
    }
  }

  /** Sends an extra heartbeat after `delayMs` (news worth telling before the next one). */
  soon(delayMs = 1_000): void {
    if (this.#soon !== undefined || this.#stop.signal.aborted) return;
    this.#soon = setTimeout(() => {
      this.#soon = undefined;
      if (!this.#stop.signal.aborted) void this.send();
    }, delayMs);
  }

  /** Stops sending; safe to call twice. */
  async close(): Promise<void> {
    clearTimeout(this.#soon);
    this.#soon = undefined;
    this.#stop.abort();
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (!this.#stop.signal.aborted) {
      await this.send();
      await sleep(this.options.intervalMs, this.#stop.signal);
    }
  }
}
