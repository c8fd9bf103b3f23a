/// <reference lib="dom" />
/**
 * The browser's live viewer: one camera watched over the signaling WebSocket (the server offers,
 * the browser answers, candidates trickle both ways). It answers every offer with a new
 * RTCPeerConnection (a restart after Janus came back is one), reports decoding statistics for the
 * server's ABR controller, and comes back by itself when the socket drops or the watch ends.
 */

import { LinkDelay } from "./link_delay.ts";

/** Where the signaling WebSocket is served. */
export const SIGNALING_PATH = "/api/v1/live/ws";

/** Qualities a viewer may ask for: `auto` lets the server's ABR controller decide. */
export type LiveQuality = "auto" | "low" | "medium" | "high";

/**
 * Where watching stands, as a viewer sees it:
 * - `connecting`: opening the socket, or negotiating the PeerConnection;
 * - `starting`: the server asked the vehicle to publish;
 * - `waiting`: connected, but no frame arrives;
 * - `live`: frames are being decoded;
 * - `vehicle-offline`: the vehicle is not connected, the server waits for it;
 * - `reconnecting`: the socket, Janus or the publication dropped and is coming back;
 * - `unavailable`: the server cannot stream now and retries;
 * - `failed`: watching is impossible (no such camera, not allowed, live off): final;
 * - `closed`: {@linkcode LiveViewer.close} was called.
 */
export type LiveState =
  | "connecting"
  | "starting"
  | "waiting"
  | "live"
  | "vehicle-offline"
  | "reconnecting"
  | "unavailable"
  | "failed"
  | "closed";

/** The layer being received: 0 is the lowest of `layers`. */
export interface LiveLayer {
  layer: number;
  layers: number;
  /** Picture heights of the layers, lowest first, when the server knows them (its ladder). */
  heights?: number[];
  /** Why the server switched (`auto`, `manual`, an ABR reason); absent for a new offer. */
  reason?: string;
}

/** Options of {@linkcode LiveViewer}. */
export interface LiveViewerOptions {
  /**
   * A valid access token, asked for at every (re)connection, such as `PageSession.accessToken`;
   * `fresh` asks for a newly issued one (to renew the open socket's access before it expires).
   */
  token: (options?: { fresh?: boolean }) => Promise<string>;
  /** The camera's fleet (platform owners must name it). */
  fleetId?: string;
  vehicleId: string;
  /** The camera's id (`cam_…`), as playback takes it: give this. */
  cameraId?: string;
  /** Deprecated: the camera's name, such as `front`; used only without `cameraId`. */
  camera?: string;
  quality?: LiveQuality;
  /** Called when the state changes, with the server's explanation when it gave one. */
  onState?: (state: LiveState, detail?: string) => void;
  onLayer?: (layer: LiveLayer) => void;
  /** Called with the stream to show (each new PeerConnection has one), null when closed. */
  onStream?: (stream: MediaStream | null) => void;
  /**
   * The element showing the stream: its frames' arrival times tell the server of a queue on the
   * link within a fraction of a second (without it, the server's own signals take a second).
   */
  video?: () => HTMLVideoElement | null;
  /** The signaling URL; by default `SIGNALING_PATH` on this page's host (ws: or wss:). */
  url?: string;
}

type Message = Record<string, unknown>;
/** What `requestVideoFrameCallback` gives for a WebRTC frame (the fields read here). */
type FrameMetadata = { receiveTime?: number; rtpTimestamp?: number };
type FrameClockVideo = HTMLVideoElement & {
  requestVideoFrameCallback(callback: (now: number, frame: FrameMetadata) => void): number;
};
type Candidate = { candidate: string; sdpMid?: string | null; sdpMLineIndex?: number | null };

const RETRY_BASE_MS = 500;
const RETRY_CAP_MS = 10_000;
const TICK_MS = 1_000;
/** Statistics go to the server every this many ticks (the ABR controller samples each second). */
const STATS_EVERY = 1;
const PING_EVERY = 20;
/** Errors about a watch that retrying cannot fix. */
/** Close code of a connection whose access was revoked (signed out, user disabled). */
const ACCESS_REVOKED = 4003;
const FINAL_ERRORS = new Set(["not_found", "forbidden", "too_many_watches", "bad_message"]);
/** Statuses of the publication that say video cannot flow now. */
const HOLDING = new Set(["starting", "vehicle-offline", "reconnecting", "unavailable"]);

