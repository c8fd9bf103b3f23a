/**
 * One camera's live stream on the server: the viewers watching it, the Janus mountpoints they
 * watch (one per payload type, fed by an {@linkcode RtpRelay}), and the vehicle's publication —
 * asked for when the first viewer arrives, into a VideoRoom room, forwarded to the relay directly
 * or through the transcoding ladder; stopped a grace period after the last viewer leaves.
 */
import type { JanusHandle } from "../janus/mod.ts";
import {
  createMountpoint,
  createRoom,
  destroyMountpoint,
  FORWARD_PT,
  joinAsPublisher,
  publishOffer,
  rtpForward,
} from "./janus_plugins.ts";
import { ConflictError } from "../errors/mod.ts";
import type { LiveContext } from "./context.ts";
import { forwardSdp, Ladder, ladderRungs, type LadderSpec, type Rung } from "./ladder.ts";
import { RtpRelay } from "./rtp_relay.ts";
import type { ViewerSession } from "./viewer_session.ts";

/** Where the camera's publication stands. */
export type PublishState = "idle" | "requested" | "negotiating" | "live";

const REPUBLISH_DELAY_MS = 1_000;

/** The live stream of one camera. */
export class CameraStream {
  readonly viewers = new Map<string, ViewerSession>();
  state: PublishState = "idle";
  /** Id of the current publish request, echoed by the vehicle. */
  publishId: string | null = null;
  #relay: RtpRelay | null = null;
  #mountpoints = new Map<number, Promise<string>>();
  #publisher: JanusHandle | null = null;
  /**
   * The room and a publisher handle that joined it, made while the vehicle builds its offer, so
   * that its offer needs one request to Janus (`publish`) instead of five.
   */
  #prepared: Promise<{ handle: JanusHandle; publisherId: string }> | null = null;
  #ladder: Ladder | null = null;
  /** The ladder's rungs, fixed for the stream's life once its first viewer came. */
  #rungs: Rung[] | null = null;
  #rungsReady: Promise<void> | null = null;
  #ladderInput: string | null = null;
  #timers = new Set<ReturnType<typeof setTimeout>>();
  #grace: ReturnType<typeof setTimeout> | null = null;
  #publishTimer: ReturnType<typeof setTimeout> | null = null;
  #generation = -1;
  #closed = false;
  #closing: Promise<void> | null = null;
  /** The last read of an ended publication's bytes, under way. */
  #metering: Promise<void> = Promise.resolve();
  /** A WHIP client publishes this camera (instead of the vehicle agent being asked to). */
  #whip: string | null = null;

  constructor(
    readonly key: string,
    readonly vehicleId: string,
    readonly fleetId: string,
    readonly camera: string,
    readonly context: LiveContext,
  ) {}

