/**
 * One viewer watching one camera: its Janus Streaming handle, the negotiation (the server offers
 * over WebSocket; WHEP bridges the viewer's offer), and its layer — chosen by hand or by the ABR
 * controller from the viewer's RTCP (through Janus's Admin API) and what the viewer reports.
 */
import type { IceCandidate, JanusHandle } from "../janus/mod.ts";
import { type Abr, type AbrDecision, createAbr, type LinkSample, lossBetween } from "./abr.ts";
import type { LiveContext, Peer } from "./context.ts";
import type { Quality } from "./protocol.ts";
import { bridgeWhep, type ViewerCodec } from "./whep_sdp.ts";

/** Layer of a manual quality, clamped to the layers there are. */
function layerOf(quality: Quality, layers: number): number {
  const wanted = { low: 0, medium: 1, high: 2, auto: 1 }[quality];
  return Math.min(wanted, layers - 1);
}

/** How often the link is checked between ticks, and how many times (until the next tick). */
const CHECK_MS = 250;
const CHECKS = 3;

/** How long a REMB stays the viewer's estimate (Janus posts one every second). */
const REMB_FRESH_MS = 3_000;

/** Cumulative counters a viewer reports in its `stats` message (all optional). */
export interface ViewerStats {
  framesDecoded?: number;
  framesDropped?: number;
  availableBitrate?: number;
  bytesReceived?: number;
  totalFreezesDuration?: number;
  jitterBufferDelay?: number;
  jitterBufferEmittedCount?: number;
}

/** How the viewer negotiates. */
export type ViewerMode =
  | { kind: "ws"; peer: Peer }
  | { kind: "whep"; offer: string; codec: ViewerCodec };

/** A viewer of a camera stream. */
export class ViewerSession {
  handle: JanusHandle | null = null;
  quality: Quality;
  readonly abr: Abr;
  #layer = 0;
  #last: { lost: number; sent: number; nacks: number } | null = null;
  #reported: Pick<
    LinkSample,
    "framesDropped" | "availableBitrate" | "receivedBitrate" | "freezeSeconds" | "jitterBufferMs"
  > = {};
  #reportedFrames: { decoded: number; dropped: number } | null = null;
  #reportedAt: { at: number; stats: ViewerStats } | null = null;
  #remb: { bitrate: number; at: number } | null = null;
  #closed = false;
  #startedAt = 0;

  constructor(
    readonly id: string,
    readonly subject: string,
    readonly mode: ViewerMode,
    quality: Quality,
    readonly context: LiveContext,
    readonly layers: number,
    /** Heights of the layers, when known (the ladder's rungs), for the viewer's display. */
    readonly layerHeights?: number[],
    /** Bit rates of the layers, lowest first (the ladder's rungs); unknown for one layer. */
    readonly layerBitrates?: number[],
  ) {
    this.quality = quality;
    const bitrates = layerBitrates ?? [Number.POSITIVE_INFINITY];
    this.abr = createAbr(
      context.settings.abr ?? "adaptive",
      bitrates.slice(0, layers),
      layerOf("auto", layers),
    );
    this.#layer = layerOf(quality, layers);
  }

  /** The payload type this viewer's mountpoint stamps (WHEP viewers choose it). */
  get payloadType(): number | undefined {
    return this.mode.kind === "whep" ? this.mode.codec.pt : undefined;
  }

