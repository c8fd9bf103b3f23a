/**
 * The capture clock: keeps a recording's segment times on the wall clock of capture. ffmpeg dates
 * a segment (EXT-X-PROGRAM-DATE-TIME) as its own start time plus the media time before it; when
 * media time stops following real time (an encoder starved of CPU with a paced source, a camera
 * whose clock runs off, dropped frames) those dates drift away from when the pictures were taken.
 *
 * Each finished segment is checked against when it appeared on disk (the file's modification
 * time, so the agent's own polling does not matter): `latency = appeared - (start + duration)`.
 * The smallest latency seen is the encoder's usual delay (the baseline); the drift is how far a
 * segment's latency is from it. When the drift passes the threshold on two segments in a row the
 * clock re-anchors: that segment and the next ones are moved by the drift, and the re-anchor is
 * counted for heartbeats.
 */

/** A segment as ffmpeg dates it. */
export interface DatedSegment {
  /** ffmpeg's start (EXT-X-PROGRAM-DATE-TIME), epoch milliseconds. */
  startMs: number;
  durationS: number;
}

/** Where a segment was placed on the capture clock. */
export interface Placement {
  /** Corrected start, epoch milliseconds. */
  startMs: number;
  /** How far the segment's latency was from the baseline, before this placement (ms). */
  driftMs: number;
  /** The clock re-anchored on this segment. */
  reanchored: boolean;
}

/** What survives a restart of the agent (saved beside the capture folder's segments). */
export interface CaptureClockState {
  /** The encoder's usual latency (ms), once a segment was seen. */
  baselineMs: number | null;
  /** Added to ffmpeg's start of every segment (ms). */
  correctionMs: number;
  /** Segments placed so far. */
  placed: number;
  /** Re-anchors in this recording. */
  reanchors: number;
}

/** What heartbeats report about a camera's capture clock. */
export interface CaptureClockReport {
  /** "reanchored" once the current recording's times had to be corrected. */
  state: "ok" | "reanchored";
  /** Re-anchors since the agent started, over all recordings of the camera. */
  reanchors: number;
  /** Drift of the latest segment from the baseline, before correction (ms); null before one. */
  driftMs: number | null;
  /** Correction applied to the current recording's segment times (ms). */
  correctionMs: number;
  lastReanchorAt: string | null;
}

/** Options of {@linkcode CaptureClock}. */
export interface CaptureClockOptions {
  /** Smallest drift, either way, that re-anchors. */
  thresholdMs: number;
  /** Segments whose smallest latency sets the baseline before a negative drift may re-anchor. */
  warmUpSegments?: number;
  /** The state of a recording the agent was already placing (crash recovery). */
  state?: CaptureClockState;
}

/** Places one recording's segments on the capture clock, re-anchoring on drift. */
export class CaptureClock {
  readonly #threshold: number;
  readonly #warmUp: number;
  #state: CaptureClockState;
  #lastDrift: number | null = null;
  #lastReanchorAt: number | null = null;
  #changed = false;
  /** A drift beyond the threshold that the next segment has to confirm. */
  #pending: number | undefined;

  constructor(options: CaptureClockOptions) {
    if (!(options.thresholdMs > 0)) {
      throw new RangeError(`Cannot use re-anchor threshold ${options.thresholdMs}: must be > 0`);
    }
    this.#threshold = options.thresholdMs;
    this.#warmUp = options.warmUpSegments ?? 3;
    this.#state = options.state
      ? { ...options.state }
      : { baselineMs: null, correctionMs: 0, placed: 0, reanchors: 0 };
  }

  /** The state to save for crash recovery. */
  get state(): CaptureClockState {
    return { ...this.#state };
  }

  /** Whether the state changed since the last call (then it is worth saving). */
  takeChanged(): boolean {
    const changed = this.#changed;
    this.#changed = false;
    return changed;
  }

  /**
   * Places `segment`, which appeared on disk at `appearedMs` (epoch milliseconds). A drift beyond
   * the threshold re-anchors once a second segment in a row confirms it (one late segment is the
   * encoder or the disk being slow, not the clock), by the smaller of the two drifts. With
   * `trusted` (times stamped by the capture clock itself) the drift is only measured.
   */
  place(segment: DatedSegment, appearedMs: number, trusted = false): Placement {
    const state = this.#state;
    const endMs = segment.startMs + segment.durationS * 1000 + state.correctionMs;
    const latency = appearedMs - endMs;
    state.placed++;
    this.#changed = true;
    const at = (reanchored: boolean, driftMs: number): Placement => ({
      startMs: Math.round(segment.startMs + state.correctionMs),
      driftMs,
      reanchored,
    });
    if (state.baselineMs === null) {
      state.baselineMs = latency;
      this.#lastDrift = 0;
      return at(false, 0);
    }
    const drift = latency - state.baselineMs;
    this.#lastDrift = drift;
    const pending = this.#pending;
    this.#pending = undefined;
    // A segment cannot appear early, only late: a smaller latency while warming up (or within the
    // threshold) is the encoder's true delay, not a drift.
    const warming = state.placed <= this.#warmUp;
    if (drift < 0 && (warming || -drift <= this.#threshold)) {
      state.baselineMs = latency;
      return at(false, drift);
    }
    if (Math.abs(drift) <= this.#threshold || trusted) return at(false, drift);
    if (pending === undefined || Math.sign(pending) !== Math.sign(drift)) {
      this.#pending = drift;
      return at(false, drift);
    }
    state.correctionMs += Math.abs(pending) < Math.abs(drift) ? pending : drift;
    state.reanchors++;
    this.#lastReanchorAt = appearedMs;
    return at(true, drift);
  }

  /** This recording's part of a heartbeat (`reanchors` counts this recording only). */
  report(): CaptureClockReport {
    return {
      state: this.#state.reanchors > 0 ? "reanchored" : "ok",
      reanchors: this.#state.reanchors,
      driftMs: this.#lastDrift === null ? null : Math.round(this.#lastDrift),
      correctionMs: Math.round(this.#state.correctionMs),
      lastReanchorAt: this.#lastReanchorAt === null
        ? null
        : new Date(this.#lastReanchorAt).toISOString(),
    };
  }
}

/** Reads a saved {@linkcode CaptureClockState}; undefined when the value is not one. */
export function parseCaptureClockState(value: unknown): CaptureClockState | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { baselineMs, correctionMs, placed, reanchors } = value as Record<string, unknown>;
  const finite = (n: unknown): n is number => typeof n === "number" && Number.isFinite(n);
  if (!(baselineMs === null || finite(baselineMs)) || !finite(correctionMs)) return undefined;
  if (!finite(placed) || !finite(reanchors)) return undefined;
  return { baselineMs, correctionMs, placed, reanchors };
}
