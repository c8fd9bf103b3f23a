import type { SQLInputValue } from "node:sqlite";
import type {
  CameraActivity,
  HeartbeatKeep,
  InitRecord,
  PlaylistSegment,
  Recording,
  RecordingRepository,
  Rendition,
  SecretRepository,
  Segment,
  SegmentRecord,
  UsageDay,
  UsageKind,
  UsageRepository,
  VehicleStatus,
  VehicleStatusRepository,
} from "../types.ts";
import { usageDay } from "../usage_day.ts";
import { type Database, type Row, toDate } from "./database.ts";

const recordingOf = (row: Row): Recording => ({
  id: String(row.id),
  fleetId: String(row.fleet_id),
  vehicleId: String(row.vehicle_id),
  cameraId: String(row.camera_id),
  startedAt: toDate(row.started_at)!,
  endedAt: toDate(row.ended_at)!,
  segmentCount: Number(row.segment_count),
  rendition: row.rendition === "proxy" ? "proxy" : "full",
  initKey: row.init_key === null ? null : String(row.init_key),
  closedAt: toDate(row.closed_at),
});

const segmentOf = (row: Row): Segment => ({
  recordingId: String(row.recording_id),
  sequence: Number(row.sequence),
  startMs: Number(row.start_ms),
  durationMs: Number(row.duration_ms),
  size: Number(row.size),
  sha256: String(row.sha256),
  objectKey: String(row.object_key),
});

/**
 * The segments `query` (a WHERE and ORDER BY clause) selects, as PlaylistSegments in its order.
 * Not read row by row: node:sqlite makes each row a dictionary-mode object, and copying a day's
 * 43,200 of them out took longer than the query itself. Aggregated into one row of JSON arrays,
 * a column each (filled in one pass, so aligned), they parse in a few milliseconds.
 */
function playlistSegmentsOf(db: Database, query: string, ...params: SQLInputValue[]) {
  const columns = db.get(
    `SELECT json_group_array(recording_id) AS recording_id, json_group_array(sequence) AS sequence,
       json_group_array(start_ms) AS start_ms, json_group_array(duration_ms) AS duration_ms,
       json_group_array(size) AS size
     FROM (SELECT recording_id, sequence, start_ms, duration_ms, size FROM segments ${query})`,
    ...params,
  )!;
  const recordingIds: string[] = JSON.parse(String(columns.recording_id));
  const sequences: number[] = JSON.parse(String(columns.sequence));
  const starts: number[] = JSON.parse(String(columns.start_ms));
  const durations: number[] = JSON.parse(String(columns.duration_ms));
  const sizes: number[] = JSON.parse(String(columns.size));
  const segments = new Array<PlaylistSegment>(recordingIds.length);
  for (let i = 0; i < segments.length; i++) {
    segments[i] = {
      recordingId: recordingIds[i],
      sequence: sequences[i],
      startMs: starts[i],
      durationMs: durations[i],
      size: sizes[i],
    };
  }
  return segments;
}

/**
 * A segment is at most a minute long, so its start is within a minute before `fromMs`. The proxy
 * recordings overlapping the range (few) pick the rendition by recording id, which segments_time
 * holds: the read stays within the index.
 */
const between = (rendition: Rendition) =>
  `camera_id = ? AND start_ms >= ? AND start_ms < ? AND start_ms + duration_ms > ?
  AND recording_id ${rendition === "proxy" ? "IN" : "NOT IN"} (SELECT id FROM recordings
    WHERE camera_id = ? AND rendition = 'proxy' AND ended_at > ? AND started_at < ?)
  ORDER BY start_ms, recording_id, sequence`;

/** The parameters of {@linkcode between}. */
const betweenParams = (cameraId: string, fromMs: number, toMs: number) =>
  [cameraId, fromMs - 60_000, toMs, fromMs, cameraId, fromMs - 60_000, toMs] as const;

const ENSURE_RECORDING = `
  INSERT INTO recordings (camera_id, id, fleet_id, vehicle_id, started_at, ended_at, rendition)
  VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`;

