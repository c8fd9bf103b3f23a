/**
 * One signaling WebSocket connection, independent of the WebSocket library: authentication by
 * the first message (messages sent right behind it wait for its outcome, so a viewer may send its
 * `watch` without waiting for `ready`), then the viewer or vehicle protocol of `protocol.ts`. Bad input gets an
 * `error` message with a code and never affects other connections; a connection that floods,
 * sends oversized messages or does not authenticate in time is closed with a close code that says
 * why (1008 policy, 1009 too big).
 *
 * Access is not settled once: every request that acts (`watch`, a vehicle's `offer`) runs the
 * HTTP API's check again, the live service's {@linkcode LiveAccess} ends the connection when its
 * principal's access is revoked (4003), and when the token expires the client has 10 s to send a
 * fresh one on the open socket (`auth` again) before the connection is closed (4001).
 */
import type { Identity, Principal } from "../auth/mod.ts";
import { MotorcadeError, UnauthorizedError } from "../errors/mod.ts";
import type { FleetRegistry } from "../fleet/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { VehicleLink } from "./context.ts";
import { iceServersFor } from "./ice_servers.ts";
import { type AccessHolder, type LiveAccess, LiveLimitError } from "./live_access.ts";
import type { LiveService, WatchTarget } from "./live_service.ts";
import {
  AuthMessage,
  describeIssues,
  errorMessage,
  MAX_MESSAGE_BYTES,
  type SignalingErrorCode,
  VehicleMessage,
  ViewerMessage,
} from "./protocol.ts";
import type { ViewerSession } from "./viewer_session.ts";

/** The socket a connection writes to. */
export interface SignalingTransport {
  send(text: string): void;
  close(code: number, reason: string): void;
}

/** What signaling needs from the platform. */
export interface SignalingDeps {
  live: LiveService;
  identity: Identity;
  registry: FleetRegistry;
  logger: Logger;
}

const AUTH_TIMEOUT_MS = 10_000;
/** How long a connection whose token expired has to send a fresh one. */
const RENEW_GRACE_MS = 10_000;
/** Close codes: the token expired and was not renewed; access was revoked. */
export const CLOSE_TOKEN_EXPIRED = 4001;
export const CLOSE_ACCESS_REVOKED = 4003;
/** Messages per second a connection may send on average, and in a burst. */
const RATE = 20;
const BURST = 60;
/** Messages over the rate after which the connection is closed. */
const FLOOD_LIMIT = 200;

/** State of one signaling connection. */
export class SignalingConnection {
  #principal: Principal | null = null;
  #link: VehicleLink | null = null;
  #watches = new Map<string, { session: ViewerSession | null; target: WatchTarget }>();
  #authTimer: ReturnType<typeof setTimeout>;
  #tokens = BURST;
  #refilledAt = Date.now();
  #dropped = 0;
  #closed = false;
  /** When the token the connection stands on expires (ms since the epoch). */
  #expiresAt = 0;
  #expiryTimer: ReturnType<typeof setTimeout> | undefined;
  #graceTimer: ReturnType<typeof setTimeout> | undefined;
  #expired = false;
  #release: (() => void) | null = null;
  /** The first `auth` being checked: messages sent right behind it wait for it, in order. */
  #authenticating: Promise<void> | null = null;