  /** Layers viewers can pick from: three from the ladder or from a simulcasting vehicle. */
  get layers(): number {
    if (this.#relay) return this.#relay.ports.length;
    const simulcast = this.context.vehicle(this.vehicleId)?.layers === 3;
    return this.context.settings.ladder || simulcast ? 3 : 1;
  }

  /** Picture heights of the layers when the server's ladder makes them, lowest first. */
  get layerHeights(): number[] | undefined {
    return this.#ladderRungs()?.map((rung) => rung.height);
  }

  /**
   * Bit rates of the layers, lowest first, for the ABR controller: the ladder's rungs (a
   * simulcasting vehicle's layers stand in with them); undefined for one layer.
   */
  get layerBitrates(): number[] | undefined {
    if (!this.context.settings.ladder || this.layers !== 3) return undefined;
    return (this.#rungs ?? this.#resolveRungs(null)).map((rung) => rung.bitrate);
  }

  /** The rungs the ladder makes for this stream; undefined when it forwards the vehicle's layers. */
  #ladderRungs(): Rung[] | undefined {
    const simulcast = this.context.vehicle(this.vehicleId)?.layers === 3;
    if (!this.context.settings.ladder || simulcast || this.layers !== 3) return undefined;
    return this.#rungs ?? this.#resolveRungs(null);
  }

  /**
   * Settles the ladder's rungs before the first viewer is offered: the fleet's `liveLadder` or the
   * server's `LIVE_LADDER`, `auto` derived from the camera's height as its vehicle announced it.
   */
  prepareLadder(): Promise<void> {
    if (!this.context.settings.ladder) return Promise.resolve();
    this.#rungsReady ??= (async () => {
      let spec: LadderSpec | null = null;
      try {
        spec = await this.context.fleetLadder?.(this.fleetId) ?? null;
      } catch (error) {
        this.context.logger.warn("cannot read the fleet's ladder; using the server's", {
          stream: this.key,
          error: (error as Error).message,
        });
      }
      this.#rungs = this.#resolveRungs(spec);
      this.context.logger.info("ladder", {
        stream: this.key,
        rungs: this.#rungs.map((r) => `${r.height}:${r.bitrate}`).join(","),
      });
    })();
    return this.#rungsReady;
  }

  #resolveRungs(spec: LadderSpec | null): Rung[] {
    const height = this.context.vehicle(this.vehicleId)?.cameraHeights?.[this.camera];
    return ladderRungs(spec ?? this.context.settings.rungs, height);
  }

  /** The Janus room the vehicle publishes in (also its mountpoint prefix). */
  get room(): string {
    return `mc-${this.key.replace(/[^A-Za-z0-9_-]/g, "-")}`;
  }

  /** Tells every WebSocket viewer where the stream stands. */
  notify(state: string, detail?: string): void {
    for (const viewer of this.viewers.values()) {
      if (viewer.mode.kind === "ws") {
        viewer.mode.peer.send({
          type: "status",
          id: viewer.id,
          state,
          ...(detail ? { detail } : {}),
        });
      }
    }
  }

  /** The id of the mountpoint stamping payload type `pt`, created on first use. */
  mountpoint(pt: number = FORWARD_PT): Promise<string> {
    this.#syncGeneration();
    let created = this.#mountpoints.get(pt);
    if (!created) {
      created = this.#createMountpoint(pt);
      this.#mountpoints.set(pt, created);
      created.catch(() => this.#mountpoints.delete(pt));
    }
    return created;
  }

  async #createMountpoint(pt: number): Promise<string> {
    const session = this.context.janus.session;
    if (!session) throw new Error("Janus is not connected");
    this.#relay ??= await RtpRelay.open(this.layers);
    const id = `${this.room}-${pt}`;
    const handle = await session.attach("janus.plugin.streaming");
    try {
      const { ports } = await createMountpoint(handle, {
        id,
        layers: this.layers as 1 | 3,
        adminKey: this.context.settings.adminSecret,
        pt,
      });
      this.#relay.setTarget(String(pt), ports);
    } finally {
      await handle.detach();
    }
    return id;
  }

  /** Forgets Janus state when the connection to Janus was replaced. */
  #syncGeneration(): void {
    const generation = this.context.janus.generation;
    if (generation === this.#generation) return;
    this.#generation = generation;
    this.#mountpoints.clear();
    if (this.#publisher) this.#meterEnded(this.#publisher); // gone with Janus: forgotten
    this.#publisher = null;
    this.#prepared = null; // its handle died with the old Janus session
    this.#stopFeed();
    this.#relay?.close();
    this.#relay = null;
    this.state = "idle";
    this.publishId = null;
    // A WHIP publisher's PeerConnection died with the old Janus: it must POST again.
    this.#whip = null;
  }

  /** Adds a viewer: cancels a pending stop and makes sure the vehicle publishes. */
  addViewer(viewer: ViewerSession): void {
    this.viewers.set(viewer.id, viewer);
    if (this.#grace) {
      clearTimeout(this.#grace);
      this.#grace = null;
    }
    this.ensurePublishing();
  }

  /** Removes a viewer; the last one starts the grace period before unpublishing. */
  async removeViewer(viewer: ViewerSession): Promise<void> {
    if (this.viewers.get(viewer.id) !== viewer) return;
    this.viewers.delete(viewer.id);
    await viewer.close();
    if (this.viewers.size === 0 && !this.#grace && !this.#whip) {
      this.#grace = setTimeout(() => {
        this.#grace = null;
        if (this.viewers.size === 0) this.close().then(() => this.context.released(this.key));
      }, this.context.settings.idleGraceMs);
    }
  }

  /** Asks the vehicle to publish when there are viewers and nobody asked yet. */
  ensurePublishing(): void {
    this.#syncGeneration();
    if (this.#closed || this.viewers.size === 0 || this.state !== "idle" || this.#whip) return;
    if (!this.context.janus.session) return this.notify("unavailable", "Janus is not reachable");
    const link = this.context.vehicle(this.vehicleId);
    if (!link) return this.notify("vehicle-offline");
    this.state = "requested";
    this.publishId = crypto.randomUUID().slice(0, 18);
    link.send({ type: "publish", id: this.publishId, camera: this.camera });
    this.#prepared = this.#joinRoom();
    this.#prepared.catch(() => {}); // the offer joins by itself then
    this.notify("starting");
    this.#publishTimer = setTimeout(() => {
      if (this.state === "live") return;
      this.context.logger.warn("vehicle did not publish in time", { stream: this.key });
      this.notify("unavailable", "The vehicle did not start publishing in time");
      this.#resetPublisher();
      this.#later(() => this.ensurePublishing(), REPUBLISH_DELAY_MS * 3);
    }, this.context.settings.publishTimeoutMs);
  }

  /** Handles the vehicle's offer for the current publish request; returns Janus's answer. */
  async publisherOffer(publishId: string, sdp: string): Promise<string> {
    if (publishId !== this.publishId || this.state !== "requested") {
      throw new Error(`No publish request "${publishId}" is waiting for an offer`);
    }
    const session = this.context.janus.session;
    if (!session) throw new Error("Janus is not connected");
    this.state = "negotiating";
    const started = performance.now();
    const generation = this.context.janus.generation;
    const prepared = this.#prepared;
    this.#prepared = null;
    const { handle, publisherId } = await prepared?.catch(() => null) ?? await this.#joinRoom();
    this.#publisher = handle;
    this.context.usage?.publishing({
      fleetId: this.fleetId,
      vehicleId: this.vehicleId,
      camera: this.camera,
      sessionId: handle.session.id,
      handleId: handle.id,
    });
    handle.on((event) => {
      if (handle !== this.#publisher) return;
      if (event.janus === "webrtcup") {
        if (this.#publishTimer) clearTimeout(this.#publishTimer);
        this.state = "live";
        this.notify("live");
      }
      if (event.janus === "hangup" || event.janus === "detached") {
        this.#onPublisherGone(handle, `${event.janus}: ${event.raw.reason ?? "no reason given"}`);
      }
    });
    const answer = await publishOffer(handle, this.room, { type: "offer", sdp });
    // The forward (and the ladder) start now, while ICE and DTLS run, so that the vehicle's very
    // first keyframe reaches viewers instead of waiting a GOP for the next one.
    this.#startFeed(handle, publisherId, generation, videoMids(sdp));
    this.context.logger.info("publisher answered", {
      stream: this.key,
      janusMs: Math.round(performance.now() - started),
      prepared: prepared !== null,
    });
    return answer.sdp;
  }

  /** Creates the room (if it does not exist) and joins it with a new publisher handle. */
  async #joinRoom(): Promise<{ handle: JanusHandle; publisherId: string }> {
    const session = this.context.janus.session;
    if (!session) throw new Error("Janus is not connected");
    const [room, attached] = await Promise.allSettled([
      (async () => {
        const control = await session.attach("janus.plugin.videoroom");
        try {
          await createRoom(control, this.room, this.context.settings.adminSecret).catch((error) => {
            if (!/already exists/i.test(String(error.message))) throw error;
          });
        } finally {
          await control.detach();
        }
      })(),
      session.attach("janus.plugin.videoroom"),
    ]);
    if (attached.status === "rejected") throw attached.reason;
    const handle = attached.value;
    try {
      if (room.status === "rejected") throw room.reason;
      return { handle, publisherId: await joinAsPublisher(handle, this.room) };
    } catch (error) {
      await handle.detach().catch(() => {});
      throw error;
    }
  }

  async #startFeed(
    handle: JanusHandle,
    publisherId: string,
    generation: number,
    mids: string[],
  ): Promise<void> {
    if (this.context.janus.generation !== generation || handle !== this.#publisher) return;
    try {
      await this.mountpoint();
      const relay = this.#relay!;
      const settings = this.context.settings;
      let ports = [relay.ports[0]];
      let forwarded = [mids[0] ?? "0"];
      if (mids.length >= 3 && relay.ports.length === 3) {
        // The vehicle simulcasts: its three streams are the layers, no transcoding.
        ports = relay.ports;
        forwarded = mids.slice(0, 3);
      } else if (settings.ladder) {
        const port = await freeUdpPort();
        ports = [port];
        this.#ladderInput = await Deno.makeTempFile({
          prefix: "motorcade-forward-",
          suffix: ".sdp",
        });
        await Deno.writeTextFile(this.#ladderInput, forwardSdp(port));
        this.#ladder = Ladder.start(
          ["-protocol_whitelist", "file,udp,rtp", "-i", this.#ladderInput],
          {
            rungs: this.#rungs ?? this.#resolveRungs(null),
            ports: relay.ports,
            fps: settings.fps,
            ffmpeg: settings.ffmpeg,
            logger: this.context.logger,
          },
        );
      }
      await rtpForward(handle, {
        room: this.room,
        publisherId,
        ports,
        mids: forwarded,
        adminKey: settings.adminSecret,
      });
    } catch (error) {
      this.context.logger.error("cannot forward the publisher", {
        stream: this.key,
        error: (error as Error).message,
      });
      this.#onPublisherGone(handle, `cannot forward: ${(error as Error).message}`);
    }
  }

  #onPublisherGone(handle: JanusHandle, reason: string): void {
    if (handle !== this.#publisher) return;
    this.context.logger.info("publisher gone", {
      stream: this.key,
      whip: this.#whip !== null,
      reason,
    });
    this.#whip = null;
    this.#resetPublisher();
    if (this.viewers.size) {
      this.notify("reconnecting");
      this.#later(() => this.ensurePublishing(), REPUBLISH_DELAY_MS);
    }
  }

  /** True while a WHIP client publishes this camera. */
  get whip(): boolean {
    return this.#whip !== null;
  }

  /**
   * A WHIP client (an encoder on the vehicle) publishes `offer`; replaces any publication the
   * server asked the vehicle agent for. Returns Janus's answer.
   */
  async whipPublish(resource: string, offer: string): Promise<string> {
    this.#syncGeneration();
    if (this.#whip) throw new ConflictError(`Camera "${this.camera}" already has a WHIP publisher`);
    const link = this.context.vehicle(this.vehicleId);
    if (this.publishId && link) link.send({ type: "unpublish", id: this.publishId });
    this.#resetPublisher();
    if (this.#grace) {
      clearTimeout(this.#grace);
      this.#grace = null;
    }
    this.#whip = resource;
    this.state = "requested";
    this.publishId = resource;
    try {
      return await this.publisherOffer(resource, offer);
    } catch (error) {
      this.#whip = null;
      this.#resetPublisher();
      throw error;
    }
  }

  /** The WHIP client stopped: back to asking the vehicle agent when there are viewers. */
  endWhip(resource: string): boolean {
    if (this.#whip !== resource) return false;
    this.#whip = null;
    this.#resetPublisher();
    if (this.viewers.size) this.#later(() => this.ensurePublishing(), 0);
    else if (!this.#grace) {
      this.#grace = setTimeout(() => {
        this.#grace = null;
        if (this.viewers.size === 0 && !this.#whip) {
          this.close().then(() => this.context.released(this.key));
        }
      }, this.context.settings.idleGraceMs);
    }
    return true;
  }

  /** The vehicle said it stopped (or could not start) publishing. */
  vehicleUnpublished(publishId: string, reason: string): void {
    if (publishId !== this.publishId) return;
    this.context.logger.warn("vehicle stopped publishing", { stream: this.key, reason });
    this.#resetPublisher();
    if (this.viewers.size) this.#later(() => this.ensurePublishing(), REPUBLISH_DELAY_MS);
  }

  /** The vehicle's signaling connection dropped. */
  vehicleOffline(): void {
    if (this.#whip) return; // the WHIP encoder has its own connection to Janus
    this.#resetPublisher();
    this.notify("vehicle-offline");
  }

  #resetPublisher(): void {
    if (this.#publishTimer) clearTimeout(this.#publishTimer);
    this.#publishTimer = null;
    this.#prepared?.then(({ handle }) => handle.detach()).catch(() => {});
    this.#prepared = null;
    const handle = this.#publisher;
    this.#publisher = null;
    // Its last bytes are read before the handle goes (Janus forgets its counters then).
    if (handle) {
      this.#metering = this.#meterEnded(handle);
      this.#metering.finally(() => handle.detach());
    }
    this.#stopFeed();
    this.state = "idle";
    this.publishId = null;
  }

  /** The publication of `handle` ended: its data usage counts what came since the last read. */
  #meterEnded(handle: JanusHandle): Promise<void> {
    return this.context.usage?.ended(handle.session.id, handle.id).catch(() => {}) ??
      Promise.resolve();
  }

  #stopFeed(): void {
    this.#ladder?.close();
    this.#ladder = null;
    if (this.#ladderInput) Deno.remove(this.#ladderInput).catch(() => {});
    this.#ladderInput = null;
  }

  #later(fn: () => void, ms: number): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (!this.#closed) fn();
    }, ms);
    this.#timers.add(timer);
  }

  /** Whether the stream is closed or closing: a new watch needs a new stream. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Stops publishing, the viewers and the mountpoints; idempotent: every call resolves once the
   * first one has finished (its mountpoints gone, so a new stream may take their ids).
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    if (this.#grace) clearTimeout(this.#grace);
    const publishId = this.publishId;
    if (publishId) this.context.vehicle(this.vehicleId)?.send({ type: "unpublish", id: publishId });
    for (const viewer of this.viewers.values()) {
      if (viewer.mode.kind === "ws") {
        viewer.mode.peer.send({ type: "ended", id: viewer.id, reason: "stream closed" });
      }
      await viewer.close();
    }
    this.viewers.clear();
    this.#resetPublisher();
    await this.#metering; // before the room goes, taking the publisher's counters with it
    const session = this.context.janus.session;
    if (session && this.#generation === this.context.janus.generation) {
      const ids = await Promise.all([...this.#mountpoints.values()].map((p) => p.catch(() => "")));
      const handle = await session.attach("janus.plugin.streaming").catch(() => null);
      if (handle) {
        for (const id of ids) {
          if (id) await destroyMountpoint(handle, id, this.context.settings.adminSecret);
        }
        const rooms = await session.attach("janus.plugin.videoroom").catch(() => null);
        await rooms?.call({
          request: "destroy",
          admin_key: this.context.settings.adminSecret,
          room: this.room,
        })
          .catch(() => {});
        await rooms?.detach();
        await handle.detach();
      }
    }
    this.#mountpoints.clear();
    this.#relay?.close();
    this.#relay = null;
  }
}

/** The mids of an offer's video sections, in order (the publisher's layers, lowest first). */
function videoMids(sdp: string): string[] {
  const mids: string[] = [];
  let video = false;
  for (const line of sdp.split(/\r?\n/)) {
    if (line.startsWith("m=")) video = line.startsWith("m=video");
    else if (video && line.startsWith("a=mid:")) mids.push(line.slice(6).trim());
  }
  return mids;
}

/** A UDP port free on 127.0.0.1 right now (for ffmpeg's input). */
async function freeUdpPort(): Promise<number> {
  const { default: dgram } = await import("node:dgram");
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
  const port = (socket.address() as { port: number }).port;
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}
