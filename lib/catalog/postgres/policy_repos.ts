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
  scope: row.scope as PolicyScope,
  fleetId: row.fleet_id,
  vehicleId: row.vehicle_id ?? null,
  cameraId: row.camera_id ?? null,
  mode: row.mode as UploadMode,
  proxy: { height: Number(row.proxy_height), bitrateKbps: Number(row.proxy_bitrate_kbps) },
  recallMaxSeconds: row.recall_max_seconds === null ? null : Number(row.recall_max_seconds),
  updatedAt: toDate(row.updated_at)!,
});

const recallOf = (row: Row): Recall => ({
  id: row.id,
  fleetId: row.fleet_id,
  vehicleId: row.vehicle_id,
  cameraId: row.camera_id,
  fromMs: Number(row.from_ms),
  toMs: Number(row.to_ms),
  origin: row.origin as Recall["origin"],
  createdBy: row.created_by ?? null,
  state: row.state as RecallState,
  progress: row.progress === null ? null : JSON.parse(row.progress) as RecallProgress,
  createdAt: toDate(row.created_at)!,
  updatedAt: toDate(row.updated_at)!,
  finishedAt: toDate(row.finished_at),
});

/** The id a policy's row is kept under: its camera's, vehicle's or fleet's. */
const scopeIdOf = (p: Pick<UploadPolicy, "fleetId" | "vehicleId" | "cameraId">) =>
  p.cameraId ?? p.vehicleId ?? p.fleetId;

/** Upload policies in PostgreSQL. */
export class PostgresUploadPolicies implements UploadPolicyRepository {
  constructor(private readonly db: Database) {}

  async get(fleetId: string, scopeId: string): Promise<UploadPolicy | undefined> {
    const [row] = await this.db.query((sql) =>
      sql`SELECT * FROM upload_policies WHERE fleet_id = ${fleetId} AND scope_id = ${scopeId}`
    );
    return row ? policyOf(row) : undefined;
  }

  async forVehicle(fleetId: string, vehicleId: string): Promise<UploadPolicy[]> {
    const rows = await this.db.query((sql) =>
      sql`SELECT * FROM upload_policies WHERE fleet_id = ${fleetId}
        AND (scope_id = ${fleetId} OR vehicle_id = ${vehicleId})`
    );
    return rows.map(policyOf);
  }

  async put(policy: Omit<UploadPolicy, "updatedAt">, now: Date): Promise<UploadPolicy> {
    await this.db.query((sql) =>
      sql`INSERT INTO upload_policies (scope_id, scope, fleet_id, vehicle_id, camera_id, mode,
          proxy_height, proxy_bitrate_kbps, recall_max_seconds, updated_at)
        VALUES (${scopeIdOf(policy)}, ${policy.scope}, ${policy.fleetId}, ${policy.vehicleId},
          ${policy.cameraId}, ${policy.mode}, ${policy.proxy.height}, ${policy.proxy.bitrateKbps},
          ${policy.recallMaxSeconds}, ${now.getTime()})
        ON CONFLICT (scope_id) DO UPDATE SET mode = excluded.mode,
          proxy_height = excluded.proxy_height, proxy_bitrate_kbps = excluded.proxy_bitrate_kbps,
          recall_max_seconds = excluded.recall_max_seconds, updated_at = excluded.updated_at`
    );
    return { ...policy, updatedAt: now };
  }

  async delete(fleetId: string, scopeId: string): Promise<boolean> {
    const result = await this.db.query((sql) =>
      sql`DELETE FROM upload_policies WHERE fleet_id = ${fleetId} AND scope_id = ${scopeId}`
    );
    return result.count > 0;
  }
}

/**
 * Recalls in PostgreSQL. Filing one locks its vehicle's row first, so concurrent filings from
 * any process count each other's and the active-recall limit holds.
 */
