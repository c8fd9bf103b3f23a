/**
 * The vehicle's live publisher: one camera's live encoder ({@linkcode RtpSource}) feeding a
 * send-only H.264 track of a werift RTCPeerConnection. Signaling is the caller's: it carries the
 * offer this class makes (complete, no trickle ICE) to Janus and brings the answer back.
 *
 * Keyframes: ffmpeg cannot be asked for an IDR at run time, so a picture loss (PLI) or full intra
 * request (FIR) from the remote is served by the short GOP — the encoder makes a keyframe every
 * `gopSeconds` (1 s by default) whatever happens; {@linkcode LivePublisher.requestKeyframe} only
 * counts and logs requests. The first picture does not wait for the GOP: until the connection is
 * up the publisher keeps the current GOP (the pre-roll, see {@linkcode PreRoll}) and sends it the
 * moment it connects, its timestamps packed just before the newest frame's.
 */
import {
  type CandidatePair,
  MediaStreamTrack,
  RTCPeerConnection,
  RtcpPayloadSpecificFeedback,
  RTCRtpCodecParameters,
  type RTCRtpSender,
  useFIR,
  useNACK,
  usePLI,
  useREMB,
  useSdesMid,
  useTransportWideCC,
  useTWCC,
} from "werift";
import { Buffer } from "node:buffer";
import type { Logger } from "../../lib/log/mod.ts";
import type { CameraConfig } from "../config.ts";
import { guardDtlsRetransmissions, type LateFlight } from "./dtls_guard.ts";
import { resumeIceAfterRestart } from "./ice_restart.ts";
import { PreRoll } from "./pre_roll.ts";
import { RtpSource } from "./rtp_source.ts";

/**
 * Connection state of a {@linkcode LivePublisher}: "connecting" until the first connection (and
 * while ICE/DTLS set up again), "disconnected" when werift lost the path (it may come back; an
 * ICE restart helps), "failed" for good, "closed" after {@linkcode LivePublisher.close}.
 */
export type PublisherState = "connecting" | "connected" | "disconnected" | "failed" | "closed";

/** A STUN or TURN server, as in the WebRTC API. */
export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/** Options of {@linkcode LivePublisher.start}. */
export interface PublisherOptions {
  camera: CameraConfig;
  /** STUN/TURN servers; none by default (host candidates only). */
  iceServers?: IceServer[];
  /**
   * Host addresses to gather on although werift skips them (loopback, 127.0.0.2 on an ifb device
   * in the test namespace). When given, only candidate pairs whose local side is one of them are
   * used.
   */
  additionalHostAddresses?: string[];
  ffmpeg?: string;
  /** TrueType font for the test pattern's burned-in clock. */
  font?: string;
  logger: Logger;
  /** Keyframe interval of the live encoding; 1 s by default. */
  gopSeconds?: number;
  /** RTP payload type of H.264 in the offer; 96 by default. */
  payloadType?: number;
  /**
   * 3: vehicle-side simulcast — three video tracks (three sizes from one ffmpeg, lowest first), for
   * uplinks that can carry them; the server then forwards them as the viewers' layers instead of
   * transcoding. 1 by default.
   */
  layers?: 1 | 3;
  /** Called on every change of {@linkcode LivePublisher.state}. */
  onStateChange?: (state: PublisherState) => void;
}

const FEEDBACK_PLI = 1;
const FEEDBACK_FIR = 4;
const GATHER_TIMEOUT_MS = 10_000;

/**
 * Makes a WebRTC offer start DTLS at once: the offerer announces `a=setup:active` (it will be the
 * DTLS client) instead of `actpass`. Offered `actpass`, Janus answers `active` and its handshake
 * waits about a second for a retransmission. Other `a=setup` values (a re-offer keeps the role
 * already negotiated) are left alone.
 *
 * @example preferActiveSetup("a=setup:actpass\r\n") // "a=setup:active\r\n"
 */
