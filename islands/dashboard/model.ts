/**
 * The fleet dashboard's data in the browser and on the server: the status API's JSON
 * (`GET /api/v1/fleets/{id}/status` and its event stream), the view's filter and sort as they
 * are held in the URL query, and how they pick and order vehicles. No server imports: islands
 * bundle this file.
 */

/** One camera of a vehicle's status, as the status API answers it. */
export interface CameraStatusJson {
  id: string;
  name: string;
  /** What operators call it; null or absent: shown by its name. */
  label?: string | null;
  recording: boolean | null;
  recordingId: string | null;
  live: "streaming" | "ready" | "unavailable" | null;
  backlog: { segments: number; bytes: number; lastUploadAt: string | null } | null;
  lastSegmentAt: string | null;
  clock: string | null;
  bytesToday: number;
}

/** One vehicle of a fleet's status, as the status API answers it. */
export interface VehicleStatusJson {
  vehicle: { id: string; fleetId: string; name: string };
  online: boolean;
  lastSeenAt: string | null;
  clock: string | null;
  cameras: CameraStatusJson[];
}

/** Which vehicles the dashboard shows. */
export type PresenceFilter = "all" | "online" | "offline";
/** Vehicles recording on at least one camera, on none, or either. */
export type RecordingFilter = "any" | "recording" | "idle";
/** The dashboard's order. */
export type SortKey = "name" | "seen" | "backlog";

/** The dashboard's filter and sort, as held in the URL query (`q`, `status`, `rec`, `sort`). */
export interface DashboardQuery {
  text: string;
  presence: PresenceFilter;
  recording: RecordingFilter;
  sort: SortKey;
}

/** The view with nothing filtered, by name. */
export const DEFAULT_QUERY: DashboardQuery = {
  text: "",
  presence: "all",
  recording: "any",
  sort: "name",
};

const PRESENCES: readonly PresenceFilter[] = ["all", "online", "offline"];
const RECORDINGS: readonly RecordingFilter[] = ["any", "recording", "idle"];
const SORTS: readonly SortKey[] = ["name", "seen", "backlog"];

const oneOf = <T extends string>(values: readonly T[], value: string | null, fallback: T): T =>
  values.includes(value as T) ? value as T : fallback;

/** Reads the dashboard's query; an unknown value falls back to the default. */
export function readQuery(query: URLSearchParams): DashboardQuery {
  return {
    text: (query.get("q") ?? "").trim().slice(0, 100),
    presence: oneOf(PRESENCES, query.get("status"), "all"),
    recording: oneOf(RECORDINGS, query.get("rec"), "any"),
    sort: oneOf(SORTS, query.get("sort"), "name"),
  };
}

/** The query string of `view` (defaults left out), with the leading `?` when not empty. */
export function writeQuery(view: DashboardQuery): string {
  const query = new URLSearchParams();
  if (view.text) query.set("q", view.text);
  if (view.presence !== "all") query.set("status", view.presence);
  if (view.recording !== "any") query.set("rec", view.recording);
  if (view.sort !== "name") query.set("sort", view.sort);
  const text = query.toString();
  return text ? `?${text}` : "";
}

/** Segments and bytes a vehicle still has to upload, over its cameras. */
export function backlogOf(v: VehicleStatusJson): { segments: number; bytes: number } {
  let segments = 0, bytes = 0;
  for (const c of v.cameras) {
    segments += c.backlog?.segments ?? 0;
    bytes += c.backlog?.bytes ?? 0;
  }
  return { segments, bytes };
}

const collator = new Intl.Collator("en", { numeric: true, sensitivity: "base" });

/** The vehicles `view` shows, in its order (ties by name). */
export function applyQuery(
  vehicles: readonly VehicleStatusJson[],
  view: DashboardQuery,
): VehicleStatusJson[] {
  const text = view.text.toLowerCase();
  const shown = vehicles.filter((v) => {
    if (view.presence === "online" && !v.online) return false;
    if (view.presence === "offline" && v.online) return false;
    const recording = v.cameras.some((c) => c.recording === true);
    if (view.recording === "recording" && !recording) return false;
    if (view.recording === "idle" && recording) return false;
    if (!text) return true;
    return v.vehicle.name.toLowerCase().includes(text) ||
      v.vehicle.id.toLowerCase() === text ||
      v.cameras.some((c) =>
        c.name.toLowerCase().includes(text) || !!c.label?.toLowerCase().includes(text)
      );
  });
  const byName = (a: VehicleStatusJson, b: VehicleStatusJson) =>
    collator.compare(a.vehicle.name, b.vehicle.name);
  const seen = (v: VehicleStatusJson) => v.lastSeenAt ? Date.parse(v.lastSeenAt) : -Infinity;
  const order = view.sort === "seen"
    ? (a: VehicleStatusJson, b: VehicleStatusJson) => seen(b) - seen(a) || byName(a, b)
    : view.sort === "backlog"
    ? (a: VehicleStatusJson, b: VehicleStatusJson) =>
      backlogOf(b).bytes - backlogOf(a).bytes ||
      backlogOf(b).segments - backlogOf(a).segments || byName(a, b)
    : byName;
  return shown.sort(order);
}

/** Bytes for people: `0 B`, `4.0 KB`, `2.4 MB`, `1.2 GB` (powers of 1000). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = bytes / 1000, unit = 0;
  while (value >= 1000 && unit < units.length - 1) value /= 1000, unit++;
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** How long ago `iso` was from `now`: `just now`, `42 s ago`, `5 min ago`, `3 h ago`, `2 d ago`. */
export function formatAge(iso: string | null, now: number): string {
  if (!iso) return "never";
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 2) return "just now";
  if (s < 90) return `${s} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}
