/**
 * Watches the vehicle's wall clock for jumps (NTP or GPS stepping it, a driver setting it, a
 * suspend): every second it compares how far `Date.now()` moved with how far the monotonic clock
 * moved. Recording timelines are built from the wall clock, so a jump must end the recordings.
 */

/** The two clocks the watch compares; tests inject their own. */
export interface Clocks {
  /** Wall-clock milliseconds since the epoch. */
  wall(): number;
  /** Monotonic milliseconds (never jumps). */
  monotonic(): number;
}

/** The process's real clocks. */
export const SYSTEM_CLOCKS: Clocks = {
  wall: () => Date.now(),
  monotonic: () => performance.now(),
};

/** A detected jump: `deltaMs` > 0 when the wall clock leapt forward. */
export interface ClockJump {
  at: number;
  deltaMs: number;
}

/** What heartbeats report about the clock. */
export interface ClockReport {
  state: "ok" | "jumped";
  lastJumpAt: string | null;
  jumps: number;
  /** How far the wall clock is ahead of the server's (ms; negative: behind); null until known. */
  aheadMs?: number | null;
}

/** Options of {@linkcode ClockWatch}. */
export interface ClockWatchOptions {
  /** Smallest difference between the clocks' progress counted as a jump. */
  thresholdMs: number;
  /** How often to compare; 1 s by default. */
  intervalMs?: number;
  clocks?: Clocks;
  onJump?: (jump: ClockJump) => void;
}

/**
 * Detects wall-clock jumps. Slewing (NTP's gradual correction) never accumulates into a jump
 * because each check compares with the previous one only.
 */
export class ClockWatch {
  readonly #clocks: Clocks;
  #offset: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #jumps = 0;
  #lastJump: ClockJump | undefined;
  #unreported = false;

  constructor(private readonly options: ClockWatchOptions) {
    this.#clocks = options.clocks ?? SYSTEM_CLOCKS;
    this.#offset = this.#clocks.wall() - this.#clocks.monotonic();
  }

  /** Starts checking every `intervalMs`. */
  start(): void {
    this.#timer ??= setInterval(() => this.check(), this.options.intervalMs ?? 1000);
  }

  /** Stops checking; safe to call twice. */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Compares the clocks now; returns the jump (after calling `onJump`) if there was one. */
  check(): ClockJump | undefined {
    const offset = this.#clocks.wall() - this.#clocks.monotonic();
    const deltaMs = offset - this.#offset;
    this.#offset = offset;
    if (Math.abs(deltaMs) <= this.options.thresholdMs) return undefined;
    const jump = { at: this.#clocks.wall(), deltaMs: Math.round(deltaMs) };
    this.#jumps++;
    this.#lastJump = jump;
    this.#unreported = true;
    this.options.onJump?.(jump);
    return jump;
  }

  /** The state for a heartbeat: "jumped" until a heartbeat carrying the jump was delivered. */
  report(): ClockReport {
    return {
      state: this.#unreported ? "jumped" : "ok",
      lastJumpAt: this.#lastJump ? new Date(this.#lastJump.at).toISOString() : null,
      jumps: this.#jumps,
    };
  }

  /** Called once a heartbeat built from `report` was delivered. */
  delivered(report: ClockReport): void {
    if (report.jumps === this.#jumps) this.#unreported = false;
  }
}