export function preferActiveSetup(sdp: string): string {
  return sdp.replace(/^a=setup:actpass(?=\r?$)/gm, "a=setup:active");
}

/** The H.264 codec the publisher offers: constrained baseline 3.1, with the feedback werift does. */
export function liveH264Codec(payloadType = 96): RTCRtpCodecParameters {
  return new RTCRtpCodecParameters({
    mimeType: "video/H264",
    clockRate: 90_000,
    payloadType,
    rtcpFeedback: [useNACK(), usePLI(), useFIR(), useREMB(), useTWCC()],
    parameters: "packetization-mode=1;profile-level-id=42e01f;level-asymmetry-allowed=1",
  });
}

/**
 * Runs werift's one-time costs (loading, the first offer's setup) on a throwaway connection, so
 * that a publisher started later offers at once. ICE gathers on `additionalHostAddresses` too.
 */
export async function warmUpWebRtc(additionalHostAddresses?: string[]): Promise<void> {
  const pc = new RTCPeerConnection({
    iceServers: [],
    iceAdditionalHostAddresses: additionalHostAddresses,
    codecs: { video: [liveH264Codec()] },
    headerExtensions: { video: [useSdesMid(), useTransportWideCC()] },
  });
  try {
    pc.addTransceiver(new MediaStreamTrack({ kind: "video" }), { direction: "sendonly" });
    await pc.setLocalDescription(await pc.createOffer());
  } finally {
    await pc.close();
  }
}

/**
 * Publishes one camera over WebRTC.
 *
 * @example
 * const publisher = await LivePublisher.start({ camera, logger });
 * const answer = await signaling.publish(await publisher.createOffer());
 * await publisher.setAnswer(answer);
 */
export class LivePublisher {
  readonly #pc: RTCPeerConnection;
  readonly #tracks: MediaStreamTrack[];
  readonly #senders: RTCRtpSender[];
  readonly #log: Logger;
  readonly #camera: string;
  readonly #onStateChange?: (state: PublisherState) => void;
  #source: RtpSource | undefined;
  #state: PublisherState = "connecting";
  #closing: Promise<void> | undefined;
  #ssrc: Array<number | undefined> = [];
  #lastPacketAt: number[] = [];
  #keyframeRequests = 0;
  #connectedOnce = false;
  #packetsSent = 0;
  #bytesSent = 0;
  /** Per layer: the GOP so far, kept until the first connection. */
  readonly #preRolls: PreRoll[];

