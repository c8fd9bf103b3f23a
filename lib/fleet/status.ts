/**
 * A fleet's status at a glance: every vehicle with whether it is online (a heartbeat younger than
 * `offlineAfterMs`) and, per camera, what its last heartbeat said (capturing, upload backlog,
 * clock) beside what the catalog holds (last segment, bytes recorded today). A constant number
 * of catalog queries whatever the fleet's size: no query per vehicle.
 */
import type { Catalog, Vehicle, VehicleStatus } from "../catalog/mod.ts";
import type { FleetRegistry } from "./registry.ts";
import { SharedReadings } from "./status_readings.ts";

/** Whether a vehicle is online, from its last heartbeat. */
export interface Presence {
  online: boolean;
  /** When its last heartbeat arrived; null before the first. */
  lastSeenAt: Date | null;
}

/** A camera's live state in this server process. */
export type CameraLiveState = "streaming" | "ready" | "unavailable";

/** What the status asks of live streaming (LiveService satisfies it). */
export interface LiveStates {
  streamState(
    target: { fleetId: string; vehicleId: string; camera: string },
  ): "live" | "starting" | "vehicle-offline";
}

/** One camera of a vehicle's status. */
export interface CameraStatus {
  id: string;
  name: string;
  /** What operators call it; null: shown by its name. */
  label: string | null;
  /** Capturing, per the last heartbeat; null when the heartbeat did not name this camera. */
  recording: boolean | null;
  recordingId: string | null;
  /** `streaming`: watched now; `ready`: starts on demand; null when live is off here. */
  live: CameraLiveState | null;
  /** Segments and bytes the vehicle still has to upload, with its last successful upload. */
  backlog: { segments: number; bytes: number; lastUploadAt: string | null } | null;
  /** End of the camera's latest recording in the catalog. */
  lastSegmentAt: Date | null;
  /** The capture clock's state (`ok` or `reanchored`), when reported. */
  clock: string | null;
  /** Bytes of segments recorded since 00:00 UTC today that reached the catalog. */
  bytesToday: number;
}

/** One vehicle of a fleet's status. */
export interface VehicleStatusSummary extends Presence {
  vehicle: Vehicle;
  /** The agent's clock state (`ok` or `jumped`); null before the first heartbeat. */
  clock: string | null;
  cameras: CameraStatus[];
}

/** Settings of {@linkcode FleetStatus}. */
export interface FleetStatusOptions {
  catalog: Catalog;
  registry: FleetRegistry;
  /** A vehicle is online while its last heartbeat is younger than this. */
  offlineAfterMs: number;
  /** Live streaming of this process; null when LIVE is off. */
  live: LiveStates | null;
}

/** Midnight UTC of the day `now` falls in. */
export function startOfUtcDay(now: number): number {
  return now - (now % 86_400_000);
}

/** Presence from a vehicle's last heartbeat. */
export function presenceOf(
  status: VehicleStatus | undefined,
  offlineAfterMs: number,
  now = Date.now(),
): Presence {
  if (!status) return { online: false, lastSeenAt: null };
  return {
    online: now - status.reportedAt.getTime() < offlineAfterMs,
    lastSeenAt: status.reportedAt,
  };
}

type Report = {
  clock?: { state?: string };
  cameras?: Array<{
    camera: string;
    recordingId: string | null;
    capturing: boolean;
    queueDepth: number;
    bytesPending: number;
    lastUploadAt: string | null;
    captureClock?: { state?: string };
  }>;
};

/**
 * How long a fleet's camera activity (last segment, bytes today) is reused by every reader of
 * the process: heartbeats and the vehicle list are read afresh each time, segments reach the
 * catalog through the indexer, later than this anyway.
 */
export const CAMERA_ACTIVITY_MAX_AGE_MS = 1_000;

type CameraActivities = Awaited<ReturnType<Catalog["vehicleStatus"]["cameraActivity"]>>;
/** Per catalog: page, API and event streams build their own FleetStatus, and share these. */
const activities = new WeakMap<Catalog, SharedReadings<CameraActivities>>();

/** Reads a fleet's status in a constant number of catalog queries. */
export class FleetStatus {
  readonly #activities: SharedReadings<CameraActivities>;

  constructor(readonly options: FleetStatusOptions) {
    let shared = activities.get(options.catalog);
    if (!shared) {
      shared = new SharedReadings(CAMERA_ACTIVITY_MAX_AGE_MS);
      activities.set(options.catalog, shared);
    }
    this.#activities = shared;
  }

  /** Presence of one vehicle of `fleetId`. */
  async presence(fleetId: string, vehicleId: string, now = Date.now()): Promise<Presence> {
    await this.options.registry.vehicle(fleetId, vehicleId);
    const status = await this.options.catalog.vehicleStatus.get(vehicleId);
    return presenceOf(status, this.options.offlineAfterMs, now);
  }

  /** Presence of every vehicle of `fleetId` that has reported, by vehicle id. */
  async presences(fleetId: string, now = Date.now()): Promise<Map<string, Presence>> {
    const statuses = await this.options.catalog.vehicleStatus.listFleet(fleetId);
    return new Map(
      statuses.map((s) => [s.vehicleId, presenceOf(s, this.options.offlineAfterMs, now)]),
    );
  }

  /** Every vehicle of `fleetId` with its cameras' status, sorted by vehicle name. */
  async fleet(fleetId: string, now = Date.now()): Promise<VehicleStatusSummary[]> {
    const { catalog, registry, offlineAfterMs, live } = this.options;
    const vehicles = await registry.listVehicles(fleetId);
    const since = startOfUtcDay(now);
    const [statuses, cameras] = await Promise.all([
      catalog.vehicleStatus.listFleet(fleetId),
      // A vehicle added or removed since is a new key: its cameras show at once.
      this.#activities.get(
        `${fleetId} ${since} ${vehicles.length}`,
        () => catalog.vehicleStatus.cameraActivity(fleetId, since),
      ),
    ]);
    const byVehicle = new Map(statuses.map((s) => [s.vehicleId, s]));
    const camerasOf = Map.groupBy(cameras, (c) => c.vehicleId);
    return vehicles.map((vehicle) => {
      const status = byVehicle.get(vehicle.id);
      const report = (status?.status ?? {}) as Report;
      const presence = presenceOf(status, offlineAfterMs, now);
      const lines = new Map((report.cameras ?? []).map((line) => [line.camera, line]));
      return {
        vehicle,
        ...presence,
        clock: report.clock?.state ?? null,
        cameras: (camerasOf.get(vehicle.id) ?? []).map((camera): CameraStatus => {
          const line = presence.online ? lines.get(camera.name) : undefined;
          const state = live?.streamState({ fleetId, vehicleId: vehicle.id, camera: camera.name });
          return {
            id: camera.cameraId,
            name: camera.name,
            label: camera.label,
            recording: line ? line.capturing : presence.online ? null : false,
            recordingId: line?.recordingId ?? null,
            live: !live
              ? null
              : state === "live"
              ? "streaming"
              : state === "starting"
              ? "ready"
              : "unavailable",
            backlog: lines.has(camera.name)
              ? {
                segments: lines.get(camera.name)!.queueDepth,
                bytes: lines.get(camera.name)!.bytesPending,
                lastUploadAt: lines.get(camera.name)!.lastUploadAt,
              }
              : null,
            lastSegmentAt: camera.lastSegmentAt,
            clock: lines.get(camera.name)?.captureClock?.state ?? null,
            bytesToday: camera.bytesSince,
          };
        }),
      };
    });
  }
}
