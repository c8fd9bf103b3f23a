/**
 * The adaptive-bitrate controller: picks a viewer's simulcast layer (0 lowest … 2 highest) from
 * what the viewer's link shows — packet loss and jitter from the viewer's RTCP receiver reports
 * (as Janus sees them), and, when the viewer reports them, frames dropped and its available
 * bitrate. It steps down quickly on trouble and up slowly, with a hold-off that doubles each time
 * a step up fails, so a link at the edge of a layer does not flap.
 */

/** One observation of a viewer's link over the last interval. */
export interface LinkSample {
  /** Fraction of packets lost in the interval, 0–1. */
  loss: number;
  /** Interarrival jitter in milliseconds. */
  jitterMs: number;
  /** Fraction of frames the viewer dropped, when it reports it. */
  framesDropped?: number;
  /** The viewer's estimate of its available receive bitrate, when it reports it. */
  availableBitrate?: number;
}

/** Tuning of {@linkcode AbrController}; the defaults suit 1 s samples. */
export interface AbrTuning {
  /** Loss above which a sample is bad. */
  badLoss: number;
  /** Loss below which a sample is good. */
  goodLoss: number;
  /** Jitter above which a sample is bad. */
  badJitterMs: number;
  /** Consecutive bad samples before stepping down. */
  downAfter: number;
  /** Consecutive good samples before stepping up. */
  upAfter: number;
  /** Samples to wait after a step down before any step up; doubles on each failed step up. */
  holdOff: number;
  /** Longest hold-off. */
  maxHoldOff: number;
}

/** Defaults: down after 2 bad seconds, up after 5 good ones, first hold-off 5 s (max 30 s). */
export const DEFAULT_ABR_TUNING: AbrTuning = {
  badLoss: 0.04,
  goodLoss: 0.01,
  badJitterMs: 60,
  downAfter: 2,
  upAfter: 5,
  holdOff: 5,
  maxHoldOff: 30,
};

/** Why the controller moved. */
export type AbrDecision = { layer: number; reason: string } | null;

/** Chooses the layer of one viewer. */
export class AbrController {
  #layer: number;
  #bad = 0;
  #good = 0;
  #holdOff: number;
  #sinceDown = Infinity;
  #lastUpAt = -Infinity;
  #samples = 0;

  constructor(
    readonly layers: number[],
    start: number,
    readonly tuning: AbrTuning = DEFAULT_ABR_TUNING,
  ) {
    this.#layer = start;
    this.#holdOff = tuning.holdOff;
  }

  /** The layer currently chosen. */
  get layer(): number {
    return this.#layer;
  }

  /** Takes one sample; returns the new layer and why, or null to stay. */
  observe(sample: LinkSample): AbrDecision {
    const t = this.tuning;
    this.#samples += 1;
    this.#sinceDown += 1;
    const bitrate = this.layers[this.#layer];
    const starved = sample.availableBitrate !== undefined && sample.availableBitrate < bitrate;
    const bad = sample.loss > t.badLoss || sample.jitterMs > t.badJitterMs ||
      (sample.framesDropped ?? 0) > 0.1 || starved;
    const good = sample.loss < t.goodLoss && sample.jitterMs <= t.badJitterMs / 2 &&
      (sample.framesDropped ?? 0) < 0.02 && !starved;
    this.#bad = bad ? this.#bad + 1 : 0;
    this.#good = good ? this.#good + 1 : 0;
    if (this.#bad >= t.downAfter && this.#layer > 0) {
      // A step up that fails soon after is a sign the link cannot carry it: wait longer next time.
      if (this.#samples - this.#lastUpAt <= t.upAfter + t.downAfter + 2) {
        this.#holdOff = Math.min(this.#holdOff * 2, t.maxHoldOff);
      }
      this.#layer -= 1;
      this.#bad = 0;
      this.#good = 0;
      this.#sinceDown = 0;
      return { layer: this.#layer, reason: describe(sample, "down") };
    }
    const next = this.layers[this.#layer + 1];
    const room = sample.availableBitrate === undefined || sample.availableBitrate >= next * 1.2;
    if (
      next !== undefined && this.#good >= t.upAfter && this.#sinceDown >= this.#holdOff && room
    ) {
      this.#layer += 1;
      this.#good = 0;
      this.#lastUpAt = this.#samples;
      return { layer: this.#layer, reason: describe(sample, "up") };
    }
    if (this.#good >= t.upAfter * 4) this.#holdOff = t.holdOff; // a long good run resets it
    return null;
  }
}

function describe(sample: LinkSample, direction: "up" | "down"): string {
  const loss = `${(sample.loss * 100).toFixed(1)}% loss`;
  const jitter = `${Math.round(sample.jitterMs)} ms jitter`;
  return `${direction}: ${loss}, ${jitter}`;
}

/** Converts two cumulative Janus readings into a sample's loss fraction. */
export function lossBetween(
  before: { lost: number; sent: number },
  after: { lost: number; sent: number },
): number {
  const sent = after.sent - before.sent;
  const lost = Math.max(0, after.lost - before.lost);
  if (sent <= 0) return lost > 0 ? 1 : 0;
  return Math.min(1, lost / (sent + lost));
}
