import { newId } from "../ids.ts";
import type {
  InventoryEntry,
  InventoryRepository,
  PolicyScope,
  Recall,
  RecallProgress,
  RecallRepository,
  RecallState,
  UploadMode,
  UploadPolicy,
  UploadPolicyRepository,
} from "../policy_types.ts";
import { FINISHED_RECALL_STATES } from "../policy_types.ts";
import { type Database, type Row, toDate } from "./database.ts";

const policyOf = (row: Row): UploadPolicy => ({
  scope: String(row.scope) as PolicyScope,
  fleetId: String(row.fleet_id),
  vehicleId: row.vehicle_id === null ? null : String(row.vehicle_id),
  cameraId: row.camera_id === null ? null : String(row.camera_id),
  mode: String(row.mode) as UploadMode,
  proxy: { height: Number(row.proxy_height), bitrateKbps: Number(row.proxy_bitrate_kbps) },
  recallMaxSeconds: row.recall_max_seconds === null ? null : Number(row.recall_max_seconds),
  updatedAt: toDate(row.updated_at)!,
});

const recallOf = (row: Row): Recall => ({
  id: String(row.id),
  fleetId: String(row.fleet_id),
  vehicleId: String(row.vehicle_id),
  cameraId: String(row.camera_id),
  fromMs: Number(row.from_ms),
  toMs: Number(row.to_ms),
  origin: String(row.origin) as Recall["origin"],
  createdBy: row.created_by === null ? null : String(row.created_by),
  state: String(row.state) as RecallState,
  progress: row.progress === null ? null : JSON.parse(String(row.progress)) as RecallProgress,
  createdAt: toDate(row.created_at)!,
  updatedAt: toDate(row.updated_at)!,
  finishedAt: toDate(row.finished_at),
});

/** The id a policy's row is kept under: its camera's, vehicle's or fleet's. */
const scopeIdOf = (p: Pick<UploadPolicy, "fleetId" | "vehicleId" | "cameraId">) =>
  p.cameraId ?? p.vehicleId ?? p.fleetId;

/** Upload policies in SQLite. */
export class SqliteUploadPolicies implements UploadPolicyRepository {
  constructor(private readonly db: Database) {}

  get(fleetId: string, scopeId: string): Promise<UploadPolicy | undefined> {
    const row = this.db.get(
      "SELECT * FROM upload_policies WHERE fleet_id = ? AND scope_id = ?",
      fleetId,
      scopeId,
    );
    return Promise.resolve(row ? policyOf(row) : undefined);
  }

  forVehicle(fleetId: string, vehicleId: string): Promise<UploadPolicy[]> {
    const rows = this.db.all(
      `SELECT * FROM upload_policies WHERE fleet_id = ? AND scope_id = ?
       UNION ALL SELECT * FROM upload_policies WHERE fleet_id = ? AND vehicle_id = ?`,
      fleetId,
      fleetId,
      fleetId,
      vehicleId,
    );
    return Promise.resolve(rows.map(policyOf));
  }

  put(policy: Omit<UploadPolicy, "updatedAt">, now: Date): Promise<UploadPolicy> {
    this.db.run(
      `INSERT INTO upload_policies (scope_id, scope, fleet_id, vehicle_id, camera_id, mode,
         proxy_height, proxy_bitrate_kbps, recall_max_seconds, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (scope_id) DO UPDATE SET mode = excluded.mode,
         proxy_height = excluded.proxy_height, proxy_bitrate_kbps = excluded.proxy_bitrate_kbps,
         recall_max_seconds = excluded.recall_max_seconds, updated_at = excluded.updated_at`,
      scopeIdOf(policy),
      policy.scope,
      policy.fleetId,
      policy.vehicleId,
      policy.cameraId,
      policy.mode,
      policy.proxy.height,
      policy.proxy.bitrateKbps,
      policy.recallMaxSeconds,
      now.getTime(),
    );
    return Promise.resolve({ ...policy, updatedAt: now });
  }

  delete(fleetId: string, scopeId: string): Promise<boolean> {
    return Promise.resolve(
      this.db.run(
        "DELETE FROM upload_policies WHERE fleet_id = ? AND scope_id = ?",
        fleetId,
        scopeId,
      ) > 0,
    );
  }
}

/** Recalls in SQLite: one writer at a time, so the active-recall limit holds by itself. */
export class SqliteRecalls implements RecallRepository {
  constructor(private readonly db: Database) {}

