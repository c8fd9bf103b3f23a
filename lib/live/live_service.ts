/**
 * The live service: keeps the connection to Janus (re-connecting, and re-creating every watched
 * stream after a Janus restart), knows which vehicles are online for signaling, and runs the
 * camera streams viewers watch. Authorization happens before: callers pass a vehicle the viewer's
 * fleet owns.
 */
import { Gauge, type Registry } from "prom-client";
import type { Principal } from "../auth/mod.ts";
import { UnavailableError } from "../errors/mod.ts";
import { JanusAdmin, JanusConnection, type JanusMediaStats } from "../janus/mod.ts";
import type { Logger } from "../log/mod.ts";
import { CameraStream } from "./camera_stream.ts";
import { type AccessGuard, type AccessHolder, LiveAccess } from "./live_access.ts";
import type { JanusAccess, LiveContext, LiveSettings, Peer, VehicleLink } from "./context.ts";
import type { Quality } from "./protocol.ts";
import { ViewerSession } from "./viewer_session.ts";
import { viewerH264 } from "./whep_sdp.ts";
import type { LadderSpec } from "./ladder.ts";
import { LiveUsageMeter, type LiveUsageSink } from "./live_usage.ts";

const RECONNECT_BASE_MS = 250;
const RECONNECT_CAP_MS = 5_000;
const USAGE_INTERVAL_MS = 10_000;

/** What a viewer is allowed to watch, resolved by the caller's authorization. */
export interface WatchTarget {
  fleetId: string;
  vehicleId: string;
  camera: string;
}

/** Runs live streaming for one server process. */
export class LiveService {
  readonly janus: JanusAccess;
  /** Who holds live access open, re-checked and ended when it is revoked. */
  readonly access: LiveAccess;
  readonly #streams = new Map<string, CameraStream>();
  readonly #vehicles = new Map<string, VehicleLink>();
  readonly #context: LiveContext;
  #connection: JanusConnection | null = null;
  #closed = false;
  #abrTimer: ReturnType<typeof setInterval> | null = null;
  #connecting: Promise<void> | null = null;

  constructor(readonly settings: LiveSettings, readonly logger: Logger, guard: AccessGuard) {
    this.access = new LiveAccess(guard, settings.access, logger.child({ part: "access" }));
    this.janus = {
      session: null,
      admin: new JanusAdmin(settings.adminUrl, settings.adminSecret),
      generation: 0,
    };
    this.#context = {
      settings,
      janus: this.janus,
      logger,
      vehicle: (id) => this.#vehicles.get(id),
      // Only the stream that closed: a watch may have put a new one under its key meanwhile.
      released: (key) => {
        if (this.#streams.get(key)?.closed) this.#streams.delete(key);
      },
    };
  }

  /** Connects to Janus (retrying in the background if it is not up yet) and starts the ABR loop. */
  async start(): Promise<void> {
    this.#abrTimer = setInterval(() => this.#abrTick(), this.settings.abrIntervalMs);
    await Promise.race([
      this.#ensureConnected(),
      new Promise((resolve) => setTimeout(resolve, 5_000)),
    ]);
  }

  /**
   * Counts the bytes each live publication brings in (read from Janus every ~10 s and when it
   * ends) into `sink`: the vehicle's data usage of kind "live".
   */
  countUsage(sink: LiveUsageSink): void {
    if (this.#context.usage) throw new Error("Live usage is already counted");
    const meter = new LiveUsageMeter(this.janus.admin, sink, {
      intervalMs: this.settings.usageIntervalMs ?? USAGE_INTERVAL_MS,
      logger: this.logger.child({ part: "usage" }),
    });
    this.#context.usage = meter;
    meter.start();
  }

  /**
   * Makes each fleet's own ladder (its `liveLadder` setting, read by `lookup` when a camera's
   * stream starts) win over the server's `LIVE_LADDER`; null from `lookup` keeps the server's.
   */
  applyFleetLadders(lookup: (fleetId: string) => Promise<LadderSpec | null>): void {
    this.#context.fleetLadder = lookup;
  }

  /** True while the server holds a Janus session. */
  get ready(): boolean {
    return this.janus.session !== null;
  }

  #ensureConnected(): Promise<void> {
    this.#connecting ??= this.#connect().finally(() => (this.#connecting = null));
    return this.#connecting;
  }