/** Adds bytes and objects to a vehicle's usage of one camera, UTC day and kind. */
const ADD_USAGE = `
  INSERT INTO upload_usage (fleet_id, vehicle_id, day, camera_id, kind, bytes, objects)
  VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE
  SET bytes = bytes + excluded.bytes, objects = objects + excluded.objects`;

/** Recordings and segments in SQLite. */
export class SqliteRecordings implements RecordingRepository {
  constructor(private readonly db: Database) {}

  indexSegments(segments: SegmentRecord[]): Promise<number> {
    return Promise.resolve(this.db.transaction(() => {
      let added = 0;
      // Usage is added once per vehicle, day, camera and kind of the batch (one row, not 500).
      const usage = new Map<string, [string, string, string, string, string, number, number]>();
      const now = Date.now();
      for (const s of segments) {
        const end = s.startMs + s.durationMs;
        this.db.run(
          ENSURE_RECORDING,
          s.cameraId,
          s.recordingId,
          s.fleetId,
          s.vehicleId,
          s.startMs,
          end,
          s.rendition ?? "full",
        );
        const inserted = this.db.run(
          `INSERT INTO segments (camera_id, recording_id, sequence, start_ms, duration_ms, size, sha256, object_key)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
          s.cameraId,
          s.recordingId,
          s.sequence,
          s.startMs,
          s.durationMs,
          s.size,
          s.sha256,
          s.objectKey,
        );
        if (inserted === 0) continue;
        added++;
        const day = usageDay(s.storedAtMs ?? now);
        const kind = s.kind ?? "continuous";
        const key = `${s.vehicleId}/${day}/${s.cameraId}/${kind}`;
        const row = usage.get(key) ?? [s.fleetId, s.vehicleId, day, s.cameraId, kind, 0, 0];
        row[5] += s.size;
        row[6] += 1;
        usage.set(key, row);
        this.db.run(
          `UPDATE recordings SET segment_count = segment_count + 1,
             started_at = min(started_at, ?), ended_at = max(ended_at, ?)
           WHERE camera_id = ? AND id = ?`,
          s.startMs,
          end,
          s.cameraId,
          s.recordingId,
        );
      }
      for (const row of usage.values()) this.db.run(ADD_USAGE, ...row);
      return added;
    }));
  }

  setInit(input: InitRecord, initKey: string): Promise<void> {
    this.db.transaction(() => {
      // An empty range (start after end) until segments arrive; list() never returns it.
      this.db.run(
        ENSURE_RECORDING,
        input.cameraId,
        input.recordingId,
        input.fleetId,
        input.vehicleId,
        Number.MAX_SAFE_INTEGER,
        0,
        input.rendition ?? "full",
      );
      const changed = this.db.run(
        "UPDATE recordings SET init_key = ? WHERE camera_id = ? AND id = ? AND init_key IS NOT ?",
        initKey,
        input.cameraId,
        input.recordingId,
        initKey,
      );
      if (changed === 0 || input.size === undefined) return;
      this.db.run(
        ADD_USAGE,
        input.fleetId,
        input.vehicleId,
        usageDay(input.storedAtMs ?? Date.now()),
        input.cameraId,
        input.kind ?? "continuous",
        input.size,
        1,
      );
    });
    return Promise.resolve();
  }

  close(cameraId: string, recordingId: string, at: Date): Promise<void> {
    this.db.run(
      "UPDATE recordings SET closed_at = coalesce(closed_at, ?) WHERE camera_id = ? AND id = ?",
      at.getTime(),
      cameraId,
      recordingId,
    );
    return Promise.resolve();
  }

  get(fleetId: string, cameraId: string, recordingId: string): Promise<Recording | undefined> {
    const row = this.db.get(
      "SELECT * FROM recordings WHERE fleet_id = ? AND camera_id = ? AND id = ?",
      fleetId,
      cameraId,
      recordingId,
    );
    return Promise.resolve(row && recordingOf(row));
  }

  list(
    fleetId: string,
    cameraId: string,
    fromMs = 0,
    toMs = Number.MAX_SAFE_INTEGER,
    rendition?: Rendition,
  ) {
    return Promise.resolve(
      this.db.all(
        `SELECT * FROM recordings WHERE fleet_id = ? AND camera_id = ?
           AND ended_at > ? AND started_at < ? AND (? IS NULL OR rendition = ?)
         ORDER BY started_at`,
        fleetId,
        cameraId,
        fromMs,
        toMs,
        rendition ?? null,
        rendition ?? null,
      ).map(recordingOf),
    );
  }

  segments(cameraId: string, recordingId: string): Promise<Segment[]> {
    return Promise.resolve(
      this.db.all(
        "SELECT * FROM segments WHERE camera_id = ? AND recording_id = ? ORDER BY sequence",
        cameraId,
        recordingId,
      ).map(segmentOf),
    );
  }

  segmentsBetween(
    cameraId: string,
    fromMs: number,
    toMs: number,
    rendition: Rendition = "full",
  ): Promise<Segment[]> {
    const sql = `SELECT * FROM segments WHERE ${between(rendition)}`;
    return Promise.resolve(
      this.db.all(sql, ...betweenParams(cameraId, fromMs, toMs)).map(segmentOf),
    );
  }

  playlistSegments(cameraId: string, recordingId: string): Promise<PlaylistSegment[]> {
    return Promise.resolve(playlistSegmentsOf(
      this.db,
      "WHERE camera_id = ? AND recording_id = ? ORDER BY sequence",
      cameraId,
      recordingId,
    ));
  }

  playlistSegmentsBetween(
    cameraId: string,
    fromMs: number,
    toMs: number,
    rendition: Rendition = "full",
  ): Promise<PlaylistSegment[]> {
    // Read from the segments_time index alone (migration 3), in its order.
    return Promise.resolve(
      playlistSegmentsOf(
        this.db,
        `WHERE ${between(rendition)}`,
        ...betweenParams(cameraId, fromMs, toMs),
      ),
    );
  }
}

/** Data usage in SQLite. */
export class SqliteUsage implements UsageRepository {
  constructor(private readonly db: Database) {}

  list(fleetId: string, vehicleId: string, fromDay: string, toDay: string): Promise<UsageDay[]> {
    return Promise.resolve(
      this.db.all(
        `SELECT day, camera_id, kind, bytes, objects FROM upload_usage
         WHERE vehicle_id = ? AND fleet_id = ? AND day >= ? AND day <= ?
         ORDER BY day, camera_id, kind`,
        vehicleId,
        fleetId,
        fromDay,
        toDay,
      ).map((row) => ({
        vehicleId,
        cameraId: String(row.camera_id),
        day: String(row.day),
        kind: String(row.kind) as UsageKind,
        bytes: Number(row.bytes),
        objects: Number(row.objects),
      })),
    );
  }

  add(fleetId: string, entry: Omit<UsageDay, "objects"> & { objects?: number }): Promise<void> {
    const { vehicleId, day, cameraId, kind, bytes } = entry;
    this.db.run(ADD_USAGE, fleetId, vehicleId, day, cameraId, kind, bytes, entry.objects ?? 0);
    return Promise.resolve();
  }
}

/** Vehicles' heartbeats in SQLite. */
export class SqliteVehicleStatus implements VehicleStatusRepository {
  /**
   * Each vehicle's heartbeat as last parsed: the fleet status reads every vehicle's each second
   * per reader, and a vehicle reports every 30 s, so most are parsed once (callers only read).
   */
  readonly #parsed = new Map<string, { raw: string; status: Record<string, unknown> }>();

  constructor(private readonly db: Database) {}

  report(
    vehicleId: string,
    status: Record<string, unknown>,
    at: Date,
    keep?: HeartbeatKeep,
  ): Promise<void> {
    const json = JSON.stringify(status);
    this.db.transaction(() => {
      this.db.run(
        `INSERT INTO vehicle_status (vehicle_id, reported_at, status) VALUES (?, ?, ?)
         ON CONFLICT (vehicle_id) DO UPDATE SET reported_at = excluded.reported_at, status = excluded.status`,
        vehicleId,
        at.getTime(),
        json,
      );
      if (!keep) return;
      this.db.run(
        `INSERT INTO vehicle_heartbeats (vehicle_id, reported_at, status) VALUES (?, ?, ?)
         ON CONFLICT (vehicle_id, reported_at) DO UPDATE SET status = excluded.status`,
        vehicleId,
        at.getTime(),
        json,
      );
      this.db.run(
        `DELETE FROM vehicle_heartbeats WHERE vehicle_id = ? AND (reported_at < ? OR reported_at <= (
           SELECT reported_at FROM vehicle_heartbeats WHERE vehicle_id = ?
           ORDER BY reported_at DESC LIMIT 1 OFFSET ?))`,
        vehicleId,
        keep.since.getTime(),
        vehicleId,
        keep.atMost,
      );
    });
    return Promise.resolve();
  }

  history(vehicleId: string, since: Date, limit: number): Promise<VehicleStatus[]> {
    const rows = this.db.all(
      `SELECT reported_at, status FROM vehicle_heartbeats
       WHERE vehicle_id = ? AND reported_at >= ? ORDER BY reported_at DESC LIMIT ?`,
      vehicleId,
      since.getTime(),
      limit,
    );
    return Promise.resolve(rows.map((row) => ({
      vehicleId,
      reportedAt: toDate(row.reported_at)!,
      status: JSON.parse(String(row.status)),
    })));
  }

  get(vehicleId: string): Promise<VehicleStatus | undefined> {
    const row = this.db.get("SELECT * FROM vehicle_status WHERE vehicle_id = ?", vehicleId);
    return Promise.resolve(
      row && {
        vehicleId,
        reportedAt: toDate(row.reported_at)!,
        status: JSON.parse(String(row.status)),
      },
    );
  }

  listFleet(fleetId: string): Promise<VehicleStatus[]> {
    const rows = this.db.all(
      `SELECT s.* FROM vehicle_status s JOIN vehicles v ON v.id = s.vehicle_id
       WHERE v.fleet_id = ?`,
      fleetId,
    );
    return Promise.resolve(rows.map((row) => {
      const vehicleId = String(row.vehicle_id);
      const raw = String(row.status);
      let parsed = this.#parsed.get(vehicleId);
      if (parsed?.raw !== raw) {
        parsed = { raw, status: JSON.parse(raw) };
        this.#parsed.set(vehicleId, parsed);
      }
      return { vehicleId, reportedAt: toDate(row.reported_at)!, status: parsed.status };
    }));
  }

  cameraActivity(fleetId: string, sinceMs: number): Promise<CameraActivity[]> {
    // Per camera: the recordings_time and segments_time indexes, no table scan.
    const rows = this.db.all(
      `SELECT c.id, c.vehicle_id, c.name, c.label,
         (SELECT MAX(r.ended_at) FROM recordings r
           WHERE r.camera_id = c.id AND r.segment_count > 0) AS last_at,
         (SELECT COALESCE(SUM(g.size), 0) FROM segments g
           WHERE g.camera_id = c.id AND g.start_ms >= ?) AS bytes
       FROM cameras c WHERE c.fleet_id = ? ORDER BY c.vehicle_id, c.name`,
      sinceMs,
      fleetId,
    );
    return Promise.resolve(rows.map((row) => ({
      cameraId: String(row.id),
      vehicleId: String(row.vehicle_id),
      name: String(row.name),
      label: row.label === null ? null : String(row.label),
      lastSegmentAt: toDate(row.last_at),
      bytesSince: Number(row.bytes),
    })));
  }
}

/** Server secrets in SQLite. */
export class SqliteSecrets implements SecretRepository {
  constructor(private readonly db: Database) {}

  getOrCreate(name: string, generate: () => string): Promise<string> {
    // Read first: a start on a full disk must not need a write.
    const existing = this.db.get("SELECT value FROM secrets WHERE name = ?", name);
    if (existing) return Promise.resolve(String(existing.value));
    this.db.run(
      "INSERT INTO secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
      name,
      generate(),
      Date.now(),
    );
    return Promise.resolve(
      String(this.db.get("SELECT value FROM secrets WHERE name = ?", name)!.value),
    );
  }
}
