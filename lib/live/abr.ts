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
  /** NACKed packets per packet sent in the interval (Janus's `stats.in.nacks` growth). */
  nackRate?: number;
  /** Round-trip time Janus last measured from the viewer's receiver reports, in ms (0: none). */
  rttMs?: number;
  /** What Janus sent the viewer over the last second, in bits/s. */
  sentBitrate?: number;
  /** What the viewer received over the interval, in bits/s, when it reports it. */
  receivedBitrate?: number;
  /** Seconds the viewer's picture stood frozen in the interval, when it reports it. */
  freezeSeconds?: number;
  /** Mean jitter-buffer delay of the frames the viewer played in the interval, in ms. */
  jitterBufferMs?: number;
}

/** A controller of one viewer's layer: {@linkcode AbrController} or {@linkcode AdaptiveAbr}. */
export interface Abr {
  /** The layer currently chosen. */
  readonly layer: number;
  /** Takes one sample; returns the new layer and why, or null to stay. */
  observe(sample: LinkSample): AbrDecision;
  /** Whether a probe of the layer above is under way. */
  readonly probing?: boolean;
  /** Checks a short sample taken between two samples; returns a step down, or null. */
  check?(sample: LinkSample): AbrDecision;
  /** Takes the viewer's REMB as it arrives; returns a step down, or null. */
  remb?(bitrate: number): AbrDecision;
  /** Takes the queue the viewer measured (ms, and its growth in s/s); returns a step down or null. */
  viewerQueue?(queueMs: number, growth: number): AbrDecision;
}

/** Which controller a server runs (`LIVE_ABR`). */
export type AbrKind = "adaptive" | "classic";

