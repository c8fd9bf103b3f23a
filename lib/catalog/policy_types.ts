/**
 * The catalog's entities and repositories of issue 12: upload policies (fleet default, vehicle and
 * camera overrides), recalls of full-quality ranges from vehicles, and what each vehicle holds.
 */

/** How a camera's recordings reach the server. */
export type UploadMode = "continuous" | "proxy" | "on-request";

/** The upload modes, today's behaviour first. */
export const UPLOAD_MODES = ["continuous", "proxy", "on-request"] as const;

/** The low-bitrate rendition a `proxy` camera uploads continuously. */
export interface ProxySettings {
  /** Picture height in pixels (the width follows the aspect ratio). */
  height: number;
  bitrateKbps: number;
}

/** What an upload policy is set on: a fleet (its default), a vehicle, or one camera. */
export type PolicyScope = "fleet" | "vehicle" | "camera";

/** An upload policy as stored on one scope. */
export interface UploadPolicy {
  scope: PolicyScope;
  fleetId: string;
  /** The vehicle of a vehicle or camera policy; null for the fleet's. */
  vehicleId: string | null;
  /** The camera of a camera policy; null otherwise. */
  cameraId: string | null;
  mode: UploadMode;
  proxy: ProxySettings;
  /** Longest recall a fleet policy allows, in seconds; null elsewhere (and for the default). */
  recallMaxSeconds: number | null;
  updatedAt: Date;
}

/** Upload policies: one per fleet, vehicle or camera at most. */
export interface UploadPolicyRepository {
  /** The policy set on the fleet, vehicle or camera `scopeId`, of fleet `fleetId`. */
  get(fleetId: string, scopeId: string): Promise<UploadPolicy | undefined>;
  /** The fleet's policy, the vehicle's and its cameras', all that are set. */
  forVehicle(fleetId: string, vehicleId: string): Promise<UploadPolicy[]>;
  /** Sets (replacing) the policy of its scope. */
  put(policy: Omit<UploadPolicy, "updatedAt">, now: Date): Promise<UploadPolicy>;
  /** Removes the policy of a scope; false when none was set. */
  delete(fleetId: string, scopeId: string): Promise<boolean>;
}

/**
 * Where a recall is: `queued` (the vehicle has not taken it up), `uploading`, and the ends
 * `complete`, `partial` (some of the range could not be had), `expired` (none of it: evicted on
 * the vehicle) and `cancelled` (by an operator).
 */
export type RecallState = "queued" | "uploading" | "complete" | "partial" | "expired" | "cancelled";

/** The recall states that are over. */
export const FINISHED_RECALL_STATES: readonly RecallState[] = [
  "complete",
  "partial",
  "expired",
  "cancelled",
];

/** A stretch of a recall the vehicle could not upload, and why. */
export interface RecallGap {
  fromMs: number;
  toMs: number;
  reason: "evicted" | "not-recorded";
}

/** How far the vehicle got with a recall, as it last reported. */
export interface RecallProgress {
  segmentsTotal: number;
  segmentsDone: number;
  bytesTotal: number;
  bytesDone: number;
  missing: RecallGap[];
}

/** A request that a vehicle upload one camera's full-quality recording of a time range. */
export interface Recall {
  id: string;
  fleetId: string;
  vehicleId: string;
  cameraId: string;
  fromMs: number;
  toMs: number;
  /** Who asked: an operator (through the API) or an event rule. */
  origin: "operator" | "event";
  /** The user who filed it; null for an event rule's. */
  createdBy: string | null;
  state: RecallState;
  progress: RecallProgress | null;
  createdAt: Date;
  updatedAt: Date;
  /** When it reached a finished state; null while it is active. */
  finishedAt: Date | null;
}

/** Recalls, always through their fleet. */
export interface RecallRepository {
  /**
   * Files a recall unless its vehicle already has `maxActive` active ones (then undefined), in
   * one step, so concurrent filings cannot pass the limit together.
   */
  create(
    input: Pick<Recall, "fleetId" | "vehicleId" | "cameraId" | "fromMs" | "toMs" | "origin"> & {
      createdBy: string | null;
    },
    maxActive: number,
    now: Date,
  ): Promise<Recall | undefined>;
  get(fleetId: string, id: string): Promise<Recall | undefined>;
  /** A camera's recalls, newest first, at most `limit`. */
  list(fleetId: string, cameraId: string, limit: number): Promise<Recall[]>;
  /** A vehicle's active (unfinished) recalls, oldest first. */
  active(vehicleId: string): Promise<Recall[]>;
  /**
   * Moves an active recall to `state` with `progress` (a finished state also sets `finishedAt`);
   * returns the recall after, or undefined when it was unknown or already finished.
   */
  advance(
    id: string,
    state: RecallState,
    progress: RecallProgress | null,
    now: Date,
  ): Promise<Recall | undefined>;
}

/** The time ranges of one camera's rendition a vehicle holds (epoch ms, ascending). */
export interface InventoryEntry {
  /** The camera's name on the vehicle. */
  camera: string;
  rendition: "full" | "proxy";
  ranges: Array<[number, number]>;
}

/** What vehicles last reported holding. */
export interface InventoryRepository {
  /** Replaces everything the vehicle was known to hold with `entries`. */
  replace(vehicleId: string, entries: InventoryEntry[], at: Date): Promise<void>;
  /** What the vehicle holds, as last reported. */
  list(vehicleId: string): Promise<Array<InventoryEntry & { reportedAt: Date }>>;
}
