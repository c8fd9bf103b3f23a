/**
 * The vehicle's live link: a signaling WebSocket to the server, authenticated with the device
 * token, kept open (reconnecting with backoff) while the agent runs. The server asks for a camera
 * (`publish`) when its first viewer arrives; the vehicle starts a {@linkcode LivePublisher}, sends
 * its offer and applies the answer. `unpublish`, or the connection dropping, stops it — no
 * cellular data is spent when nobody watches. When the PeerConnection fails (network loss, Janus
 * restart) the vehicle says `unpublished` and the server asks again. Recording is independent.
 */
import type { Logger } from "../../lib/log/mod.ts";
import { fullJitter } from "../backoff.ts";
import type { CameraConfig } from "../config.ts";
import type { TokenSource } from "../uploader.ts";
import type { IceServer, LivePublisher } from "./publisher.ts";

/** Options of {@linkcode LiveLink}. */
export interface LiveLinkOptions {
  serverUrl: string;
  tokens: TokenSource;
  cameras: CameraConfig[];
  logger: Logger;
  ffmpeg?: string;
  font?: string;
  /** Extra host addresses for ICE (the test namespace's 127.0.0.2). */
  additionalHostAddresses?: string[];
  /** 3: vehicle-side simulcast (announced to the server at authentication). */
  layers?: 1 | 3;
  /** Load werift and make a throwaway offer once the link is up, for a quick first watch. */
  warm?: boolean;
}

const PING_MS = 20_000;
const RECONNECT = { baseMs: 500, capMs: 30_000 };

/** Keeps the signaling connection and runs the publishers it asks for. */
export class LiveLink {
  #socket: WebSocket | null = null;
  #closed = false;
  #publishers = new Map<string, { camera: string; publisher: Promise<LivePublisher> }>();
  #iceServers: IceServer[] = [];
  #loop: Promise<void> | null = null;
  #wake: (() => void) | null = null;
  #connected = false;
  #renewTimer: ReturnType<typeof setTimeout> | undefined;
  #warming: Promise<void> | undefined;

  constructor(readonly options: LiveLinkOptions) {}

  /** True while the signaling connection is authenticated. */
  get connected(): boolean {
    return this.#connected;
  }