export class PostgresRecalls implements RecallRepository {
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
    return this.db.transaction(async (sql) => {
      await sql`SELECT 1 FROM vehicles WHERE id = ${recall.vehicleId} FOR UPDATE`;
      const added = await sql`INSERT INTO recalls (id, fleet_id, vehicle_id, camera_id, from_ms,
          to_ms, origin, created_by, state, created_at, updated_at)
        SELECT ${recall.id}, ${recall.fleetId}, ${recall.vehicleId}, ${recall.cameraId},
          ${recall.fromMs}, ${recall.toMs}, ${recall.origin}, ${recall.createdBy}, 'queued',
          ${now.getTime()}, ${now.getTime()}
        WHERE (SELECT COUNT(*) FROM recalls
          WHERE vehicle_id = ${recall.vehicleId} AND finished_at IS NULL) < ${maxActive}`;
      return added.count > 0 ? recall : undefined;
    });
  }

  async get(fleetId: string, id: string): Promise<Recall | undefined> {
    const [row] = await this.db.query((sql) =>
      sql`SELECT * FROM recalls WHERE fleet_id = ${fleetId} AND id = ${id}`
    );
    return row ? recallOf(row) : undefined;
  }

  async list(fleetId: string, cameraId: string, limit: number): Promise<Recall[]> {
    const rows = await this.db.query((sql) =>
      sql`SELECT * FROM recalls WHERE fleet_id = ${fleetId} AND camera_id = ${cameraId}
        ORDER BY created_at DESC, id DESC LIMIT ${limit}`
    );
    return rows.map(recallOf);
  }

  async active(vehicleId: string): Promise<Recall[]> {
    const rows = await this.db.query((sql) =>
      sql`SELECT * FROM recalls WHERE vehicle_id = ${vehicleId} AND finished_at IS NULL
        ORDER BY created_at, id`
    );
    return rows.map(recallOf);
  }

  async advance(
    id: string,
    state: RecallState,
    progress: RecallProgress | null,
    now: Date,
  ): Promise<Recall | undefined> {
    const finished = FINISHED_RECALL_STATES.includes(state) ? now.getTime() : null;
    const [row] = await this.db.query((sql) =>
      sql`UPDATE recalls SET state = ${state},
          progress = COALESCE(${progress === null ? null : JSON.stringify(progress)}, progress),
          updated_at = ${now.getTime()}, finished_at = ${finished}
        WHERE id = ${id} AND finished_at IS NULL RETURNING *`
    );
    return row ? recallOf(row) : undefined;
  }
}

/** What vehicles hold, in PostgreSQL. */
export class PostgresInventory implements InventoryRepository {
  constructor(private readonly db: Database) {}

  async replace(vehicleId: string, entries: InventoryEntry[], at: Date): Promise<void> {
    await this.db.transaction(async (sql) => {
      await sql`DELETE FROM vehicle_inventory WHERE vehicle_id = ${vehicleId}`;
      for (const entry of entries) {
        // A vehicle deleted meanwhile takes no row.
        await sql`INSERT INTO vehicle_inventory (vehicle_id, camera, rendition, ranges, reported_at)
          SELECT ${vehicleId}, ${entry.camera}, ${entry.rendition}, ${JSON.stringify(entry.ranges)},
            ${at.getTime()}
          WHERE EXISTS (SELECT 1 FROM vehicles WHERE id = ${vehicleId})
          ON CONFLICT (vehicle_id, camera, rendition) DO UPDATE
            SET ranges = excluded.ranges, reported_at = excluded.reported_at`;
      }
    });
  }

  async list(vehicleId: string): Promise<Array<InventoryEntry & { reportedAt: Date }>> {
    const rows = await this.db.query((sql) =>
      sql`SELECT * FROM vehicle_inventory WHERE vehicle_id = ${vehicleId}
        ORDER BY camera, rendition`
    );
    return rows.map((row) => ({
      camera: row.camera,
      rendition: row.rendition as InventoryEntry["rendition"],
      ranges: JSON.parse(row.ranges),
      reportedAt: toDate(row.reported_at)!,
    }));
  }
}
