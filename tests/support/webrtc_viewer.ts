/**
 * A werift WebRTC viewer for tests and benchmarks: answers (or makes) an offer for one
 * receive-only H.264 video stream and counts what arrives — packets, bytes, frames, keyframes.
 */
import { RTCPeerConnection, RTCRtpCodecParameters } from "werift";
import { LIVE_ADDRESS } from "./live.ts";

/** Counters of what a viewer received. */
export interface ViewerCounters {
  packets: number;
  bytes: number;
  /** Frames completed (RTP marker bit). */
  frames: number;
  keyframes: number;
  /** `performance.now()` of the first keyframe, or null. */
  firstKeyframeAt: number | null;
}

/** Options of {@linkcode WebrtcViewer}. */
export interface ViewerOptions {
  /** Host address to gather on (the namespace's 127.0.0.2). */
  address?: string;
  /** UDP ports to use, e.g. to throttle this viewer with tc. */
  portRange?: [number, number];
}

/** True when an H.264 RTP payload carries (the start of) an IDR picture or SPS. */
export function isH264Keyframe(payload: Uint8Array): boolean {
  if (payload.length < 2) return false;
  const type = payload[0] & 0x1f;
  if (type === 5 || type === 7) return true;
  if (type === 28) {
    return (payload[1] & 0x80) !== 0 && ((payload[1] & 0x1f) === 5 || (payload[1] & 0x1f) === 7);
  }
  if (type === 24) {
    let offset = 1;
    while (offset + 2 < payload.length) {
      const size = (payload[offset] << 8) | payload[offset + 1];
      const nal = payload[offset + 2] & 0x1f;
      if (nal === 5 || nal === 7) return true;
      offset += 2 + size;
    }
  }
  return false;
}

/** One receive-only viewer. */
export class WebrtcViewer {
  readonly pc: RTCPeerConnection;
  readonly counters: ViewerCounters = {
    packets: 0,
    bytes: 0,
    frames: 0,
    keyframes: 0,
    firstKeyframeAt: null,
  };
  #waiters: Array<() => void> = [];

  constructor(options: ViewerOptions = {}) {
    const address = options.address ?? LIVE_ADDRESS;
    this.pc = new RTCPeerConnection({
      iceServers: [], // werift's default is a public STUN server, unreachable here
      iceAdditionalHostAddresses: [address],
      iceFilterCandidatePair: (pair) => pair.localCandidate.host === address,
      icePortRange: options.portRange,
      codecs: {
        video: [
          new RTCRtpCodecParameters({
            mimeType: "video/H264",
            clockRate: 90_000,
            rtcpFeedback: [{ type: "nack" }, { type: "nack", parameter: "pli" }],
            parameters: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
          }),
        ],
      },
    });
    this.pc.onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe((rtp) => {
        const c = this.counters;
        c.packets += 1;
        c.bytes += rtp.payload.length;
        if (rtp.header.marker) c.frames += 1;
        if (isH264Keyframe(rtp.payload)) {
          c.keyframes += 1;
          c.firstKeyframeAt ??= performance.now();
        }
        for (const wake of this.#waiters.splice(0)) wake();
      });
    });
  }

  /** Answers a server's offer (Janus Streaming's way); returns the answer SDP. */
  async answer(offer: string): Promise<string> {
    await this.pc.setRemoteDescription({ type: "offer", sdp: offer });
    const answer = await this.pc.createAnswer();
    await this.pc.setLocalDescription(answer);
    await this.#gathered();
    return this.pc.localDescription!.sdp;
  }

  /** Makes a receive-only offer (the WHEP way); returns the offer SDP. */
  async offer(): Promise<string> {
    this.pc.addTransceiver("video", { direction: "recvonly" });
    await this.pc.setLocalDescription(await this.pc.createOffer());
    await this.#gathered();
    return this.pc.localDescription!.sdp;
  }

  /** Applies the server's answer to {@linkcode offer}. */
  async accept(answer: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: "answer", sdp: answer });
  }

  async #gathered(): Promise<void> {
    if (this.pc.iceGatheringState === "complete") return;
    await new Promise<void>((resolve) => {
      const sub = this.pc.iceGatheringStateChange.subscribe((state) => {
        if (state === "complete") {
          sub.unSubscribe();
          resolve();
        }
      });
    });
  }

  /** Resolves once `predicate` holds of the counters; rejects after `timeoutMs`. */
  waitFor(predicate: (c: ViewerCounters) => boolean, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    return new Promise((resolve, reject) => {
      const check = () => {
        if (predicate(this.counters)) return resolve();
        if (Date.now() > deadline) {
          return reject(new Error(`Viewer condition not met: ${JSON.stringify(this.counters)}`));
        }
        this.#waiters.push(check);
        setTimeout(() => {
          const index = this.#waiters.indexOf(check);
          if (index >= 0) {
            this.#waiters.splice(index, 1);
            check();
          }
        }, 250);
      };
      check();
    });
  }

  /** Closes the PeerConnection. */
  async close(): Promise<void> {
    await this.pc.close();
  }
}