  private constructor(options: PublisherOptions) {
    this.#log = options.logger.child({ camera: options.camera.name, part: "live-publisher" });
    this.#camera = options.camera.name;
    this.#onStateChange = options.onStateChange;
    const only = options.additionalHostAddresses?.length
      ? new Set(options.additionalHostAddresses)
      : undefined;
    this.#pc = new RTCPeerConnection({
      // werift's default is a public STUN server: never reach out unless asked to.
      iceServers: options.iceServers ?? [],
      iceAdditionalHostAddresses: options.additionalHostAddresses,
      iceFilterCandidatePair: only
        ? (pair: CandidatePair) => only.has(pair.localCandidate.host)
        : undefined,
      codecs: { video: [liveH264Codec(options.payloadType)] },
      headerExtensions: { video: [useSdesMid(), useTransportWideCC()] },
    });
    this.#tracks = Array.from(
      { length: options.layers ?? 1 },
      () => new MediaStreamTrack({ kind: "video" }),
    );
    this.#senders = this.#tracks.map((track) =>
      this.#pc.addTransceiver(track, { direction: "sendonly" }).sender
    );
    this.#preRolls = this.#tracks.map(() => new PreRoll());
    this.#pc.connectionStateChange.subscribe((state) => {
      if (state === "new" || state === "connecting") this.#setState("connecting");
      else this.#setState(state);
      if (state === "connected" && !this.#connectedOnce) {
        this.#connectedOnce = true;
        this.#sendPreRoll();
      }
    });
    for (const sender of this.#senders) {
      sender.onRtcp.subscribe((rtcp) => {
        if (!(rtcp instanceof RtcpPayloadSpecificFeedback)) return;
        const count = rtcp.feedback.count;
        if (count === FEEDBACK_PLI || count === FEEDBACK_FIR) {
          this.requestKeyframe(count === FEEDBACK_PLI ? "pli" : "fir");
        }
      });
    }
  }

  /**
   * Checks permissions, starts the live encoder and the peer connection. Throws when ffmpeg
   * cannot start or network interfaces may not be read (werift would then gather no candidate).
   */
  static async start(options: PublisherOptions): Promise<LivePublisher> {
    const sys = await Deno.permissions.query({ name: "sys", kind: "networkInterfaces" });
    if (sys.state !== "granted") {
      throw new Error(
        `Cannot publish camera "${options.camera.name}": ` +
          "WebRTC needs --allow-sys=networkInterfaces to gather ICE candidates",
      );
    }
    // werift binds UDP sockets on any address and sends to wherever ICE leads: without the whole
    // network it would fail later, from a timer, where nothing can catch it.
    const net = await Deno.permissions.query({ name: "net" });
    if (net.state !== "granted") {
      throw new Error(
        `Cannot publish camera "${options.camera.name}": ` +
          "WebRTC needs --allow-net without a host list (UDP to Janus and TURN)",
      );
    }
    const publisher = new LivePublisher(options);
    try {
      publisher.#source = await RtpSource.start({
        camera: options.camera,
        logger: options.logger,
        ffmpeg: options.ffmpeg,
        font: options.font,
        gopSeconds: options.gopSeconds,
        payloadType: options.payloadType,
        layers: options.layers,
        onPacket: (packet) => publisher.#forward(packet),
      });
    } catch (error) {
      await publisher.#pc.close();
      throw error;
    }
    publisher.#log.info("live publisher started", { port: publisher.#source.port });
    return publisher;
  }

  /**
   * Once connected, sends each layer's pre-roll (its GOP so far, from the keyframe) at once: the
   * first picture needs no new keyframe, which the encoder would make up to a GOP later.
   */
  #sendPreRoll(): void {
    for (const [layer, preRoll] of this.#preRolls.entries()) {
      const packets = preRoll.take();
      for (const packet of packets) this.#write(layer, packet);
      if (packets.length) {
        this.#log.info("pre-roll sent", { layer, packets: packets.length });
      }
    }
  }

  /** Where the connection stands. */
  get state(): PublisherState {
    return this.#state;
  }

  /** Process id of the live encoder's ffmpeg, if one runs. */
  get encoderPid(): number | undefined {
    return this.#source?.pid;
  }

  /** RTP packets and their bytes (headers included, as ffmpeg made them) handed to WebRTC. */
  get sent(): { packets: number; bytes: number } {
    return { packets: this.#packetsSent, bytes: this.#bytesSent };
  }

  /** Keyframe requests (PLI, FIR) received so far. */
  get keyframeRequests(): number {
    return this.#keyframeRequests;
  }

  /** A complete offer (ICE gathering finished, `a=setup:active`) to send to the remote. */
  async createOffer(): Promise<string> {
    return await this.#offer(false);
  }

  /** Applies the remote's answer to the last offer. */
  async setAnswer(sdp: string): Promise<void> {
    await this.#pc.setRemoteDescription({ type: "answer", sdp });
    guardDtlsRetransmissions(this.#pc, this.#onLateFlight);
    const resumed = resumeIceAfterRestart(this.#pc, (error) => {
      this.#log.warn("ICE checks after the restart failed", { error });
      this.#setState("failed");
    });
    if (resumed) this.#log.info("ICE checks resumed after the restart");
  }

  /** A new complete offer with fresh ICE credentials, to recover after the network changed. */
  async restartIce(): Promise<string> {
    this.#log.info("live publisher restarts ICE");
    return await this.#offer(true);
  }

  /**
   * Notes that the remote asked for a keyframe. The encoder cannot be told at run time, so the
   * next scheduled keyframe (at most `gopSeconds` away) answers it; this only counts and logs.
   */
  requestKeyframe(reason = "request"): void {
    this.#keyframeRequests++;
    this.#log.debug("keyframe requested; the next one comes with the GOP", {
      reason,
      requests: this.#keyframeRequests,
    });
  }

  /** Stops the encoder (SIGTERM, then SIGKILL) and closes the connection; idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#source?.close();
      await this.#pc.close();
      this.#setState("closed");
      // What this publication cost the link (RTP, before SRTP): the server counts it as usage.
      this.#log.info("live publisher closed", {
        rtpPackets: this.#packetsSent,
        rtpBytes: this.#bytesSent,
      });
    })();
    return this.#closing;
  }

  async #offer(iceRestart: boolean): Promise<string> {
    if (this.#closing) {
      throw new Error(`Cannot make an offer for camera "${this.#camera}": the publisher is closed`);
    }
    const offer = await this.#pc.createOffer({ iceRestart });
    await this.#pc.setLocalDescription(offer);
    guardDtlsRetransmissions(this.#pc, this.#onLateFlight);
    await this.#gathered();
    return preferActiveSetup(this.#pc.localDescription!.sdp);
  }

  async #gathered(): Promise<void> {
    if (this.#pc.iceGatheringState === "complete") return;
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const timer = setTimeout(() => {
      reject(
        new Error(
          `Cannot make an offer for camera "${this.#camera}": ` +
            `ICE gathering did not finish in ${GATHER_TIMEOUT_MS} ms`,
        ),
      );
    }, GATHER_TIMEOUT_MS);
    const subscription = this.#pc.iceGatheringStateChange.subscribe((state) => {
      if (state === "complete") resolve();
    });
    try {
      await promise;
    } finally {
      clearTimeout(timer);
      subscription.unSubscribe();
    }
  }

  /** Janus sent its flight 4 again after our flight 5 (we were slow): see dtls_guard.ts. */
  readonly #onLateFlight = (late: LateFlight): void => {
    this.#log.info("late DTLS flight 4 dropped", { ...late });
  };

  /** Hands a packet to the track; a restarted encoder (new SSRC) continues the sequence. */
  #forward(packet: Uint8Array): void {
    const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
    const ssrc = view.getUint32(8);
    // With simulcast the SSRC's two low bits say the layer (see RtpSource).
    const layer = this.#tracks.length > 1 ? ssrc & 3 : 0;
    const track = this.#tracks[layer];
    if (!track) return;
    const now = performance.now();
    const previous = this.#ssrc[layer];
    if (previous !== undefined && ssrc !== previous) {
      // werift rewrites SSRC and payload type itself; sequence numbers and timestamps jump with a
      // new ffmpeg, so ask it to continue them, the timestamp advancing by the time in between.
      const step = Math.max(1, Math.round((now - (this.#lastPacketAt[layer] ?? now)) * 90));
      this.#senders[layer].replaceRTP({ sequenceNumber: 0, timestamp: 0 }, true, step);
      this.#log.info("live encoder restarted; RTP continues", { ssrc, layer });
    }
    this.#ssrc[layer] = ssrc;
    this.#lastPacketAt[layer] = now;
    if (!this.#connectedOnce) return this.#preRolls[layer].push(packet);
    this.#write(layer, packet);
  }

  #write(layer: number, packet: Uint8Array): void {
    this.#packetsSent += 1;
    this.#bytesSent += packet.byteLength;
    this.#tracks[layer].writeRtp(Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength));
  }

  #setState(state: PublisherState): void {
    if (this.#state === state || this.#state === "closed") return;
    this.#state = state;
    this.#log.info("live publisher state", { state });
    this.#onStateChange?.(state);
  }
}
