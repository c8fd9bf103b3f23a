/** Fleets, users, vehicles, cameras and credentials: the rules the API and the CLI share. */
export { type Enrolment, FleetRegistry, type RetentionPreview } from "./registry.ts";
export * from "./schemas.ts";
export {
  HEARTBEAT_HISTORY_MS,
  HeartbeatHistory,
  HEARTBEATS_PER_VEHICLE,
  HEARTBEATS_SHOWN,
} from "./heartbeat_history.ts";
export {
  type CameraStatus,
  FleetStatus,
  type Presence,
  presenceOf,
  startOfUtcDay,
  type VehicleStatusSummary,
} from "./status.ts";
export { commonPasswordCount, isCommonPassword, PASSWORD_MIN_LENGTH } from "./password_policy.ts";
