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
import { type Database, type Row, type Sql, toDate } from "./database.ts";

const recordingOf = (row: Row): Recording => ({
  id: row.id,
  fleetId: row.fleet_id,
  vehicleId: row.vehicle_id,
  cameraId: row.camera_id,
  startedAt: toDate(row.started_at)!,
  endedAt: toDate(row.ended_at)!,
  segmentCount: Number(row.segment_count),
  rendition: row.rendition === "proxy" ? "proxy" : "full",
  initKey: row.init_key ?? null,
  closedAt: toDate(row.closed_at),
});

const segmentOf = (row: Row): Segment => ({
  recordingId: row.recording_id,
  sequence: Number(row.sequence),
  startMs: Number(row.start_ms),
  durationMs: Number(row.duration_ms),
  size: Number(row.size),
  sha256: row.sha256,
  objectKey: row.object_key,
});

/** Rows of (recording_id, sequence, start_ms, duration_ms, size), as PlaylistSegments. */
function playlistSegmentsOf(rows: unknown[][]): PlaylistSegment[] {
  const segments = new Array<PlaylistSegment>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    segments[i] = {
      recordingId: row[0] as string,
      sequence: Number(row[1]),
      startMs: Number(row[2]),
      durationMs: Number(row[3]),
      size: Number(row[4]),
    };
  }
  return segments;
}

/**
 * A camera's segments of `rendition` overlapping [fromMs, toMs), in (start, recording, sequence)
 * order: `columns` read from the segments_time index. A segment is at most a minute long, so its
 * start is within a minute before `fromMs`. The proxy recordings overlapping the range (few) pick
 * the rendition by recording id, which the index holds.
 */
function between(
  sql: Sql,
  columns: "*" | "playlist",
  cameraId: string,
  from: number,
  to: number,
  rendition: Rendition,
) {
  const selected = columns === "*"
    ? sql`*`
    : sql`recording_id, sequence, start_ms, duration_ms, size`;
  const proxies = sql`SELECT id FROM recordings WHERE camera_id = ${cameraId}
    AND rendition = 'proxy' AND ended_at > ${from - 60_000} AND started_at < ${to}`;
  const pick = rendition === "proxy"
    ? sql`recording_id IN (${proxies})`
    : sql`recording_id NOT IN (${proxies})`;
  return sql`SELECT ${selected} FROM segments
    WHERE camera_id = ${cameraId} AND start_ms >= ${from - 60_000} AND start_ms < ${to}
      AND start_ms + duration_ms > ${from} AND ${pick}
    ORDER BY start_ms, recording_id, sequence`;
}

/** The usage rows `objects` add: (fleet, vehicle, day, camera, kind, bytes, objects) arrays. */
function usageRows(
  objects: Array<
    { fleetId: string; vehicleId: string; cameraId: string; kind?: UsageKind; size: number } & {
      storedAtMs?: number;
    }
  >,
) {
  const rows = new Map<string, [string, string, string, string, string, number, number]>();
  const now = Date.now();
  for (const o of objects) {
    const day = usageDay(o.storedAtMs ?? now);
    const kind = o.kind ?? "continuous";
    const key = `${o.vehicleId}/${day}/${o.cameraId}/${kind}`;
    const row = rows.get(key) ?? [o.fleetId, o.vehicleId, day, o.cameraId, kind, 0, 0];
    row[5] += o.size;
    row[6] += 1;
    rows.set(key, row);
  }
  // In key order, so concurrent batches lock shared rows in the same order.
  return [...rows.entries()].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0).map(([, r]) => r);
}

/** Adds `objects` to their vehicles' usage, in the transaction `sql` is of. */
async function addUsage(sql: Sql, objects: Parameters<typeof usageRows>[0]): Promise<void> {
  const rows = usageRows(objects);
  if (rows.length === 0) return;
  const col = (i: number) => rows.map((r) => r[i]);
  await sql`INSERT INTO upload_usage (fleet_id, vehicle_id, day, camera_id, kind, bytes, objects)
    SELECT * FROM unnest(${sql.array(col(0) as string[])}::text[],
      ${sql.array(col(1) as string[])}::text[], ${sql.array(col(2) as string[])}::text[],
      ${sql.array(col(3) as string[])}::text[], ${sql.array(col(4) as string[])}::text[],
      ${sql.array(col(5) as number[])}::bigint[], ${sql.array(col(6) as number[])}::bigint[])
    ON CONFLICT (vehicle_id, day, camera_id, kind) DO UPDATE
    SET bytes = upload_usage.bytes + excluded.bytes,
      objects = upload_usage.objects + excluded.objects`;
}

/** Recordings and segments in PostgreSQL. */
export class PostgresRecordings implements RecordingRepository {
  constructor(private readonly db: Database) {}

