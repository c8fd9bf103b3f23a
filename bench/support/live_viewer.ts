/**
 * A werift viewer that times its watch: from sending `watch` over the signaling WebSocket to the
 * offer, the `connected`/`live` statuses, the first RTP packet and the first *complete* keyframe
 * (its first packet, through the marker bit that ends the picture). Wraps the tests'
 * {@linkcode WebrtcViewer}, whose own counters keep working.
 */
import type { SignalingClient } from "../../tests/support/live.ts";
import { isH264Keyframe, WebrtcViewer } from "../../tests/support/webrtc_viewer.ts";

/** What to watch. */
export interface LiveTarget {
  fleetId: string;
  vehicleId: string;
  camera: string;
}

/** Milliseconds after `watch` (or after the direct start) at which each step happened. */
export interface WatchTimes {
  offer?: number;
  connected?: number;
  live?: number;
  firstPacket?: number;
  keyframe?: number;
}

/** One timed viewer. */
export class TimedViewer {
  readonly viewer = new WebrtcViewer();
  readonly times: WatchTimes = {};
  startedAt = performance.now();
  #keyframeStarted = false;
  #keyframeDone = Promise.withResolvers<number>();

  constructor() {
    this.viewer.pc.onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe((rtp) => {
        const at = performance.now() - this.startedAt;
        this.times.firstPacket ??= at;
        if (this.times.keyframe !== undefined) return;
        if (!this.#keyframeStarted && isH264Keyframe(rtp.payload)) this.#keyframeStarted = true;
        if (this.#keyframeStarted && rtp.header.marker) {
          this.times.keyframe = at;
          this.#keyframeDone.resolve(at);
        }
      });
    });
  }

  /** Sends `watch` as `id` and answers the offer; times are counted from the `watch`. */
  async watch(
    client: SignalingClient,
    target: LiveTarget,
    id: string,
    quality = "auto",
  ): Promise<void> {
    client.socket.addEventListener("message", (event) => {
      const message = JSON.parse(String(event.data));
      if (message.id !== id) return;
      const at = performance.now() - this.startedAt;
      if (message.type === "offer") this.times.offer ??= at;
      if (message.type === "status" && message.state === "connected") this.times.connected ??= at;
      if (message.type === "status" && message.state === "live") this.times.live ??= at;
    });
    this.startedAt = performance.now();
    client.send({ type: "watch", id, ...target, quality });
    const offer = await client.next((m) => m.type === "offer" && m.id === id, 30_000);
    client.send({ type: "answer", id, sdp: await this.viewer.answer(String(offer.sdp)) });
  }

  /** Resolves with the ms from the start to the first complete keyframe. */
  keyframe(timeoutMs = 30_000): Promise<number> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    return Promise.race([
      this.#keyframeDone.promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`No complete keyframe within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]).finally(() => clearTimeout(timer));
  }

  /** Ends the watch `id` (if given) and closes the PeerConnection. */
  async close(client?: SignalingClient, id?: string): Promise<void> {
    if (client && id) {
      client.send({ type: "bye", id });
      await client.next((m) => m.type === "ended" && m.id === id, 10_000).catch(() => {});
    }
    await this.viewer.close();
  }
}
