/**
 * A live viewer's own measure of the queue on its link (issue 13): the one-way delay of each
 * frame — when its last packet arrived (`requestVideoFrameCallback`'s `receiveTime`) less when it
 * was captured (its RTP timestamp, 90 kHz) — above the least delay of the last
 * {@linkcode DELAY_BASELINE_MS}. The two clocks differ by a constant, which the minimum takes out;
 * what is left is the queue in front of the viewer and how fast it grows. When Janus switches
 * layer it carries the timestamps on from the last packet by the time elapsed, so the constant
 * moves by less than a frame (40 ms): a single step, which a queue growing frame after frame is not.
 *
 * A queue builds up as soon as the link carries less than the layer: at 680 kbit/s into 300 kbit/s
 * it grows 1.27 s a second, so it passes {@linkcode QUEUE_REPORT_MS} within ~0.1 s, where Janus's
 * next RTT may be 1.5 s away and a tail-drop buffer of 1 s overflows after ~0.8 s. The server steps
 * down on this report (`delay` message) before the buffer drops anything.
 */

/** Delay readings older than this leave the baseline (the link's delay without a queue). */
export const DELAY_BASELINE_MS = 10_000;
/** A queue from which the viewer reports it. */
export const QUEUE_REPORT_MS = 80;
/** Growth (seconds of queue per second) from which a queue is reported: a link under 0.8 of the layer. */
export const GROWTH_REPORT = 0.25;
/**
 * A queue this long (ms), grown by STALLED_GROWTH seconds per second of video or more, is reported
 * without waiting to see it grow frame after frame. Measured with the 720p rung's keyframe on a
 * 1 Mbit/s link: 290 ms late at 0.58 s/s, the frames behind it caught up.
 */
export const LONG_QUEUE_MS = 250;
export const STALLED_GROWTH = 1;
/** At most one report per this many ms. */
export const REPORT_GAP_MS = 250;
/** A short queue is reported once all but one of the last RISING_STEPS frames rose by RISE_MS. */
const RISING_STEPS = 4;
const RISE_MS = 5;
/** Readings the growth is measured over (ms). */
const GROWTH_WINDOW_MS = 300;
const RTP_CLOCK = 90; // ticks per ms
const WRAP = 2 ** 32;

/** What the viewer reports: the queue (ms) and its growth (s/s) over the last few hundred ms. */
export interface QueueReport {
  queueMs: number;
  growth: number;
}

/** Tracks one received video stream's one-way delay; `read` takes one reading. */
export class LinkDelay {
  #rtp: { last: number; unwrapped: number } | null = null;
  #delays: Array<{ at: number; delay: number }> = [];
  #frames: Array<{ at: number; delay: number; captured: number }> = [];
  #reportedAt = -Infinity;
  #lastFrame: { arrivedAt: number; rtpTimestamp: number } | null = null;

  /**
   * Takes a reading at `now` (ms): a frame's arrival time (ms, any clock that advances with `now`)
   * and its RTP timestamp. Returns a report when the queue is worth one, else null.
   */
  read(now: number, arrivedAt: number, rtpTimestamp: number): QueueReport | null {
    if (!Number.isFinite(arrivedAt) || !Number.isFinite(rtpTimestamp)) return null;
    // The same frame as last time: nothing new.
    const last = this.#lastFrame;
    if (last && last.arrivedAt === arrivedAt && last.rtpTimestamp === rtpTimestamp) return null;
    this.#lastFrame = { arrivedAt, rtpTimestamp };
    const rtp = this.#unwrap(rtpTimestamp);
    const delay = arrivedAt - rtp / RTP_CLOCK;
    this.#frames.push({ at: now, delay, captured: rtp / RTP_CLOCK });
    while (this.#frames.length && this.#frames[0].at < now - DELAY_BASELINE_MS) {
      this.#frames.shift();
    }
    // The minimum over the window, kept as a monotonic deque.
    while (this.#delays.length && this.#delays.at(-1)!.delay >= delay) this.#delays.pop();
    this.#delays.push({ at: now, delay });
    while (this.#delays[0].at < now - DELAY_BASELINE_MS) this.#delays.shift();
    const queueMs = delay - this.#delays[0].delay;
    // Growth per second of video sent (not of reading time): a link passing 1/(1+g) of what enters
    // queues g s for each second sent. Measured from the last frame read a window ago, so a gap
    // without frames (a queue so long nothing arrives) counts whole.
    let from: { delay: number; captured: number } | undefined;
    for (let i = this.#frames.length - 2; i >= 0; i--) {
      if (this.#frames[i].at <= now - GROWTH_WINDOW_MS) {
        from = this.#frames[i];
        break;
      }
    }
    const span = from ? rtp / RTP_CLOCK - from.captured : 0;
    const growth = from && span > 0 ? (delay - from.delay) / span : 0;
    if (queueMs < QUEUE_REPORT_MS || growth < GROWTH_REPORT) return null;
    // Growing frame after frame, not one late frame (a keyframe queues for 0.1-0.3 s on a link
    // near the layer's rate, and the frames behind it catch up) — unless the queue is long already
    // and grew faster than video is sent (nothing arrived meanwhile: a link far under the layer).
    if (queueMs < LONG_QUEUE_MS || growth < STALLED_GROWTH) {
      // Frames differ in size, so a queue growing under them rises unevenly: most steps up, and
      // the newest frame the latest; after a late keyframe the frames behind it come in earlier.
      const recent = this.#frames.slice(-RISING_STEPS - 1);
      if (recent.length <= RISING_STEPS) return null;
      let rises = 0;
      for (let i = 1; i < recent.length; i++) {
        if (recent[i].delay - recent[i - 1].delay >= RISE_MS) rises += 1;
        if (recent[i - 1].delay > delay) return null;
      }
      if (rises < RISING_STEPS - 1) return null;
    }
    if (now - this.#reportedAt < REPORT_GAP_MS) return null;
    this.#reportedAt = now;
    return { queueMs: Math.round(queueMs), growth: Math.round(growth * 100) / 100 };
  }

  /** Forgets everything: a new stream. */
  reset(): void {
    this.#rtp = null;
    this.#lastFrame = null;
    this.#delays = [];
    this.#frames = [];
  }

  /** RTP timestamps wrap at 2^32 (13 h at 90 kHz): unwrapped against the last one. */
  #unwrap(rtp: number): number {
    if (!this.#rtp) {
      this.#rtp = { last: rtp, unwrapped: rtp };
      return rtp;
    }
    let delta = rtp - this.#rtp.last;
    if (delta < -WRAP / 2) delta += WRAP;
    else if (delta > WRAP / 2) delta -= WRAP;
    this.#rtp = { last: rtp, unwrapped: this.#rtp.unwrapped + delta };
    return this.#rtp.unwrapped;
  }
}