/**
 * Watches one camera live.
 *
 * @example
 * ```ts
 * const viewer = new LiveViewer({
 *   token: (options) => session.accessToken(options),
 *   fleetId, vehicleId, cameraId: "cam_5n1x8c4v2b7m9k3q6w0z",
 *   onStream: (stream) => (video.srcObject = stream),
 *   onState: (state) => (status.textContent = state),
 * });
 * viewer.start();
 * viewer.setQuality("low");
 * viewer.close();
 * ```
 */
export class LiveViewer {
  readonly #options: LiveViewerOptions;
  #quality: LiveQuality;
  #socket: WebSocket | null = null;
  /** The socket authenticated (`ready` received). */
  #ready = false;
  /** Some socket authenticated before: a socket that is not ready now is reconnecting. */
  #wasReady = false;
  #iceServers: RTCIceServer[] = [];
  /** The open watch's id: a new one per watch, so late messages about an old one are ignored. */
  #watchId: string | null = null;
  #watches = 0;
  #pc: RTCPeerConnection | null = null;
  /** SDP and candidate work of the current PeerConnection, in arrival order. */
  #work: Promise<void> = Promise.resolve();
  #layers = 1;
  #heights: number[] | undefined;
  /** The publication's last status from the server. */
  #publication = "starting";
  #detail?: string;
  #framesDecoded = 0;
  /** The next statistics only set the baseline: frames decoded before it do not count. */
  #rebase = false;
  #flowing = false;
  #failure: string | null = null;
  #state: LiveState | null = null;
  #shownDetail?: string;
  #attempt = 0;
  #retryTimer?: ReturnType<typeof setTimeout>;
  #renewTimer?: ReturnType<typeof setTimeout>;
  #ticker?: ReturnType<typeof setInterval>;
  readonly #delay = new LinkDelay();
  #ticks = 0;
  #started = false;
  #closed = false;

  constructor(options: LiveViewerOptions) {
    this.#options = options;
    this.#quality = options.quality ?? "auto";
  }

  /** Where watching stands. */
  get state(): LiveState {
    return this.#state ?? "connecting";
  }

  /** The quality asked for. */
  get quality(): LiveQuality {
    return this.#quality;
  }