  constructor(readonly deps: SignalingDeps, readonly transport: SignalingTransport) {
    this.#authTimer = setTimeout(
      () =>
        this.#close(
          1008,
          'Authenticate within 10 s: send {"type":"auth","token":"…"}',
          "unauthorized",
        ),
      AUTH_TIMEOUT_MS,
    );
  }

  #send(message: Record<string, unknown>): void {
    if (this.#closed) return;
    try {
      this.transport.send(JSON.stringify(message));
    } catch {
      // the socket is closing
    }
  }

  #error(code: SignalingErrorCode, message: string, id?: string): void {
    this.#send(errorMessage(code, message, id));
  }

  #close(code: number, reason: string, error: SignalingErrorCode = "bad_message"): void {
    if (this.#closed) return;
    this.#error(code === 1009 ? "too_large" : error, reason);
    this.#closed = true;
    try {
      this.transport.close(code, reason.slice(0, 120));
    } catch {
      // already closed
    }
    this.onClose();
  }

  #allow(): boolean {
    const now = Date.now();
    this.#tokens = Math.min(BURST, this.#tokens + ((now - this.#refilledAt) / 1000) * RATE);
    this.#refilledAt = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return true;
    }
    this.#dropped += 1;
    if (this.#dropped >= FLOOD_LIMIT) {
      this.#close(1008, "Too many messages: connection closed", "rate_limited");
    } else if (this.#dropped % 20 === 1) {
      this.#error("rate_limited", `More than ${RATE} messages a second: messages dropped`);
    }
    return false;
  }

  /** Handles one incoming WebSocket message. */
  async onMessage(data: string | ArrayBuffer | Blob): Promise<void> {
    if (this.#closed) return;
    if (typeof data !== "string") {
      return this.#error("bad_message", "Messages must be JSON text, not binary");
    }
    if (data.length > MAX_MESSAGE_BYTES) {
      return this.#close(1009, `Message is larger than ${MAX_MESSAGE_BYTES} bytes`);
    }
    if (!this.#allow()) return;
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      return this.#error("bad_message", "Message is not valid JSON");
    }
    try {
      // A client may send its first watch right behind its auth, without waiting for `ready`
      // (one round trip less before the offer): such messages wait for the auth to settle.
      while (this.#authenticating) await this.#authenticating.catch(() => {});
      if (this.#closed) return;
      if (!this.#principal) {
        this.#authenticating = this.#authenticate(json).finally(() => this.#authenticating = null);
        return await this.#authenticating;
      }
      if ((json as { type?: unknown })?.type === "auth") return await this.#renew(json);
      if (this.#principal.kind === "device") return await this.#onVehicle(json);
      return await this.#onViewer(json);
    } catch (error) {
      const id = (json as { id?: unknown })?.id;
      this.#fail(error, typeof id === "string" ? id : undefined);
    }
  }

  #fail(error: unknown, id?: string): void {
    if (error instanceof MotorcadeError) {
      const code: SignalingErrorCode = error.status === 404
        ? "not_found"
        : error.status === 401
        ? "unauthorized"
        : error.status === 403
        ? "forbidden"
        : error.status === 503
        ? "unavailable"
        : error.status < 500
        ? "bad_message"
        : "internal";
      return this.#error(code, error.message, id);
    }
    this.deps.logger.warn("signaling failure", { error: (error as Error).message });
    this.#error("unavailable", (error as Error).message, id);
  }

  async #authenticate(json: unknown): Promise<void> {
    const parsed = AuthMessage.safeParse(json);
    if (!parsed.success) {
      return this.#error("unauthorized", 'First message must be {"type":"auth","token":"…"}');
    }
    let principal: Principal, expiresAt: Date;
    try {
      ({ principal, expiresAt } = await this.deps.identity.authenticateWithExpiry(
        parsed.data.token,
      ));
    } catch (error) {
      this.#error("unauthorized", (error as Error).message);
      return this.#close(1008, "Authentication failed", "unauthorized");
    }
    if (this.#closed || this.#principal) return;
    const holder: AccessHolder = {
      kind: "socket",
      principal: () => this.#principal ?? principal,
      end: (why, message) =>
        why === "revoked"
          ? this.#close(CLOSE_ACCESS_REVOKED, message, "revoked")
          : this.#close(1008, message, "too_many_connections"),
    };
    try {
      this.#release = this.#access.admit(holder);
    } catch (error) {
      if (!(error instanceof LiveLimitError)) throw error;
      return this.#close(1008, error.message, "too_many_connections");
    }
    clearTimeout(this.#authTimer);
    this.#principal = principal;
    this.#armExpiry(expiresAt);
    const expiresIn = this.#expiresIn();
    const subject = principal.kind === "device" ? principal.vehicleId : principal.userId;
    const iceServers = await iceServersFor(this.deps.live.settings.ice, subject);
    if (this.#closed) return; // revoked or replaced meanwhile: never register a closed link
    if (principal.kind === "device") {
      const link: VehicleLink = {
        vehicleId: principal.vehicleId,
        fleetId: principal.fleetId,
        layers: parsed.data.layers ?? 1,
        cameraHeights: Object.fromEntries(
          (parsed.data.cameras ?? []).map((camera) => [camera.name, camera.height]),
        ),
        send: (message) => this.#send(message),
      };
      this.#link = link;
      this.#send({
        type: "ready",
        role: "vehicle",
        vehicleId: principal.vehicleId,
        iceServers,
        expiresIn,
      });
      this.deps.live.vehicleOnline(link);
    } else {
      this.#send({ type: "ready", role: "viewer", iceServers, expiresIn });
    }
  }

  get #access(): LiveAccess {
    return this.deps.live.access;
  }

  /** Seconds until the token the connection stands on expires. */
  #expiresIn(): number {
    return Math.max(0, Math.floor((this.#expiresAt - Date.now()) / 1000));
  }

  /** At the token's expiry: ask for a fresh one, and close if none comes within the grace. */
  #armExpiry(expiresAt: Date): void {
    clearTimeout(this.#expiryTimer);
    clearTimeout(this.#graceTimer);
    this.#expired = false;
    this.#expiresAt = expiresAt.getTime();
    const delay = Math.min(Math.max(0, this.#expiresAt - Date.now()), 2 ** 31 - 1);
    this.#expiryTimer = setTimeout(() => {
      this.#expired = true;
      this.#error(
        "token_expired",
        `Token has expired: send {"type":"auth","token":"…"} with a fresh token within ${
          RENEW_GRACE_MS / 1000
        } s`,
      );
      this.#graceTimer = setTimeout(
        () =>
          this.#close(CLOSE_TOKEN_EXPIRED, "Token expired and was not renewed", "token_expired"),
        RENEW_GRACE_MS,
      );
    }, delay);
  }

  /** A fresh token on an open connection: same user or vehicle, new expiry. */
  async #renew(json: unknown): Promise<void> {
    const parsed = AuthMessage.safeParse(json);
    if (!parsed.success) return this.#error("bad_message", describeIssues(parsed.error));
    const current = this.#principal!;
    let principal: Principal, expiresAt: Date;
    try {
      ({ principal, expiresAt } = await this.deps.identity.authenticateWithExpiry(
        parsed.data.token,
      ));
    } catch (error) {
      return this.#error("unauthorized", `Token not renewed: ${(error as Error).message}`);
    }
    const same = principal.kind === "user"
      ? current.kind === "user" && current.userId === principal.userId
      : current.kind === "device" && current.vehicleId === principal.vehicleId;
    if (!same) {
      return this.#error(
        "forbidden",
        "Token not renewed: it is another user's or vehicle's; open a new connection for it",
      );
    }
    if (this.#closed) return;
    this.#principal = principal;
    this.#armExpiry(expiresAt);
    this.#send({ type: "authenticated", expiresIn: this.#expiresIn() });
  }

  /**
   * Before a request that acts: the token has not expired and the HTTP API's check still passes.
   * A failed check closes the connection (4003); an expired token refuses the request.
   */
  async #mayAct(id?: string): Promise<boolean> {
    if (this.#expired || Date.now() >= this.#expiresAt) {
      this.#error("token_expired", 'Token has expired: send {"type":"auth","token":"…"}', id);
      return false;
    }
    try {
      await this.deps.identity.recheck(this.#principal!);
    } catch (error) {
      if (!(error instanceof UnauthorizedError)) throw error;
      this.#close(CLOSE_ACCESS_REVOKED, `Access revoked: ${error.message}`, "revoked");
      return false;
    }
    return !this.#closed;
  }

  async #onVehicle(json: unknown): Promise<void> {
    const parsed = VehicleMessage.safeParse(json);
    if (!parsed.success) return this.#error("bad_message", describeIssues(parsed.error));
    const message = parsed.data;
    const link = this.#link!;
    switch (message.type) {
      case "ping":
        return this.#send({ type: "pong" });
      case "offer": {
        if (!await this.#mayAct(message.id)) return;
        const sdp = await this.deps.live.publisherOffer(link, message.id, message.sdp);
        return this.#send({ type: "answer", id: message.id, sdp });
      }
      case "candidate":
        return; // the publisher's offer carries all its candidates
      case "unpublished":
        return this.deps.live.publisherStopped(link, message.id, message.reason);
    }
  }

  async #onViewer(json: unknown): Promise<void> {
    const parsed = ViewerMessage.safeParse(json);
    if (!parsed.success) {
      const id = (json as { id?: unknown })?.id;
      return this.#error(
        "bad_message",
        describeIssues(parsed.error),
        typeof id === "string" ? id : undefined,
      );
    }
    const message = parsed.data;
    if (message.type === "ping") return this.#send({ type: "pong" });
    if (message.type === "watch") {
      if (!await this.#mayAct(message.id)) return;
      return await this.#watch(message);
    }
    const watch = this.#watches.get(message.id);
    if (!watch) return this.#error("unknown_watch", `No watch "${message.id}" is open`, message.id);
    const session = watch.session;
    switch (message.type) {
      case "answer":
        if (!session) return this.#error("unknown_watch", "Watch is not negotiating", message.id);
        return await session.answer(message.sdp);
      case "candidate":
        return await session?.candidate(message.candidate);
      case "quality":
        return await session?.setQuality(message.quality);
      case "stats":
        return session?.report(message);
      case "delay":
        return session?.queue(message.queueMs, message.growth);
      case "bye":
        this.#watches.delete(message.id);
        if (session) await this.deps.live.leave(watch.target, session);
        return this.#send({ type: "ended", id: message.id, reason: "bye" });
    }
  }

  async #watch(message: Extract<ViewerMessage, { type: "watch" }>): Promise<void> {
    const principal = this.#principal;
    if (principal?.kind !== "user") return;
    if (this.#watches.has(message.id)) {
      return this.#error("duplicate_watch", `Watch "${message.id}" is already open`, message.id);
    }
    if (this.#watches.size >= this.deps.live.settings.maxWatchesPerConnection) {
      return this.#error(
        "too_many_watches",
        `At most ${this.deps.live.settings.maxWatchesPerConnection} watches per connection`,
        message.id,
      );
    }
    const fleetId = message.fleetId ?? principal.fleetId;
    if (!fleetId || (principal.fleetId !== null && principal.fleetId !== fleetId)) {
      return this.#error(
        "not_found",
        principal.fleetId === null
          ? "Platform owners must name the fleet: watch.fleetId"
          : `Vehicle "${message.vehicleId}" not found`,
        message.id,
      );
    }
    if (message.cameraId === undefined && message.camera === undefined) {
      return this.#error("bad_message", "watch.cameraId: required: the camera's id", message.id);
    }
    const cameras = await this.deps.registry.listCameras(fleetId, message.vehicleId);
    const camera = message.cameraId !== undefined
      ? cameras.find((c) => c.id === message.cameraId)
      : cameras.find((c) => c.name === message.camera);
    if (!camera) {
      const named = message.cameraId ?? message.camera;
      return this.#error("not_found", `Camera "${named}" not found`, message.id);
    }
    const target = { fleetId, vehicleId: message.vehicleId, camera: camera.name };
    const entry = { session: null as ViewerSession | null, target };
    this.#watches.set(message.id, entry);
    try {
      entry.session = await this.deps.live.watch(target, {
        id: message.id,
        subject: principal.userId,
        peer: { send: (m) => this.#send(m) },
        quality: message.quality,
      });
      if (this.#closed || this.#watches.get(message.id) !== entry) {
        await this.deps.live.leave(target, entry.session);
        return;
      }
      this.#send({
        type: "status",
        id: message.id,
        state: this.deps.live.streamState(target),
      });
    } catch (error) {
      this.#watches.delete(message.id);
      throw error;
    }
  }

  /** The socket closed: ends the watches or takes the vehicle offline. */
  onClose(): void {
    this.#closed = true;
    clearTimeout(this.#authTimer);
    clearTimeout(this.#expiryTimer);
    clearTimeout(this.#graceTimer);
    this.#release?.();
    this.#release = null;
    if (this.#link) this.deps.live.vehicleOffline(this.#link);
    for (const { session, target } of this.#watches.values()) {
      if (session) this.deps.live.leave(target, session).catch(() => {});
    }
    this.#watches.clear();
  }
}