  create(
    input: Pick<Recall, "fleetId" | "vehicleId" | "cameraId" | "fromMs" | "toMs" | "origin"> & {
      createdBy: string | null;
    },
    maxActive: number,
    now: Date,
  ): Promise<Recall | undefined> {
    const recall: Recall = {
      ...input,
      id: newId("rcl"),
      state: "queued",
      progress: null,
      createdAt: now,
      updatedAt: now,
      finishedAt: null,
    };
    const added = this.db.run(
      `INSERT INTO recalls (id, fleet_id, vehicle_id, camera_id, from_ms, to_ms, origin,
         created_by, state, created_at, updated_at)
       SELECT ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?
       WHERE (SELECT COUNT(*) FROM recalls WHERE vehicle_id = ? AND finished_at IS NULL) < ?`,
      recall.id,
      recall.fleetId,
      recall.vehicleId,
      recall.cameraId,
      recall.fromMs,
      recall.toMs,
      recall.origin,
      recall.createdBy,
      now.getTime(),
      now.getTime(),
      recall.vehicleId,
      maxActive,
    );
    return Promise.resolve(added ? recall : undefined);
  }

  get(fleetId: string, id: string): Promise<Recall | undefined> {
    const row = this.db.get("SELECT * FROM recalls WHERE fleet_id = ? AND id = ?", fleetId, id);
    return Promise.resolve(row ? recallOf(row) : undefined);
  }

  list(fleetId: string, cameraId: string, limit: number): Promise<Recall[]> {
    const rows = this.db.all(
      `SELECT * FROM recalls WHERE fleet_id = ? AND camera_id = ?
       ORDER BY created_at DESC, id DESC LIMIT ?`,
      fleetId,
      cameraId,
      limit,
    );
    return Promise.resolve(rows.map(recallOf));
  }

  active(vehicleId: string): Promise<Recall[]> {
    const rows = this.db.all(
      `SELECT * FROM recalls WHERE vehicle_id = ? AND finished_at IS NULL
       ORDER BY created_at, id`,
      vehicleId,
    );
    return Promise.resolve(rows.map(recallOf));
  }

  advance(
    id: string,
    state: RecallState,
    progress: RecallProgress | null,
    now: Date,
  ): Promise<Recall | undefined> {
    const finished = FINISHED_RECALL_STATES.includes(state) ? now.getTime() : null;
    const row = this.db.get(
      `UPDATE recalls SET state = ?, progress = COALESCE(?, progress), updated_at = ?,
         finished_at = ?
       WHERE id = ? AND finished_at IS NULL RETURNING *`,
      state,
      progress === null ? null : JSON.stringify(progress),
      now.getTime(),
      finished,
      id,
    );
    return Promise.resolve(row ? recallOf(row) : undefined);
  }
}

/** What vehicles hold, in SQLite. */
export class SqliteInventory implements InventoryRepository {
  constructor(private readonly db: Database) {}

  replace(vehicleId: string, entries: InventoryEntry[], at: Date): Promise<void> {
    this.db.transaction(() => {
      this.db.run("DELETE FROM vehicle_inventory WHERE vehicle_id = ?", vehicleId);
      for (const entry of entries) {
        // A vehicle deleted meanwhile takes no row.
        this.db.run(
          `INSERT INTO vehicle_inventory (vehicle_id, camera, rendition, ranges, reported_at)
           SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM vehicles WHERE id = ?)
           ON CONFLICT DO UPDATE SET ranges = excluded.ranges, reported_at = excluded.reported_at`,
          vehicleId,
          entry.camera,
          entry.rendition,
          JSON.stringify(entry.ranges),
          at.getTime(),
          vehicleId,
        );
      }
    });
    return Promise.resolve();
  }

  list(vehicleId: string): Promise<Array<InventoryEntry & { reportedAt: Date }>> {
    const rows = this.db.all(
      "SELECT * FROM vehicle_inventory WHERE vehicle_id = ? ORDER BY camera, rendition",
      vehicleId,
    );
    return Promise.resolve(rows.map((row) => ({
      camera: String(row.camera),
      rendition: String(row.rendition) as InventoryEntry["rendition"],
      ranges: JSON.parse(String(row.ranges)),
      reportedAt: toDate(row.reported_at)!,
    })));
  }
}