  /** Connects and starts watching; idempotent. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#update();
    this.#ticker = setInterval(() => this.#tick(), TICK_MS);
    this.#connect();
  }

  /** Asks for a quality; `auto` hands the choice back to the server. Kept across reconnections. */
  setQuality(quality: LiveQuality): void {
    this.#quality = quality;
    if (this.#watchId) this.#send({ type: "quality", id: this.#watchId, quality });
  }

  /** Stops watching: says bye, closes the PeerConnection and the socket; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#renewTimer);
    clearInterval(this.#ticker);
    if (this.#watchId) this.#send({ type: "bye", id: this.#watchId });
    this.#watchId = null;
    const socket = this.#socket;
    this.#socket = null;
    socket?.close(1000, "viewer closed");
    this.#dropPeer();
    this.#options.onStream?.(null);
    this.#update();
  }

  get #url(): string {
    if (this.#options.url) return this.#options.url;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${location.host}${SIGNALING_PATH}`;
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    let token: string;
    try {
      token = await this.#options.token();
    } catch {
      return this.#retry(() => this.#connect());
    }
    if (this.#closed) return;
    const socket = new WebSocket(this.#url);
    this.#socket = socket;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      socket.send(JSON.stringify({ type: "auth", token }));
      // The watch goes right behind the auth (the server holds it until the auth is settled): the
      // offer comes one round trip sooner than by waiting for `ready`.
      this.#watch(socket);
    };
    socket.onmessage = (event) => {
      if (socket === this.#socket && typeof event.data === "string") this.#onMessage(event.data);
    };
    socket.onclose = (event) => {
      if (socket !== this.#socket) return;
      clearTimeout(this.#renewTimer);
      if (event.code === ACCESS_REVOKED) {
        return this.#fail("Access to live video was revoked: sign in again");
      }
      this.#socket = null;
      this.#ready = false;
      this.#watchId = null;
      this.#publication = "reconnecting";
      this.#dropPeer();
      this.#update();
      if (opened) this.#retry(() => this.#connect());
      else this.#refused();
    };
  }

  /** The socket did not open: live may be off on this server (its answer says so), or down. */
  async #refused(): Promise<void> {
    const url = this.#url.replace(/^ws/, "http");
    const problem = await fetch(url, { headers: { accept: "application/json" } })
      .then(async (response) => response.status === 503 ? await response.json() : null)
      .catch(() => null);
    if (this.#closed) return;
    if (typeof problem?.detail === "string") return this.#fail(problem.detail);
    this.#retry(() => this.#connect());
  }

  #retry(again: () => void): void {
    if (this.#closed) return;
    clearTimeout(this.#retryTimer);
    const delay = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** this.#attempt);
    this.#attempt += 1;
    this.#retryTimer = setTimeout(again, delay * (0.75 + Math.random() / 2));
  }

  #send(message: Message): void {
    if (this.#socket?.readyState === WebSocket.OPEN) this.#socket.send(JSON.stringify(message));
  }

  #onMessage(text: string): void {
    let message: Message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (message.type === "ready" || message.type === "authenticated") {
      this.#scheduleRenewal(message.expiresIn);
    }
    if (message.type === "authenticated") return;
    if (message.type === "ready") {
      this.#ready = this.#wasReady = true;
      this.#iceServers = Array.isArray(message.iceServers) ? message.iceServers : [];
      if (!this.#watchId) this.#watch();
      return this.#update();
    }
    if (message.type === "error") return this.#onError(message);
    if (!this.#watchId || message.id !== this.#watchId) return;
    switch (message.type) {
      case "offer":
        return this.#answer(message);
      case "candidate":
        return this.#remoteCandidate(message.candidate as Candidate | null);
      case "status":
        return this.#onStatus(String(message.state), message.detail);
      case "layer":
        return this.#options.onLayer?.({
          layer: Number(message.layer),
          layers: this.#layers,
          heights: this.#heights,
          reason: typeof message.reason === "string" ? message.reason : undefined,
        });
      case "ended":
        // The server ended the stream (it is shutting it down): watch again, it may come back.
        this.#watchId = null;
        this.#dropPeer();
        this.#publication = "reconnecting";
        this.#update();
        return this.#retry(() => this.#watch());
    }
  }

  /** Opens a watch on the ready socket, or on `opened`, just authenticating, behind its auth. */
  #watch(opened?: WebSocket): void {
    if (this.#closed || !(this.#ready || (opened && opened === this.#socket))) return;
    this.#watches += 1;
    const id = `w${this.#watches}-${crypto.randomUUID().slice(0, 8)}`;
    this.#watchId = id;
    const { fleetId, vehicleId, cameraId, camera } = this.#options;
    const which = cameraId ? { cameraId } : { camera };
    this.#send({ type: "watch", id, fleetId, vehicleId, ...which, quality: this.#quality });
  }

  /** Ends the current watch on the server and opens a new one after a pause. */
  #rewatch(): void {
    if (this.#watchId) this.#send({ type: "bye", id: this.#watchId });
    this.#watchId = null;
    this.#dropPeer();
    this.#update();
    this.#retry(() => this.#watch());
  }

  /**
   * The server closes a connection whose access token expires unless a fresh one comes: send one
   * on the open socket a little before (`expiresIn` seconds from now), so watching goes on.
   */
  #scheduleRenewal(expiresIn: unknown): void {
    clearTimeout(this.#renewTimer);
    if (typeof expiresIn !== "number") return;
    const lifetimeMs = expiresIn * 1000;
    const delay = Math.max(1_000, lifetimeMs - Math.min(30_000, lifetimeMs / 10));
    this.#renewTimer = setTimeout(() => this.#renew(), delay);
  }

  async #renew(): Promise<void> {
    try {
      // The token the socket holds is the one about to expire: only a newly issued one renews.
      const token = await this.#options.token({ fresh: true });
      this.#send({ type: "auth", token });
    } catch {
      // the server closes the socket at expiry; the reconnection asks for a token again
    }
  }