  /** Cameras being published now. */
  get publishing(): string[] {
    return [...this.#publishers.values()].map((p) => p.camera);
  }

  /** Starts connecting (and re-connecting) in the background. */
  start(): void {
    this.#loop ??= this.#run();
  }

  async #run(): Promise<void> {
    let attempt = 0;
    while (!this.#closed) {
      const started = Date.now();
      try {
        await this.#session();
      } catch (error) {
        this.options.logger.warn("live link failed", { error: (error as Error).message });
      }
      await this.#stopAll("signaling connection closed");
      if (this.#closed) return;
      attempt = Date.now() - started > 30_000 ? 0 : attempt + 1;
      const delay = fullJitter(attempt, RECONNECT);
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, delay);
      });
    }
  }

  async #session(): Promise<void> {
    const url = new URL("/api/v1/live/ws", this.options.serverUrl);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const token = await this.options.tokens.token();
    const socket = new WebSocket(url);
    this.#socket = socket;
    await new Promise<void>((resolve, reject) => {
      socket.onopen = () => resolve();
      socket.onerror = () => reject(new Error(`Cannot connect to "${url}"`));
    });
    // The cameras' sizes let the server derive each one's transcoding ladder (`LIVE_LADDER=auto`).
    const cameras = this.options.cameras.map(({ name, video }) => ({
      name,
      width: video.width,
      height: video.height,
    }));
    socket.send(JSON.stringify({ type: "auth", token, layers: this.options.layers ?? 1, cameras }));
    const ping = setInterval(() => this.#send({ type: "ping" }), PING_MS);
    try {
      await new Promise<void>((resolve) => {
        socket.onclose = () => resolve();
        socket.onerror = () => {};
        socket.onmessage = (event) => this.#onMessage(String(event.data));
      });
    } finally {
      clearInterval(ping);
      clearTimeout(this.#renewTimer);
      this.#connected = false;
      this.#socket = null;
    }
  }

  #send(message: Record<string, unknown>): void {
    if (this.#socket?.readyState === WebSocket.OPEN) this.#socket.send(JSON.stringify(message));
  }

  async #onMessage(text: string): Promise<void> {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    const log = this.options.logger;
    switch (message.type) {
      case "ready":
        this.#connected = true;
        this.#iceServers = (message.iceServers as IceServer[]) ?? [];
        this.#scheduleRenewal(message.expiresIn);
        log.info("live link ready");
        if (this.options.warm) this.#warmUp();
        return;
      case "authenticated":
        return this.#scheduleRenewal(message.expiresIn);
      case "publish":
        return await this.#publish(String(message.id), String(message.camera));
      case "answer": {
        const entry = this.#publishers.get(String(message.id));
        if (!entry) return;
        try {
          await (await entry.publisher).setAnswer(String(message.sdp));
        } catch (error) {
          await this.#stop(String(message.id), `answer rejected: ${(error as Error).message}`);
        }
        return;
      }
      case "unpublish":
        return await this.#stop(String(message.id), null);
      case "error":
        log.warn("live signaling error", { code: message.code, message: message.message });
        if (message.code === "unauthorized" || message.code === "revoked") {
          this.options.tokens.invalidate();
        }
        if (message.code === "token_expired") await this.#renew();
        return;
    }
  }

  /**
   * The server ends a connection whose device token expires unless a fresh one comes: send one on
   * the open socket a little before (`expiresIn` seconds from now), so publishing goes on.
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
      this.#send({ type: "auth", token: await this.options.tokens.token() });
    } catch (error) {
      this.options.logger.warn("cannot renew the live link's token", {
        error: (error as Error).message,
      });
    }
  }

  /** Loads werift and runs its one-time setup (first offer) in the background, once. */
  #warmUp(): void {
    this.#warming ??= (async () => {
      const started = performance.now();
      const { warmUpWebRtc } = await import("./publisher.ts");
      await warmUpWebRtc(this.options.additionalHostAddresses);
      this.options.logger.info("live publisher warm", {
        ms: Math.round(performance.now() - started),
      });
    })().catch((error) => {
      this.options.logger.warn("cannot warm up the live publisher", {
        error: (error as Error).message,
      });
    });
  }

  async #publish(id: string, cameraName: string): Promise<void> {
    const camera = this.options.cameras.find((c) => c.name === cameraName);
    if (!camera) {
      return this.#send({ type: "unpublished", id, reason: `No camera "${cameraName}" here` });
    }
    for (const [other, entry] of this.#publishers) {
      if (entry.camera === cameraName) await this.#stop(other, null);
    }
    // werift is loaded by the warm-up (or here, at the first publish, with --live-warm off).
    const publisher = import("./publisher.ts").then(({ LivePublisher }) =>
      LivePublisher.start({
        camera,
        iceServers: this.#iceServers,
        additionalHostAddresses: this.options.additionalHostAddresses,
        layers: this.options.layers,
        ffmpeg: this.options.ffmpeg,
        font: this.options.font,
        logger: this.options.logger.child({ camera: cameraName, publish: id }),
        onStateChange: (state) => {
          if (state === "failed" || state === "disconnected") {
            // Network loss or a Janus restart: stop and tell the server, which asks again.
            this.#stop(id, `connection ${state}`);
          }
        },
      })
    );
    this.#publishers.set(id, { camera: cameraName, publisher });
    try {
      const offer = await (await publisher).createOffer();
      this.#send({ type: "offer", id, sdp: offer });
      this.options.logger.info("publishing", { camera: cameraName });
    } catch (error) {
      await this.#stop(id, `cannot publish: ${(error as Error).message}`);
    }
  }

  async #stop(id: string, reason: string | null): Promise<void> {
    const entry = this.#publishers.get(id);
    if (!entry) return;
    this.#publishers.delete(id);
    if (reason) this.#send({ type: "unpublished", id, reason });
    this.options.logger.info("stopped publishing", { camera: entry.camera, reason });
    await (await entry.publisher.catch(() => null))?.close();
  }

  async #stopAll(reason: string): Promise<void> {
    await Promise.all([...this.#publishers.keys()].map((id) => this.#stop(id, reason)));
  }

  /** Closes the link and every publisher; idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#socket?.close();
    this.#wake?.();
    await this.#loop;
    await this.#stopAll("closing");
  }
}