  async indexSegments(segments: SegmentRecord[]): Promise<number> {
    if (segments.length === 0) return 0;
    // Rows in key order, so concurrent batches lock shared rows in the same order.
    const sorted = [...segments].sort((a, b) =>
      a.cameraId < b.cameraId
        ? -1
        : a.cameraId > b.cameraId
        ? 1
        : a.recordingId < b.recordingId
        ? -1
        : a.recordingId > b.recordingId
        ? 1
        : a.sequence - b.sequence
    );
    const column = <T>(pick: (s: SegmentRecord) => T) => sorted.map(pick);
    return await this.db.transaction(async (sql) => {
      const cameras = sql.array(column((s) => s.cameraId));
      const recordings = sql.array(column((s) => s.recordingId));
      const starts = sql.array(column((s) => s.startMs));
      const durations = sql.array(column((s) => s.durationMs));
      // Recordings first (idempotent; a concurrent batch creating the same one waits for ours).
      await sql`INSERT INTO recordings
          (camera_id, id, fleet_id, vehicle_id, started_at, ended_at, rendition)
        SELECT c, r, min(f), min(v), min(s), max(s + d), min(n)
        FROM unnest(${cameras}::text[], ${recordings}::text[],
          ${sql.array(column((s) => s.fleetId))}::text[],
          ${sql.array(column((s) => s.vehicleId))}::text[], ${starts}::bigint[],
          ${durations}::bigint[], ${sql.array(column((s) => s.rendition ?? "full"))}::text[])
          AS t(c, r, f, v, s, d, n)
        GROUP BY c, r ORDER BY c, r
        ON CONFLICT DO NOTHING`;
      // Then lock them in key order: batches sharing recordings queue here instead of
      // deadlocking over the counts they widen below.
      await sql`SELECT 1 FROM recordings
        WHERE (camera_id, id) IN (SELECT * FROM unnest(${cameras}::text[], ${recordings}::text[]))
        ORDER BY camera_id, id FOR UPDATE`;
      // Each segment once: the primary key keeps a duplicate (from this batch, an earlier one, or
      // another indexer's concurrent one) out, and only the rows inserted widen their recording.
      const added = await sql`WITH added AS (
          INSERT INTO segments (camera_id, recording_id, sequence, start_ms, duration_ms, size,
            sha256, object_key)
          SELECT * FROM unnest(${cameras}::text[], ${recordings}::text[],
            ${sql.array(column((s) => s.sequence))}::bigint[], ${starts}::bigint[],
            ${durations}::bigint[], ${sql.array(column((s) => s.size))}::bigint[],
            ${sql.array(column((s) => s.sha256))}::text[],
            ${sql.array(column((s) => s.objectKey))}::text[])
          ON CONFLICT DO NOTHING
          RETURNING camera_id, recording_id, sequence, start_ms, duration_ms
        ), widened AS (
          SELECT camera_id, recording_id, count(*) AS n, min(start_ms) AS s,
            max(start_ms + duration_ms) AS e
          FROM added GROUP BY camera_id, recording_id
        ), widen AS (
          UPDATE recordings r SET segment_count = r.segment_count + w.n,
            started_at = least(r.started_at, w.s), ended_at = greatest(r.ended_at, w.e)
          FROM widened w WHERE r.camera_id = w.camera_id AND r.id = w.recording_id
        )
        SELECT camera_id, recording_id, sequence FROM added`;
      // Only the segments inserted now count in usage (an event delivered twice counts once).
      const inserted = new Set(
        added.map((row) => `${row.camera_id}/${row.recording_id}/${row.sequence}`),
      );
      await addUsage(
        sql,
        sorted.filter((s) => inserted.has(`${s.cameraId}/${s.recordingId}/${s.sequence}`)),
      );
      return inserted.size;
    });
  }

  async setInit(input: InitRecord, initKey: string): Promise<void> {
    // An empty range (start after end) until segments arrive; list() never returns it.
    await this.db.transaction(async (sql) => {
      const changed = await sql`INSERT INTO recordings
        (camera_id, id, fleet_id, vehicle_id, started_at, ended_at, init_key, rendition)
        VALUES (${input.cameraId}, ${input.recordingId}, ${input.fleetId}, ${input.vehicleId},
          ${Number.MAX_SAFE_INTEGER}, 0, ${initKey}, ${input.rendition ?? "full"})
        ON CONFLICT (camera_id, id) DO UPDATE SET init_key = excluded.init_key
        WHERE recordings.init_key IS DISTINCT FROM excluded.init_key
        RETURNING 1`;
      if (changed.length && input.size !== undefined) {
        await addUsage(sql, [{ ...input, size: input.size }]);
      }
    });
  }

