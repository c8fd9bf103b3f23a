/** What the live service's parts share: Janus, settings and the vehicles online. */
import type { JanusAdmin, JanusSession } from "../janus/mod.ts";
import type { AbrKind } from "./abr.ts";
import type { Logger } from "../log/mod.ts";
import type { IceSettings } from "./ice_servers.ts";
import type { LadderSpec } from "./ladder.ts";
import type { LiveAccessSettings } from "./live_access.ts";
import type { LiveUsageMeter } from "./live_usage.ts";

/** Settings of the live service. */
export interface LiveSettings {
  /** Janus API WebSocket URL and secrets. */
  janusUrl: string;
  apiSecret: string;
  adminUrl: string;
  adminSecret: string;
  /** Transcode into three layers (true) or forward the vehicle's stream as one layer. */
  ladder: boolean;
  /** The server's ladder (`LIVE_LADDER`): rungs derived from each source, or three given ones. */
  rungs: LadderSpec;
  /** Frame rate of the ladder's layers. */
  fps: number;
  ffmpeg: string;
  /** How long a camera keeps publishing after its last viewer left. */
  idleGraceMs: number;
  /** How long to wait for a vehicle to publish once asked. */
  publishTimeoutMs: number;
  /** Period of the ABR controller. */
  abrIntervalMs: number;
  /** The ABR controller viewers get (`LIVE_ABR`); adaptive when unset. */
  abr?: AbrKind;
  /** Period of the reads of live publishers' received bytes (data usage of kind "live"). */
  usageIntervalMs?: number;
  /** Most watches one signaling connection may hold open. */
  maxWatchesPerConnection: number;
  /** Caps of sockets and sessions per principal, and the period of access re-checks. */
  access: LiveAccessSettings;
  ice: IceSettings;
}

/** Something that receives signaling messages (a WebSocket connection). */
export interface Peer {
  send(message: Record<string, unknown>): void;
}

/** A vehicle's signaling connection, by which the server asks it to publish. */
export interface VehicleLink extends Peer {
  vehicleId: string;
  fleetId: string;
  /** 3 when the vehicle publishes three sizes itself (simulcast), else 1. */
  layers: 1 | 3;
  /** Picture heights of its cameras by name, as the vehicle announced them (older agents: none). */
  cameraHeights?: Record<string, number>;
}

/** The Janus side the parts use; null members while Janus is unreachable. */
export interface JanusAccess {
  session: JanusSession | null;
  admin: JanusAdmin;
  /** Increments each time the connection to Janus is (re)made. */
  generation: number;
}

/** Shared by the camera streams and viewers. */
export interface LiveContext {
  settings: LiveSettings;
  janus: JanusAccess;
  logger: Logger;
  /** A fleet's own ladder (its `liveLadder` setting), null for the server's. */
  fleetLadder?: (fleetId: string) => Promise<LadderSpec | null>;
  /** Counts the bytes live publishers send, when data usage is kept. */
  usage?: LiveUsageMeter;
  vehicle(vehicleId: string): VehicleLink | undefined;
  /** Called by a camera stream once it has neither viewers nor a publisher. */
  released(key: string): void;
}