/** Makes the controller of `kind` for layers of the given bitrates (lowest first). */
export function createAbr(kind: AbrKind, bitrates: number[], start: number): Abr {
  return kind === "classic" ? new AbrController(bitrates, start) : new AdaptiveAbr(bitrates, start);
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
export class AbrController implements Abr {
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

/*
 * What Janus 1.1.2 gives the controller, measured with Chromium 1xx watching through WHEP, its
 * downlink shaped with htb (a 240p rung of ~420 kbit/s into 400 kbit/s, 8-packet queue):
 * - handle_info webrtc.media[video].rtcp.main: `rtt` (ms, from the viewer's receiver reports: it
 *   changes every 1–2 s; 0–2 ms on a clean link, 160–175 ms as soon as the queue fills),
 *   `jitter-remote` (ms; 16–19 clean, 31–46 congested), `lost-by-remote` (cumulative),
 *   `out-link-quality` / `out-media-link-quality` (0–100; 100 → 81–89 with loss; slow).
 * - stats.out: `packets`, `bytes_lastsec` (updated once a second). The NACKs the viewer sends are
 *   counted in stats.in.nacks (stats.out.nacks counts NACKs Janus sent, always 0 for a viewer):
 *   0 clean, 30–90 per second once the queue overflows.
 * - No bandwidth estimate: Janus reads the viewer's REMB (its offer has goog-remb, and no
 *   transport-cc since it offers abs-send-time but not the transport-wide extension), keeps it as
 *   the PeerConnection's `remb-bitrate` and gives it only to event handlers' media statistics,
 *   never in handle_info; the Streaming plugin keeps the lowest REMB of a mountpoint for its
 *   source. Chromium's own estimate (candidate-pair availableIncomingBitrate) lags: 160–190 kbit/s
 *   while 410 kbit/s arrived cleanly, rising ~5% a second, so it is a reason to step up (it fits
 *   with margin) but never alone a reason to step down.
 * - Simulcast (rtp.c janus_rtp_simulcasting_context_process_rtp): `configure {substream}` only
 *   sets the target; Janus keeps relaying the current substream until a keyframe arrives on one
 *   between it and the target, then switches (the ladder forces a keyframe every 0.5 s). Its
 *   `fallback` (default 250 ms) only drops to a lower substream when the current one stops.
 * So a switch itself does not freeze the picture; what freezes it is a layer the link cannot carry.
 * With the 720p demo source and the auto ladder (240p 200k, 540p 680k, 720p 1,040k) on a loaded
 * machine: a rung near the link's rate queues its keyframes (one every 0.5 s) for 70-130 ms, so a
 * queue counts from 80 ms; a source short of CPU arrives in bursts (jitter 41-85 ms on a clean
 * link), so jitter counts only beside a queue or missing packets.
 */

/** Tuning of {@linkcode AdaptiveAbr}; the defaults suit 1 s samples. */
export interface AdaptiveTuning {
  /** Loss, or NACKs per packet, from which a sample shows congestion. */
  lossLimit: number;
  /** Loss or NACKs from which a short check between samples steps down at once. */
  severeLoss: number;
  /** Queueing delay (RTT above its baseline) from which a sample shows congestion, in ms. */
  queueMs: number;
  /** Jitter above its baseline from which a sample shows congestion, in ms. */
  jitterRiseMs: number;
  /** Viewer's jitter-buffer delay above its baseline from which a sample shows congestion, in ms. */
  bufferRiseMs: number;
  /** Samples over which the RTT, jitter and buffer baselines are the minimum. */
  baselineWindow: number;
  /** Share of the estimated capacity the layer chosen on a step down may use. */
  downMargin: number;
  /** How far an estimate must exceed the next layer's rate to step up without a probe. */
  upMargin: number;
  /** Clean samples before stepping up. */
  upAfter: number;
  /** Clean samples a probe of the next layer lasts before it is kept. */
  probeSamples: number;
  /** Queueing delay up to which a sample is quiet (a rung that failed is probed only then), ms. */
  quietMs: number;
  /** Samples a failed probe is remembered for. */
  failMemory: number;
  /** Samples to wait after a step down before probing; doubles on each failed probe. */
  holdOff: number;
  /** Longest hold-off (a recovered link is back at the top within about this + 2 probes). */
  maxHoldOff: number;
  /** A REMB at most this share of the one before it has fallen (the viewer saw a queue). */
  rembFall: number;
  /** A fallen REMB under this share of the layer's rate means the link collapsed: step down. */
  rembCollapse: number;
  /**
   * Growth of the viewer's queue (s/s) from which it steps down at once: a link carrying under
   * ~half the layer. A source short of CPU makes the queue seem to grow too (0.3-0.58 s/s was
   * read on a clean link with the machine 94 % busy), and so does a keyframe on a link near the
   * layer's rate (0.58); a link that collapsed reads 1-1.7 (1.27 from 680 into 300 kbit/s).
   */
  queueGrowth: number;
}

/** Defaults of {@linkcode AdaptiveAbr}. */
export const DEFAULT_ADAPTIVE_TUNING: AdaptiveTuning = {
  lossLimit: 0.03,
  severeLoss: 0.15,
  queueMs: 80,
  jitterRiseMs: 20,
  bufferRiseMs: 150,
  baselineWindow: 30,
  downMargin: 0.85,
  upMargin: 1.25,
  upAfter: 3,
  probeSamples: 2,
  quietMs: 20,
  failMemory: 30,
  holdOff: 3,
  maxHoldOff: 5,
  rembFall: 0.9,
  rembCollapse: 0.5,
  queueGrowth: 0.9,
};

/**
 * The adaptive controller (`LIVE_ABR=adaptive`): steps down on loss, NACKs, jitter, a queue
 * building up (RTT above its baseline, before any loss) or the viewer's own freezes and buffer,
 * straight to the highest layer that fits the capacity it estimates (what arrives, or what is sent
 * shrunk by the queue's growth). Between samples it acts at once on a REMB that collapsed
 * ({@linkcode AdaptiveAbr.remb}) and on the queue the viewer measures itself
 * ({@linkcode AdaptiveAbr.viewerQueue}). It steps up when an estimate says the next layer fits with
 * margin, otherwise by probing: it switches to the next layer and keeps it after
 * {@linkcode AdaptiveTuning.probeSamples} clean samples, retreating at the first sign of a queue,
 * loss or a freeze. Layer rates are learnt from what Janus sends on each layer.
 */
export class AdaptiveAbr implements Abr {
  #layer: number;
  #n = 0;
  #rtts: number[] = [];
  #jitters: number[] = [];
  #buffers: number[] = [];
  #rates: Array<number | undefined>;
  #onLayer = 0;
  #good = 0;
  #bad = 0;
  #sinceDown = Infinity;
  #holdOff: number;
  #settle = 0;
  #draining = false;
  #drainFrom = 0;
  #quiet = 0;
  #failed = new Map<number, number>();
  #lastRtt = 0;
  #lastRemb: number | undefined;
  #probe: { from: number; clean: number } | null = null;

  constructor(
    readonly bitrates: number[],
    start: number,
    readonly tuning: AdaptiveTuning = DEFAULT_ADAPTIVE_TUNING,
  ) {
    this.#layer = start;
    this.#holdOff = tuning.holdOff;
    this.#rates = bitrates.map(() => undefined);
  }

  /** The layer currently chosen. */
  get layer(): number {
    return this.#layer;
  }

  /** Whether a probe of the layer above is under way. */
  get probing(): boolean {
    return this.#probe !== null;
  }

  /** The rate layer `layer` needs: learnt from what Janus sent on it, else its nominal bitrate. */
  rate(layer: number): number {
    return this.#rates[layer] ?? this.bitrates[layer];
  }

  /** Takes one sample; returns the new layer and why, or null to stay. */
  observe(sample: LinkSample): AbrDecision {
    const t = this.tuning;
    this.#n += 1;
    this.#sinceDown += 1;
    this.#onLayer += 1;
    const rtt = sample.rttMs ?? 0;
    const rttBase = baseline(this.#rtts, rtt > 0 ? rtt : undefined, t.baselineWindow);
    const jitterBase = baseline(this.#jitters, sample.jitterMs, t.baselineWindow);
    const bufferBase = baseline(this.#buffers, sample.jitterBufferMs, t.baselineWindow);
    // What a layer takes, learnt once it has flowed a full second (the switch lands on a keyframe).
    if (sample.sentBitrate && this.#onLayer >= 3) {
      const known = this.#rates[this.#layer];
      this.#rates[this.#layer] = known === undefined
        ? sample.sentBitrate
        : known * 0.7 + sample.sentBitrate * 0.3;
    }
    // The queue's growth over the last sample, in seconds per second (Janus's RTT changes every
    // 1-2 s, so this may count two seconds' growth as one: a lower capacity, a safer step down).
    const previousRtt = this.#lastRtt;
    const growth = rtt > 0 && previousRtt > 0 ? Math.max(0, (rtt - previousRtt) / 1000) : 0;
    if (rtt > 0) this.#lastRtt = rtt;
    const queue = rtt > 0 && rttBase !== undefined ? rtt - rttBase : 0;
    if (this.#draining && queue < t.queueMs / 2) this.#draining = false;
    // The first RTT read after a step down still shows the queue the old layer built; growth is
    // measured from it.
    if (this.#draining && this.#drainFrom === 0 && rtt > 0) this.#drainFrom = rtt;
    const fresh = this.#settle > 0;
    if (fresh) this.#settle -= 1;
    // Quiet: no queue and nothing missing (not jitter: a source short of CPU is bursty anyway).
    const quiet = queue <= t.quietMs && sample.loss === 0 && !(sample.nackRate ?? 0);
    this.#quiet = quiet ? this.#quiet + 1 : 0;
    const { signals, strong } = this.#signals(sample, {
      queue,
      rtt,
      previousRtt,
      jitterBase,
      bufferBase,
      fresh,
    });

    if (signals.length > 0) {
      this.#good = 0;
      this.#bad += 1;
      if (this.#layer === 0 || (!strong && !this.#probe && this.#bad < 2)) return null;
      return this.#down(sample, growth, signals.join(", "));
    }
    this.#bad = 0;
    this.#good += 1;
    const top = this.bitrates.length - 1;
    if (this.#probe) {
      this.#probe.clean += 1;
      if (this.#probe.clean < t.probeSamples) return null;
      this.#probe = null;
      this.#holdOff = t.holdOff;
      // Straight on to the next rung only if the link stayed quiet under the one just taken.
      if (this.#layer >= top || this.#quiet < t.probeSamples) return null;
      return this.#up(sample, "probe held");
    }
    if (
      this.#layer >= top || this.#good < t.upAfter || this.#sinceDown < this.#holdOff ||
      this.#draining // the queue the last layer built is not gone yet
    ) {
      return null;
    }
    // A rung whose probe failed lately is probed again only once the link is quiet (no queue,
    // nothing missing): on a link just under it, each probe would cost a stall.
    const failedAt = this.#failed.get(this.#layer + 1);
    if (failedAt !== undefined && this.#n - failedAt < t.failMemory && this.#quiet < t.upAfter) {
      return null;
    }
    return this.#up(sample, null);
  }

  /**
   * Checks a short sample taken between two of {@linkcode AdaptiveAbr.observe}'s (every few
   * hundred ms, over that window): within a probe it retreats at the first sign of loss, NACKs, a
   * queue or a freeze; otherwise it steps down only on severe loss or NACKs or a long queue (a link
   * that just collapsed), so the picture stalls for less than a whole sample. Takes no sample.
   */
  check(sample: LinkSample): AbrDecision {
    const t = this.tuning;
    const rtt = sample.rttMs ?? 0;
    const previousRtt = this.#lastRtt;
    if (rtt > 0) this.#lastRtt = rtt;
    // Within two samples of a step down, NACKs and RTT still tell of the layer left (the queue it
    // built, the retransmissions it caused): the samples judge that, not these checks.
    if (this.#layer === 0 || (!this.#probe && this.#sinceDown < 2)) return null;
    const rttBase = this.#rtts.length ? Math.min(...this.#rtts) : undefined;
    const queue = rtt > 0 && rttBase !== undefined ? rtt - rttBase : 0;
    const { signals } = this.#signals(sample, {
      queue,
      rtt,
      previousRtt,
      jitterBase: undefined,
      bufferBase: undefined,
      fresh: false,
    });
    if (!signals.length) return null;
    const severe = Math.max(sample.loss, sample.nackRate ?? 0) >= t.severeLoss ||
      (!this.#draining && queue >= 3 * t.queueMs);
    if (!this.#probe && !severe) return null;
    return this.#down(sample, 0, signals.join(", "));
  }

  /**
   * Takes the viewer's REMB as Janus reports it (once a second, between samples). Chromium lowers
   * its REMB only when its delay-based estimator sees a queue build up, to ~0.85 of what arrives;
   * a REMB that fell to under {@linkcode AdaptiveTuning.rembCollapse} of the layer's rate means
   * the link collapsed (a layer at the edge of the link gives 0.7-0.85: 749 kbit/s was read under
   * the 720p rung's 1,040 on a 1 Mbit/s link), so it steps down at once, straight to the highest
   * layer the REMB carries. Measured with Chromium on a link falling from 1 Mbit/s to 300 kbit/s
   * under the 540p rung: the REMB read 234 kbit/s 1.2 s after the fall, 0.4 s before the first
   * loss and 1 s before Janus's RTT showed the queue's full second.
   */
  remb(bitrate: number): AbrDecision {
    const t = this.tuning;
    const previous = this.#lastRemb;
    this.#lastRemb = bitrate;
    if (previous === undefined || this.#layer === 0 || !(bitrate > 0)) return null;
    if (bitrate > previous * t.rembFall || bitrate >= this.rate(this.#layer) * t.rembCollapse) {
      return null;
    }
    const why = `REMB fell to ${kbps(bitrate)} from ${kbps(previous)}`;
    return this.#down(
      { loss: 0, jitterMs: 0, receivedBitrate: bitrate / t.downMargin },
      0,
      why,
      true,
    );
  }

  /**
   * Takes the queue the viewer measured itself (the admin's player: each presented frame's one-way
   * delay above the least), which shows a link falling short of the layer within a fraction of a
   * second, before its buffer drops anything. A queue of {@linkcode AdaptiveTuning.queueMs}
   * growing at {@linkcode AdaptiveTuning.queueGrowth} s/s or more steps down at once, to the
   * highest layer that fits what the growth says gets through (a queue growing g s/s passes
   * 1/(1+g) of what enters); a probe that shows one goes back to where it started. Just after a
   * step down the queue the old layer built still drains: ignored then, as by the other checks.
   */
  viewerQueue(queueMs: number, growth: number): AbrDecision {
    const t = this.tuning;
    if (this.#layer === 0 || queueMs < t.queueMs) return null;
    if (!this.#probe && this.#sinceDown < 2) return null;
    if (growth < t.queueGrowth) return null;
    const sentBitrate = this.rate(this.#layer);
    const why = `viewer's queue ${Math.round(queueMs)} ms, growing ${growth.toFixed(2)} s/s`;
    // A failed probe goes back to where it started: the new layer's first keyframe (30 kB at 720p)
    // inflates the growth read just after the switch, so it says too little about the link.
    return this.#down({ loss: 0, jitterMs: 0, sentBitrate }, growth, why, !this.#probe);
  }

  #signals(sample: LinkSample, at: {
    queue: number;
    rtt: number;
    previousRtt: number;
    jitterBase: number | undefined;
    bufferBase: number | undefined;
    fresh: boolean;
  }): { signals: string[]; strong: boolean } {
    const t = this.tuning;
    const signals: string[] = [];
    let strong = false;
    // For two samples after a step down, loss and NACKs still count the old layer (its lost
    // packets, their retransmissions), and the queue it built drains: that is no reason to go
    // lower, unless the queue keeps growing.
    if (!at.fresh) {
      if (sample.loss >= t.lossLimit) signals.push(`${pct(sample.loss)} loss`);
      if ((sample.nackRate ?? 0) >= t.lossLimit) signals.push(`${pct(sample.nackRate!)} NACKed`);
      strong = sample.loss >= 2 * t.lossLimit;
    }
    if (at.queue >= t.queueMs) {
      if (!this.#draining) {
        signals.push(`queue ${Math.round(at.queue)} ms`);
        if (at.queue >= 2 * t.queueMs) strong = true;
      } else if (this.#drainFrom > 0 && at.rtt > this.#drainFrom + t.queueMs / 2) {
        signals.push(`queue still growing (${Math.round(at.queue)} ms)`);
        strong = true;
      }
    }
    // Jitter and the viewer's buffer also rise when the source itself is bursty (an encoder short
    // of CPU): they count only beside a queue forming or packets missing.
    const supported = at.queue >= t.queueMs / 2 || sample.loss > 0 || (sample.nackRate ?? 0) > 0;
    if (!at.fresh && !this.#draining && supported) {
      if (sample.jitterMs - (at.jitterBase ?? sample.jitterMs) >= t.jitterRiseMs) {
        signals.push(`jitter ${Math.round(sample.jitterMs)} ms`);
      }
      const buffer = sample.jitterBufferMs;
      if (buffer !== undefined && buffer - (at.bufferBase ?? buffer) >= t.bufferRiseMs) {
        signals.push(`viewer buffer ${Math.round(buffer)} ms`);
      }
    }
    if (!at.fresh && (sample.freezeSeconds ?? 0) >= 0.2) {
      signals.push(`viewer froze ${sample.freezeSeconds!.toFixed(1)} s`);
      strong = true;
    }
    return { signals, strong: strong || signals.length >= 2 };
  }

  /** Steps down; `measured`: the capacity is known now (a failed probe may go below its start). */
  #down(sample: LinkSample, growth: number, why: string, measured = false): AbrDecision {
    const t = this.tuning;
    const from = this.#layer;
    // What gets through: what the viewer says arrived, else what was sent less what was lost,
    // shrunk by the queue's growth (a queue growing 0.5 s a second passes 1/1.5 of what enters).
    // NACKs show loss at once, receiver reports up to a second later: count the larger.
    const lost = Math.max(sample.loss, sample.nackRate ?? 0);
    const sent = sample.receivedBitrate ??
      (sample.sentBitrate !== undefined ? sample.sentBitrate * (1 - lost) : undefined);
    const capacity = sent !== undefined ? sent / (1 + growth) : undefined; // 0: nothing passed
    let layer = from - 1;
    if (capacity !== undefined) {
      while (layer > 0 && this.rate(layer) > capacity * t.downMargin) layer -= 1;
    }
    const probe = this.#probe;
    if (probe) {
      // A failed probe: back to where it came from, which carried (what gets through is not
      // known yet: Janus's figures still count the second before), and wait longer next time.
      layer = measured ? Math.min(layer, probe.from) : probe.from;
      this.#failed.set(from, this.#n);
      this.#holdOff = Math.min(this.#holdOff * 2, t.maxHoldOff);
      this.#probe = null;
    }
    this.#layer = layer;
    this.#onLayer = 0;
    this.#bad = 0;
    this.#good = 0;
    this.#sinceDown = 0;
    this.#settle = 2;
    this.#draining = true;
    this.#drainFrom = 0;
    const estimate = capacity !== undefined ? `, ~${kbps(capacity)} gets through` : "";
    const verb = probe ? "probe failed" : "down";
    return { layer, reason: `${verb}: ${why}${estimate}` };
  }

  #up(sample: LinkSample, why: string | null): AbrDecision {
    const t = this.tuning;
    const next = this.#layer + 1;
    const need = this.rate(next);
    const estimate = sample.availableBitrate;
    this.#good = 0;
    this.#onLayer = 0;
    const prefix = why ? `${why}; ` : "";
    if (estimate !== undefined && estimate >= need * t.upMargin) {
      this.#layer = next;
      return {
        layer: next,
        reason: `${prefix}up: estimate ${kbps(estimate)} fits ${kbps(need)} with margin`,
      };
    }
    this.#probe = { from: this.#layer, clean: 0 };
    this.#layer = next;
    return { layer: next, reason: `${prefix}probe up: ${kbps(need)} on a clean link` };
  }
}

/** Pushes `value` (when given) into a window of `size` and returns the window's minimum. */
function baseline(window: number[], value: number | undefined, size: number): number | undefined {
  if (value !== undefined && Number.isFinite(value)) {
    window.push(value);
    if (window.length > size) window.shift();
  }
  return window.length ? Math.min(...window) : undefined;
}

function pct(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}

function kbps(bitrate: number): string {
  return Number.isFinite(bitrate) ? `${Math.round(bitrate / 1000)} kbit/s` : "unbounded";
}