  async #connect(): Promise<void> {
    let delay = RECONNECT_BASE_MS;
    while (!this.#closed) {
      try {
        const connection = await JanusConnection.connect(
          this.settings.janusUrl,
          this.settings.apiSecret,
        );
        const session = await connection.createSession();
        if (this.#closed) return connection.close();
        this.#connection = connection;
        this.janus.session = session;
        this.janus.generation += 1;
        connection.onClose(() => this.#onDisconnected(connection));
        this.logger.info("janus connected", { generation: this.janus.generation });
        await this.#restoreStreams();
        return;
      } catch (error) {
        this.logger.warn("janus unreachable", { error: (error as Error).message, retryMs: delay });
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, RECONNECT_CAP_MS);
      }
    }
  }

  #onDisconnected(connection: JanusConnection): void {
    if (connection !== this.#connection) return;
    this.#connection = null;
    this.janus.session = null;
    if (this.#closed) return;
    this.logger.warn("janus connection lost; reconnecting");
    for (const stream of this.#streams.values()) stream.notify("reconnecting");
    this.#ensureConnected();
  }

  /** After a (re)connection: every stream with viewers gets new mountpoints and offers. */
  async #restoreStreams(): Promise<void> {
    for (const stream of this.#streams.values()) {
      for (const viewer of [...stream.viewers.values()]) {
        if (viewer.mode.kind === "whep") {
          // WHEP has no server-initiated renegotiation: the client must POST again.
          await stream.removeViewer(viewer);
          continue;
        }
        try {
          await viewer.negotiate(await stream.mountpoint(viewer.payloadType), true);
        } catch (error) {
          this.logger.error("cannot restore viewer", { error: (error as Error).message });
        }
      }
      stream.ensurePublishing();
    }
  }

  // ---- vehicles -------------------------------------------------------------------------------

  /** Registers a vehicle's signaling connection (replacing an older one of the same vehicle). */
  vehicleOnline(link: VehicleLink): void {
    const previous = this.#vehicles.get(link.vehicleId);
    this.#vehicles.set(link.vehicleId, link);
    for (const stream of this.#streamsOf(link.vehicleId)) {
      if (previous) stream.vehicleOffline();
      stream.ensurePublishing();
    }
  }

  /** Forgets a vehicle's connection (if it is still the current one). */
  vehicleOffline(link: VehicleLink): void {
    if (this.#vehicles.get(link.vehicleId) !== link) return;
    this.#vehicles.delete(link.vehicleId);
    for (const stream of this.#streamsOf(link.vehicleId)) stream.vehicleOffline();
  }

  /** True when the vehicle has a signaling connection. */
  isOnline(vehicleId: string): boolean {
    return this.#vehicles.has(vehicleId);
  }

  /** The vehicle's offer for publish request `id`; resolves with Janus's answer. */
  async publisherOffer(link: VehicleLink, id: string, sdp: string): Promise<string> {
    const stream = this.#streamsOf(link.vehicleId).find((s) => s.publishId === id);
    if (!stream) throw new Error(`No publish request "${id}" is open`);
    return await stream.publisherOffer(id, sdp);
  }

  /** The vehicle stopped or could not start publish request `id`. */
  publisherStopped(link: VehicleLink, id: string, reason: string): void {
    for (const stream of this.#streamsOf(link.vehicleId)) stream.vehicleUnpublished(id, reason);
  }

  #streamsOf(vehicleId: string): CameraStream[] {
    return [...this.#streams.values()].filter((s) => s.vehicleId === vehicleId);
  }

  // ---- viewers --------------------------------------------------------------------------------

  /**
   * The camera's stream, started if there is none. One that is closing (its grace period just
   * ended) is let finish first — its mountpoints go, and a new stream's take their ids — and
   * replaced: a watch arriving then was answered "No such mountpoint".
   */
  async #stream(target: WatchTarget): Promise<CameraStream> {
    const key = `${target.vehicleId}/${target.camera}`;
    let stream = this.#streams.get(key);
    while (stream?.closed) {
      await stream.close();
      if (this.#streams.get(key) === stream) this.#streams.delete(key);
      stream = this.#streams.get(key);
    }
    if (!stream) {
      stream = new CameraStream(
        key,
        target.vehicleId,
        target.fleetId,
        target.camera,
        this.#context,
      );
      this.#streams.set(key, stream);
    }
    return stream;
  }

  /** Starts a WebSocket viewer: the offer goes to `peer`. */
  async watch(
    target: WatchTarget,
    viewer: { id: string; subject: string; peer: Peer; quality: Quality },
  ): Promise<ViewerSession> {
    if (!this.janus.session) throw new UnavailableError("Janus is not reachable");
    const stream = await this.#stream(target);
    await stream.prepareLadder();
    const session = new ViewerSession(
      viewer.id,
      viewer.subject,
      { kind: "ws", peer: viewer.peer },
      viewer.quality,
      this.#context,
      stream.layers,
      stream.layerHeights,
      stream.layerBitrates,
    );
    stream.addViewer(session);
    try {
      await session.negotiate(await stream.mountpoint());
    } catch (error) {
      await stream.removeViewer(session);
      throw error;
    }
    return session;
  }

  /** Starts a WHEP viewer from its offer; returns the session and the answer for it. */
  async watchWhep(
    target: WatchTarget,
    viewer: { id: string; subject: string; offer: string; quality: Quality },
  ): Promise<{ session: ViewerSession; answer: string }> {
    const codec = viewerH264(viewer.offer);
    if (!this.janus.session) throw new UnavailableError("Janus is not reachable");
    const stream = await this.#stream(target);
    await stream.prepareLadder();
    const session = new ViewerSession(
      viewer.id,
      viewer.subject,
      { kind: "whep", offer: viewer.offer, codec },
      viewer.quality,
      this.#context,
      stream.layers,
      stream.layerHeights,
      stream.layerBitrates,
    );
    stream.addViewer(session);
    try {
      const answer = await session.negotiate(await stream.mountpoint(codec.pt));
      return { session, answer: answer! };
    } catch (error) {
      await stream.removeViewer(session);
      throw error;
    }
  }

  readonly #whep = new Map<
    string,
    { target: WatchTarget; session: ViewerSession; release: () => void }
  >();

  /** Admits a WHEP or WHIP session held for `principal` into live access; returns its release. */
  #hold(kind: "whep" | "whip", principal: Principal | undefined, end: () => unknown): () => void {
    if (!principal) return () => {};
    const holder: AccessHolder = {
      kind,
      principal: () => principal,
      end: (_why, message) => {
        this.logger.info(`${kind} session ended`, { reason: message });
        Promise.resolve(end()).catch(() => {});
      },
    };
    return this.access.admit(holder);
  }

  /**
   * Starts a WHEP session; its resource id is random and unguessable. With `principal` (a signed-in
   * user) the session counts toward the user's cap and ends when the user's access is revoked.
   */
  async startWhep(
    target: WatchTarget,
    viewer: { subject: string; offer: string; quality: Quality; principal?: Principal },
  ): Promise<{ resource: string; answer: string }> {
    const resource = crypto.randomUUID();
    const release = this.#hold("whep", viewer.principal, () => this.endWhep(resource));
    let started;
    try {
      started = await this.watchWhep(target, { id: resource, ...viewer });
    } catch (error) {
      release();
      throw error;
    }
    const { session, answer } = started;
    this.#whep.set(resource, { target, session, release });
    // The viewer may vanish without a DELETE: Janus hangs up when ICE or DTLS fails.
    session.handle?.on((event) => {
      if (event.janus === "hangup" || event.janus === "detached") this.endWhep(resource);
    });
    return { resource, answer };
  }

  /** The WHEP session `resource`, or undefined. */
  whepSession(resource: string): ViewerSession | undefined {
    return this.#whep.get(resource)?.session;
  }

  /** Ends a WHEP session; false when there is none. */
  async endWhep(resource: string): Promise<boolean> {
    const entry = this.#whep.get(resource);
    if (!entry) return false;
    this.#whep.delete(resource);
    entry.release();
    await this.leave(entry.target, entry.session);
    return true;
  }

  readonly #whip = new Map<string, { stream: CameraStream; release: () => void }>();

  /**
   * A WHIP publisher for `target`; its resource id is random and unguessable. With `principal`
   * (the vehicle's device token) it ends when the vehicle's credential is revoked.
   */
  async startWhip(
    target: WatchTarget,
    offer: string,
    principal?: Principal,
  ): Promise<{ resource: string; answer: string }> {
    if (!this.janus.session) throw new UnavailableError("Janus is not reachable");
    const stream = await this.#stream(target);
    const resource = crypto.randomUUID();
    const answer = await stream.whipPublish(resource, offer);
    this.#whip.set(resource, {
      stream,
      release: this.#hold("whip", principal, () => this.endWhip(resource)),
    });
    return { resource, answer };
  }

  /** Ends a WHIP publication; false when there is none. */
  endWhip(resource: string): boolean {
    const entry = this.#whip.get(resource);
    if (!entry) return false;
    this.#whip.delete(resource);
    entry.release();
    return entry.stream.endWhip(resource);
  }

  /** Where a camera's stream stands, for a viewer that just started watching it. */
  streamState(target: WatchTarget): "live" | "starting" | "vehicle-offline" {
    const stream = this.#streams.get(`${target.vehicleId}/${target.camera}`);
    if (stream?.state === "live") return "live";
    return this.isOnline(target.vehicleId) || stream?.whip ? "starting" : "vehicle-offline";
  }

  /** Ends a viewer. */
  async leave(target: WatchTarget, session: ViewerSession): Promise<void> {
    const stream = this.#streams.get(`${target.vehicleId}/${target.camera}`);
    if (stream) await stream.removeViewer(session);
    else await session.close();
  }

  /** Live gauges on a Prometheus registry: streams, viewers, vehicles online, Janus up. */
  registerMetrics(registry: Registry): void {
    const stats = () => this.stats();
    const gauge = (name: string, help: string, value: () => number) =>
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          this.set(value());
        },
      });
    gauge("motorcade_live_streams", "Cameras being watched or published", () => stats().streams);
    gauge("motorcade_live_viewers", "Viewers watching live", () => stats().viewers);
    gauge("motorcade_live_publishing", "Cameras publishing now", () => stats().live);
    gauge("motorcade_live_vehicles_online", "Vehicles with a live link", () => stats().vehicles);
    gauge(
      "motorcade_janus_up",
      "1 while the server holds a Janus session",
      () => this.ready ? 1 : 0,
    );
  }

  /** Numbers for /metrics and the benchmarks. */
  stats(): { streams: number; viewers: number; vehicles: number; live: number } {
    let viewers = 0;
    let live = 0;
    for (const stream of this.#streams.values()) {
      viewers += stream.viewers.size;
      if (stream.state === "live") live += 1;
    }
    return { streams: this.#streams.size, viewers, vehicles: this.#vehicles.size, live };
  }

  /**
   * Takes Janus's media statistics (its event handler's posts): each viewer's REMB becomes its
   * bandwidth estimate. Media of other sessions (an earlier Janus) or handles no viewer holds are
   * ignored.
   */
  mediaStats(stats: JanusMediaStats[]): void {
    const session = this.janus.session;
    if (!session) return;
    const ours = stats.filter((s) =>
      s.sessionId === session.id && s.media === "video" && s.rembBitrate !== undefined
    );
    if (!ours.length) return;
    const viewers = new Map<number, ViewerSession>();
    for (const stream of this.#streams.values()) {
      for (const viewer of stream.viewers.values()) {
        if (viewer.handle && !viewer.handle.detached) viewers.set(viewer.handle.id, viewer);
      }
    }
    for (const s of ours) viewers.get(s.handleId)?.remb(s.rembBitrate!);
  }

  #abrTick(): void {
    for (const stream of this.#streams.values()) {
      for (const viewer of stream.viewers.values()) {
        viewer.tick().catch(() => {});
      }
    }
  }

  /** Stops every stream and disconnects from Janus; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#abrTimer) clearInterval(this.#abrTimer);
    this.access.close();
    await Promise.all([...this.#streams.values()].map((s) => s.close()));
    this.#streams.clear();
    await this.#context.usage?.close();
    await this.janus.session?.destroy();
    this.#connection?.close();
    await this.#connecting?.catch(() => {});
  }
}