  async close(cameraId: string, recordingId: string, at: Date): Promise<void> {
    await this.db.query((sql) =>
      sql`UPDATE recordings SET closed_at = coalesce(closed_at, ${at.getTime()})
        WHERE camera_id = ${cameraId} AND id = ${recordingId}`
    );
  }

  async get(
    fleetId: string,
    cameraId: string,
    recordingId: string,
  ): Promise<Recording | undefined> {
    const [row] = await this.db.query((sql) =>
      sql`SELECT * FROM recordings
        WHERE fleet_id = ${fleetId} AND camera_id = ${cameraId} AND id = ${recordingId}`
    );
    return row && recordingOf(row);
  }

  async list(
    fleetId: string,
    cameraId: string,
    fromMs = 0,
    toMs = Number.MAX_SAFE_INTEGER,
    rendition?: Rendition,
  ): Promise<Recording[]> {
    return (await this.db.query((sql) =>
      sql`SELECT * FROM recordings WHERE fleet_id = ${fleetId} AND camera_id = ${cameraId}
        AND ended_at > ${fromMs} AND started_at < ${toMs}
        ${rendition ? sql`AND rendition = ${rendition}` : sql``} ORDER BY started_at, id`
    )).map(recordingOf);
  }

  async segments(cameraId: string, recordingId: string): Promise<Segment[]> {
    return (await this.db.query((sql) =>
      sql`SELECT * FROM segments WHERE camera_id = ${cameraId} AND recording_id = ${recordingId}
        ORDER BY sequence`
    )).map(segmentOf);
  }

  async segmentsBetween(
    cameraId: string,
    fromMs: number,
    toMs: number,
    rendition: Rendition = "full",
  ): Promise<Segment[]> {
    return (await this.db.query((sql) => between(sql, "*", cameraId, fromMs, toMs, rendition)))
      .map(segmentOf);
  }

  async playlistSegments(cameraId: string, recordingId: string): Promise<PlaylistSegment[]> {
    return playlistSegmentsOf(
      await this.db.query((sql) =>
        sql`SELECT recording_id, sequence, start_ms, duration_ms, size FROM segments
          WHERE camera_id = ${cameraId} AND recording_id = ${recordingId} ORDER BY sequence`
          .values()
      ),
    );
  }

  async playlistSegmentsBetween(
    cameraId: string,
    fromMs: number,
    toMs: number,
    rendition: Rendition = "full",
  ): Promise<PlaylistSegment[]> {
    // An index-only scan of segments_time (migration 3), in its order; rows as arrays. Sorting
    // is ruled out for this read: the planner guesses a third of a range's rows pass the end-time
    // filter, and for a camera that is most of the table it then prefers a sequential scan and a
    // sort (spilled to disk at the default work_mem), three times slower than the index.
    return playlistSegmentsOf(
      await this.db.transaction(async (sql) => {
        await sql`SET LOCAL enable_sort = off`;
        return await between(sql, "playlist", cameraId, fromMs, toMs, rendition).values();
      }),
    );
  }
}

/** Data usage in PostgreSQL. */
export class PostgresUsage implements UsageRepository {
  constructor(private readonly db: Database) {}

  async list(
    fleetId: string,
    vehicleId: string,
    fromDay: string,
    toDay: string,
  ): Promise<UsageDay[]> {
    const rows = await this.db.query((sql) =>
      sql`SELECT day, camera_id, kind, bytes, objects FROM upload_usage
        WHERE vehicle_id = ${vehicleId} AND fleet_id = ${fleetId}
          AND day >= ${fromDay} AND day <= ${toDay}
        ORDER BY day, camera_id, kind`
    );
    return rows.map((row) => ({
      vehicleId,
      cameraId: row.camera_id,
      day: row.day,
      kind: row.kind as UsageKind,
      bytes: Number(row.bytes),
      objects: Number(row.objects),
    }));
  }

  async add(
    fleetId: string,
    entry: Omit<UsageDay, "objects"> & { objects?: number },
  ): Promise<void> {
    const { vehicleId, day, cameraId, kind, bytes } = entry;
    await this.db.query((sql) =>
      sql`INSERT INTO upload_usage (fleet_id, vehicle_id, day, camera_id, kind, bytes, objects)
        VALUES (${fleetId}, ${vehicleId}, ${day}, ${cameraId}, ${kind}, ${bytes},
          ${entry.objects ?? 0})
        ON CONFLICT (vehicle_id, day, camera_id, kind) DO UPDATE
        SET bytes = upload_usage.bytes + excluded.bytes,
          objects = upload_usage.objects + excluded.objects`
    );
  }
}

/** Vehicles' heartbeats in PostgreSQL. */
export class PostgresVehicleStatus implements VehicleStatusRepository {
  constructor(private readonly db: Database) {}