  #onError(message: Message): void {
    if (message.code === "token_expired" && !message.id) {
      this.#renew();
      return;
    }
    const id = typeof message.id === "string" ? message.id : null;
    if (!id || id !== this.#watchId) return; // about the connection: a refused token closes it
    const code = String(message.code);
    const text = typeof message.message === "string" ? message.message : code;
    if (FINAL_ERRORS.has(code)) return this.#fail(text);
    this.#publication = code === "unknown_watch" ? "reconnecting" : "unavailable";
    this.#detail = text;
    this.#rewatch();
  }

  #onStatus(state: string, detail: unknown): void {
    if (state === "connected") return this.#update();
    this.#publication = state;
    this.#detail = typeof detail === "string" ? detail : undefined;
    // Frames must be seen moving again, after this news, before the video counts as live.
    if (state !== "live") {
      this.#flowing = false;
      this.#rebase = true;
    }
    this.#update();
  }

  /** Answers an offer with a new PeerConnection; the old one (if any) is closed. */
  #answer(offer: Message): void {
    this.#dropPeer();
    const id = this.#watchId!;
    const pc = new RTCPeerConnection({ iceServers: this.#iceServers });
    this.#pc = pc;
    this.#delay.reset();
    this.#framesDecoded = 0;
    this.#rebase = false;
    this.#layers = Number(offer.layers) || 1;
    this.#heights = Array.isArray(offer.layerHeights)
      ? (offer.layerHeights as unknown[]).map(Number)
      : undefined;
    this.#options.onLayer?.({
      layer: Number(offer.layer) || 0,
      layers: this.#layers,
      heights: this.#heights,
    });
    const outbox: Array<Candidate | null> = [];
    let answered = false;
    pc.onicecandidate = ({ candidate: c }) => {
      const candidate = c &&
        { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex };
      if (answered) this.#send({ type: "candidate", id, candidate });
      else outbox.push(candidate);
    };
    pc.ontrack = (event) => {
      if (pc !== this.#pc) return;
      this.#options.onStream?.(event.streams[0] ?? new MediaStream([event.track]));
      if (event.track.kind === "video") this.#measure(pc);
    };
    pc.onconnectionstatechange = () => {
      if (pc !== this.#pc) return;
      if (pc.connectionState === "failed") return this.#rewatch();
      this.#update();
    };
    this.#work = (async () => {
      await pc.setRemoteDescription({ type: "offer", sdp: String(offer.sdp) });
      await pc.setLocalDescription(await pc.createAnswer());
      if (pc !== this.#pc) return;
      this.#send({ type: "answer", id, sdp: pc.localDescription!.sdp });
      answered = true;
      for (const candidate of outbox.splice(0)) this.#send({ type: "candidate", id, candidate });
    })().catch((error: unknown) => {
      if (pc !== this.#pc) return;
      this.#detail = `Cannot answer the offer: ${error instanceof Error ? error.message : error}`;
      this.#publication = "unavailable";
      this.#rewatch();
    });
    this.#update();
  }

  #remoteCandidate(candidate: Candidate | null): void {
    const pc = this.#pc;
    if (!pc) return;
    this.#work = this.#work
      .then(() => pc === this.#pc ? pc.addIceCandidate(candidate ?? undefined) : undefined)
      .catch(() => {}); // a candidate Chromium cannot use is not a failure of the watch
  }

  #dropPeer(): void {
    const pc = this.#pc;
    this.#pc = null;
    this.#flowing = false;
    if (!pc) return;
    pc.onicecandidate = pc.ontrack = pc.onconnectionstatechange = null;
    pc.close();
  }

  #fail(reason: string): void {
    this.#failure = reason;
    this.#detail = reason;
    clearTimeout(this.#retryTimer);
    clearInterval(this.#ticker);
    if (this.#watchId) this.#send({ type: "bye", id: this.#watchId });
    this.#watchId = null;
    const socket = this.#socket;
    this.#socket = null;
    socket?.close(1000, "viewer failed");
    this.#dropPeer();
    this.#update();
  }

  /**
   * Reads each frame the page presents (`requestVideoFrameCallback`): when its last packet arrived
   * less when it was captured (its RTP timestamp). A queue building up on the link is reported to
   * the server at once (`delay`), so it steps down before the link's buffer drops anything.
   * Arrival, not presentation: a late keyframe that the frames behind it catch up on is no queue.
   */
  #measure(pc: RTCPeerConnection): void {
    const element = this.#options.video?.() as FrameClockVideo | null | undefined;
    if (!element || typeof element.requestVideoFrameCallback !== "function") return;
    const onFrame = (now: number, frame: FrameMetadata) => {
      if (pc !== this.#pc || this.#closed) return;
      const id = this.#watchId;
      if (
        id && this.#quality === "auto" && typeof frame.receiveTime === "number" &&
        typeof frame.rtpTimestamp === "number"
      ) {
        const report = this.#delay.read(now, frame.receiveTime, frame.rtpTimestamp);
        if (report) this.#send({ type: "delay", id, ...report });
      }
      element.requestVideoFrameCallback(onFrame);
    };
    element.requestVideoFrameCallback(onFrame);
  }

  /** Once a second: whether frames move; every other second, statistics for the server. */
  async #tick(): Promise<void> {
    this.#ticks += 1;
    if (this.#ticks % PING_EVERY === 0) this.#send({ type: "ping" });
    const pc = this.#pc;
    const id = this.#watchId;
    if (!pc || !id) return;
    let framesDecoded: number | undefined;
    let framesDropped: number | undefined;
    let availableBitrate: number | undefined;
    let inbound: Record<string, number | undefined> = {};
    try {
      (await pc.getStats()).forEach((report) => {
        if (report.type === "inbound-rtp" && report.kind === "video") {
          framesDecoded = report.framesDecoded;
          framesDropped = report.framesDropped;
          // What the server's ABR controller reads of the picture (Chromium's counters).
          inbound = {
            bytesReceived: report.bytesReceived,
            packetsLost: report.packetsLost,
            nackCount: report.nackCount,
            freezeCount: report.freezeCount,
            totalFreezesDuration: report.totalFreezesDuration,
            jitterBufferDelay: report.jitterBufferDelay,
            jitterBufferEmittedCount: report.jitterBufferEmittedCount,
          };
        } else if (
          report.type === "candidate-pair" && report.nominated && report.state === "succeeded" &&
          typeof report.availableIncomingBitrate === "number"
        ) {
          availableBitrate = report.availableIncomingBitrate;
        }
      });
    } catch {
      return; // closed meanwhile
    }
    if (pc !== this.#pc) return;
    if (framesDecoded !== undefined) {
      const flowing = !this.#rebase && framesDecoded > this.#framesDecoded;
      this.#framesDecoded = framesDecoded;
      this.#rebase = false;
      if (flowing !== this.#flowing) {
        this.#flowing = flowing;
        if (flowing) this.#attempt = 0;
        this.#update();
      }
    }
    const measured = framesDecoded !== undefined || availableBitrate !== undefined;
    if (this.#ticks % STATS_EVERY === 0 && measured && id === this.#watchId) {
      this.#send({
        type: "stats",
        id,
        framesDecoded,
        framesDropped,
        availableBitrate,
        ...Object.fromEntries(
          Object.entries(inbound).filter(([, v]) => typeof v === "number" && Number.isFinite(v)),
        ),
      });
    }
  }

  #current(): LiveState {
    if (this.#closed) return "closed";
    if (this.#failure) return "failed";
    if (!this.#ready) return this.#wasReady ? "reconnecting" : "connecting";
    if (this.#flowing) return "live";
    if (HOLDING.has(this.#publication)) return this.#publication as LiveState;
    return this.#pc?.connectionState === "connected" ? "waiting" : "connecting";
  }

  #update(): void {
    const state = this.#current();
    const detail = state === "failed" || state === "unavailable" ? this.#detail : undefined;
    if (state === this.#state && detail === this.#shownDetail) return;
    this.#state = state;
    this.#shownDetail = detail;
    this.#options.onState?.(state, detail);
  }
}