  /** The layer being sent. */
  get layer(): number {
    return this.#layer;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Attaches to Janus and starts watching `mountpoint`. Over WebSocket the offer goes to the peer
   * (`restart` tells it to replace its PeerConnection); for WHEP the answer is returned.
   */
  async negotiate(mountpoint: string, restart = false): Promise<string | null> {
    const session = this.context.janus.session;
    if (!session) throw new Error("Janus is not connected");
    const started = performance.now();
    if (this.handle && !this.handle.detached) await this.handle.detach();
    const handle = await session.attach("janus.plugin.streaming");
    this.handle = handle;
    this.#last = null;
    handle.on((event) => this.#onEvent(handle, event.janus, event.raw));
    const layer = this.quality === "auto" ? this.abr.layer : this.#layer;
    this.#layer = layer;
    const watch: Record<string, unknown> = { request: "watch", id: mountpoint };
    if (this.layers > 1) watch.substream = layer;
    const reply = await handle.send(watch);
    if (!reply.jsep) throw new Error(`Janus offered nothing for mountpoint "${mountpoint}"`);
    this.#startedAt = performance.now();
    this.context.logger.info("viewer offered", {
      viewer: this.id,
      janusMs: Math.round(this.#startedAt - started),
    });
    if (this.mode.kind === "ws") {
      this.mode.peer.send({
        type: "offer",
        id: this.id,
        sdp: reply.jsep.sdp,
        restart,
        layer,
        layers: this.layers,
        ...(this.layerHeights ? { layerHeights: this.layerHeights } : {}),
      });
      return null;
    }
    const answers = bridgeWhep(this.mode.offer, reply.jsep.sdp, this.mode.codec);
    await handle.send({ request: "start" }, { type: "answer", sdp: answers.forJanus });
    return answers.forViewer;
  }

  #onEvent(handle: JanusHandle, kind: string, raw: Record<string, unknown>): void {
    if (handle !== this.handle || this.mode.kind !== "ws") return;
    const peer = this.mode.peer;
    if (kind === "trickle") {
      const candidate = raw.candidate as Record<string, unknown> | undefined;
      peer.send({
        type: "candidate",
        id: this.id,
        candidate: candidate && !candidate.completed ? candidate : null,
      });
    } else if (kind === "webrtcup") {
      peer.send({
        type: "status",
        id: this.id,
        state: "connected",
        setupMs: Math.round(performance.now() - this.#startedAt),
      });
    }
  }

  /** Completes a WebSocket negotiation with the viewer's answer. */
  async answer(sdp: string): Promise<void> {
    if (!this.handle) throw new Error("Not negotiating");
    await this.handle.send({ request: "start" }, { type: "answer", sdp });
  }

  /** Passes a viewer's ICE candidate to Janus. */
  async candidate(candidate: IceCandidate | null): Promise<void> {
    await this.handle?.trickle(candidate);
  }

  /** Sets the quality; a manual one switches at once. */
  async setQuality(quality: Quality): Promise<void> {
    this.quality = quality;
    const layer = quality === "auto" ? this.abr.layer : layerOf(quality, this.layers);
    await this.#switch(layer, quality === "auto" ? "auto" : "manual");
  }

  /**
   * What the next sample will carry of what the viewer reported since the last one, its
   * `availableBitrate` the lower of the viewer's own estimate and its fresh REMB.
   */
  get reported(): Partial<LinkSample> {
    return { ...this.#reported, ...this.#estimate(performance.now()) };
  }

  /** The viewer's last REMB as Janus reported it, in bits/s, with when it arrived. */
  get lastRemb(): { bitrate: number; at: number } | null {
    return this.#remb && { ...this.#remb };
  }

  /** Takes the viewer's REMB (its receive-side bandwidth estimate) as Janus reports it. */
  remb(bitrate: number, at: number = performance.now()): void {
    if (!this.#remb) {
      this.context.logger.info("viewer remb", { viewer: this.id, bitrate: Math.round(bitrate) });
    }
    this.#remb = { bitrate, at };
    // A REMB that collapsed is acted on as it arrives, not at the next tick.
    this.#actNow((abr) => abr.remb?.(bitrate) ?? null);
  }

  /**
   * The sample's bandwidth estimate: the viewer's own and its REMB (when fresh), the lower. The
   * classic controller gets only the viewer's own, as before issue 13 (the benchmark's baseline).
   */
  #estimate(now: number): Pick<LinkSample, "availableBitrate"> {
    const own = this.#reported.availableBitrate;
    const remb = this.#remb && now - this.#remb.at <= REMB_FRESH_MS &&
        this.context.settings.abr !== "classic"
      ? this.#remb.bitrate
      : undefined;
    const estimates = [own, remb].filter((v): v is number => v !== undefined);
    return estimates.length ? { availableBitrate: Math.min(...estimates) } : {};
  }

  /**
   * Takes the queue the viewer measured on its link (its frames' one-way delay above the least,
   * and how fast it grows): acted on as it arrives, a fraction of a second after the link fell.
   */
  queue(queueMs: number, growth: number): void {
    this.#actNow((abr) => abr.viewerQueue?.(queueMs, growth) ?? null);
  }

  /** Between ticks, lets the controller decide on news that arrived, and switches at once. */
  #actNow(decide: (abr: Abr) => AbrDecision): void {
    if (this.quality !== "auto" || !this.handle || this.layers < 2) return;
    const decision = decide(this.abr);
    if (decision) this.#switch(decision.layer, decision.reason).catch(() => {});
  }

  /** Takes what the viewer reports about its decoding and bandwidth (cumulative counters). */
  report(stats: ViewerStats, at: number = performance.now()): void {
    if (stats.availableBitrate !== undefined) {
      this.#reported.availableBitrate = stats.availableBitrate;
    }
    const before = this.#reportedAt;
    this.#reportedAt = { at, stats };
    const seconds = before ? (at - before.at) / 1000 : 0;
    if (before && seconds > 0.2) {
      const grew = (key: keyof ViewerStats) => {
        const now = stats[key];
        const then = before.stats[key];
        return now !== undefined && then !== undefined && now >= then ? now - then : undefined;
      };
      const bytes = grew("bytesReceived");
      if (bytes !== undefined) this.#reported.receivedBitrate = (bytes * 8) / seconds;
      const frozen = grew("totalFreezesDuration");
      if (frozen !== undefined) {
        this.#reported.freezeSeconds = (this.#reported.freezeSeconds ?? 0) + frozen;
      }
      const delay = grew("jitterBufferDelay");
      const emitted = grew("jitterBufferEmittedCount");
      if (delay !== undefined && emitted) this.#reported.jitterBufferMs = (delay / emitted) * 1000;
    }
    if (stats.framesDecoded !== undefined && stats.framesDropped !== undefined) {
      const before = this.#reportedFrames;
      this.#reportedFrames = { decoded: stats.framesDecoded, dropped: stats.framesDropped };
      if (before) {
        const decoded = stats.framesDecoded - before.decoded;
        const dropped = stats.framesDropped - before.dropped;
        if (decoded + dropped > 0) this.#reported.framesDropped = dropped / (decoded + dropped);
      }
    }
  }

  /** One ABR step: reads Janus's statistics of this viewer and switches layer if needed. */
  async tick(): Promise<void> {
    const session = this.context.janus.session;
    const handle = this.handle;
    if (!session || !handle || handle.detached || this.layers < 2) return;
    const stats = await this.context.janus.admin.outboundVideo(session.id, handle.id)
      .catch(() => null);
    if (!stats || stats.packetsSent === 0) return;
    const now = { lost: stats.lostByRemote, sent: stats.packetsSent, nacks: stats.nacksReceived };
    const before = this.#last;
    this.#last = now;
    if (!before || this.quality !== "auto") return;
    const packets = now.sent - before.sent;
    const sample: LinkSample = {
      loss: lossBetween(before, now),
      jitterMs: stats.jitterRemoteMs,
      nackRate: packets > 0 ? Math.min(1, Math.max(0, now.nacks - before.nacks) / packets) : 0,
      rttMs: stats.rttMs,
      sentBitrate: stats.bytesLastSecond * 8,
      ...this.#reported,
      ...this.#estimate(performance.now()),
    };
    if (this.#remb) {
      this.context.logger.debug("viewer estimate", {
        viewer: this.id,
        availableBitrate: sample.availableBitrate,
        remb: this.#remb.bitrate,
        rembAgeMs: Math.round(performance.now() - this.#remb.at),
        own: this.#reported.availableBitrate,
      });
    }
    this.#reported = {};
    const decision = this.abr.observe(sample);
    if (decision) await this.#switch(decision.layer, decision.reason);
    this.#watch(handle, now);
  }

  /**
   * Between ticks, reads Janus's figures every {@linkcode CHECK_MS} for the controller's short
   * checks: a probe the link cannot carry ends at its first NACKs, and a link that collapses is
   * left at once, rather than a second later (NACKs reach Janus within a round trip; loss and RTT
   * come with each receiver report).
   */
  #watch(handle: JanusHandle, from: { lost: number; sent: number; nacks: number }): void {
    const session = this.context.janus.session;
    const abr = this.abr;
    if (!session || !abr.check) return;
    let last = from;
    const check = async (left: number) => {
      if (left <= 0 || this.#closed || handle !== this.handle || this.quality !== "auto") return;
      const stats = await this.context.janus.admin.outboundVideo(session.id, handle.id)
        .catch(() => null);
      if (!stats || handle !== this.handle || this.#closed) return;
      const now = { lost: stats.lostByRemote, sent: stats.packetsSent, nacks: stats.nacksReceived };
      const packets = now.sent - last.sent;
      const decision = abr.check!({
        loss: lossBetween(last, now),
        jitterMs: stats.jitterRemoteMs,
        nackRate: packets > 0 ? Math.min(1, Math.max(0, now.nacks - last.nacks) / packets) : 0,
        rttMs: stats.rttMs,
        sentBitrate: stats.bytesLastSecond * 8,
      });
      last = now;
      if (decision) await this.#switch(decision.layer, decision.reason);
      else setTimeout(() => check(left - 1), CHECK_MS);
    };
    setTimeout(() => check(CHECKS), CHECK_MS);
  }

  async #switch(layer: number, reason: string): Promise<void> {
    if (layer === this.#layer || !this.handle || this.layers < 2) return;
    this.#layer = layer;
    await this.handle.send({ request: "configure", substream: layer }).catch(() => {});
    this.context.logger.info("viewer layer", { viewer: this.id, layer, reason });
    if (this.mode.kind === "ws") {
      this.mode.peer.send({ type: "layer", id: this.id, layer, reason });
    }
  }

  /** Detaches from Janus; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.handle?.detach();
    this.handle = null;
  }
}