  async report(
    vehicleId: string,
    status: Record<string, unknown>,
    at: Date,
    keep?: HeartbeatKeep,
  ): Promise<void> {
    const json = JSON.stringify(status);
    if (!keep) {
      await this.db.query((sql) =>
        sql`INSERT INTO vehicle_status (vehicle_id, reported_at, status)
          VALUES (${vehicleId}, ${at.getTime()}, ${json})
          ON CONFLICT (vehicle_id) DO UPDATE
            SET reported_at = excluded.reported_at, status = excluded.status`
      );
      return;
    }
    await this.db.transaction(async (sql) => {
      await sql`INSERT INTO vehicle_status (vehicle_id, reported_at, status)
        VALUES (${vehicleId}, ${at.getTime()}, ${json})
        ON CONFLICT (vehicle_id) DO UPDATE
          SET reported_at = excluded.reported_at, status = excluded.status`;
      await sql`INSERT INTO vehicle_heartbeats (vehicle_id, reported_at, status)
        VALUES (${vehicleId}, ${at.getTime()}, ${json})
        ON CONFLICT (vehicle_id, reported_at) DO UPDATE SET status = excluded.status`;
      await sql`DELETE FROM vehicle_heartbeats WHERE vehicle_id = ${vehicleId}
        AND (reported_at < ${keep.since.getTime()} OR reported_at <= (
          SELECT reported_at FROM vehicle_heartbeats WHERE vehicle_id = ${vehicleId}
          ORDER BY reported_at DESC LIMIT 1 OFFSET ${keep.atMost}))`;
    });
  }

  async history(vehicleId: string, since: Date, limit: number): Promise<VehicleStatus[]> {
    const rows = await this.db.query((sql) =>
      sql`SELECT reported_at, status FROM vehicle_heartbeats
        WHERE vehicle_id = ${vehicleId} AND reported_at >= ${since.getTime()}
        ORDER BY reported_at DESC LIMIT ${limit}`
    );
    return rows.map((row) => ({
      vehicleId,
      reportedAt: toDate(row.reported_at)!,
      status: JSON.parse(row.status),
    }));
  }

  async get(vehicleId: string): Promise<VehicleStatus | undefined> {
    const [row] = await this.db.query((sql) =>
      sql`SELECT * FROM vehicle_status WHERE vehicle_id = ${vehicleId}`
    );
    return row && {
      vehicleId,
      reportedAt: toDate(row.reported_at)!,
      status: JSON.parse(row.status),
    };
  }

  async listFleet(fleetId: string): Promise<VehicleStatus[]> {
    const rows = await this.db.query((sql) =>
      sql`SELECT s.* FROM vehicle_status s JOIN vehicles v ON v.id = s.vehicle_id
        WHERE v.fleet_id = ${fleetId}`
    );
    return rows.map((row) => ({
      vehicleId: row.vehicle_id,
      reportedAt: toDate(row.reported_at)!,
      status: JSON.parse(row.status),
    }));
  }

  async cameraActivity(fleetId: string, sinceMs: number): Promise<CameraActivity[]> {
    const rows = await this.db.query((sql) =>
      sql`SELECT c.id, c.vehicle_id, c.name, c.label,
          (SELECT MAX(r.ended_at) FROM recordings r
           WHERE r.camera_id = c.id AND r.segment_count > 0) AS last_at,
          (SELECT COALESCE(SUM(g.size), 0) FROM segments g
            WHERE g.camera_id = c.id AND g.start_ms >= ${sinceMs}) AS bytes
        FROM cameras c WHERE c.fleet_id = ${fleetId} ORDER BY c.vehicle_id, c.name`
    );
    return rows.map((row) => ({
      cameraId: row.id,
      vehicleId: row.vehicle_id,
      name: row.name,
      label: row.label ?? null,
      lastSegmentAt: toDate(row.last_at),
      bytesSince: Number(row.bytes),
    }));
  }
}

/** Server secrets in PostgreSQL. */
export class PostgresSecrets implements SecretRepository {
  constructor(private readonly db: Database) {}

  async getOrCreate(name: string, generate: () => string): Promise<string> {
    const [existing] = await this.db.query((sql) =>
      sql`SELECT value FROM secrets WHERE name = ${name}`
    );
    if (existing) return existing.value;
    // Processes starting together: the first insert wins, and every one then reads the winner
    // (in a statement of its own, whose snapshot includes it).
    await this.db.query((sql) =>
      sql`INSERT INTO secrets (name, value, created_at) VALUES (${name}, ${generate()}, ${Date.now()})
        ON CONFLICT DO NOTHING`
    );
    const [row] = await this.db.query((sql) => sql`SELECT value FROM secrets WHERE name = ${name}`);
    return row.value;
  }
}
