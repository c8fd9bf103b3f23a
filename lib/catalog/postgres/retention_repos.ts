import type { ExpiredCount, ExpiredObject, RetentionRepository } from "../types.ts";
import type { Database, Row } from "./database.ts";

/** A recording left without segments: out of every time range (as an init-only one is). */
const EMPTY_START = Number.MAX_SAFE_INTEGER;

const expiredObjectOf = (row: Row): ExpiredObject => ({
  key: row.object_key,
  kind: row.kind,
  size: Number(row.size),
});

/**
 * Retention's reads and deletions in PostgreSQL. Sweepers in several processes may run at once:
 * each row is deleted by one transaction only (the others find it gone and count nothing), the
 * recordings a batch narrows are locked in key order as the indexer locks them, and a recording
 * is deleted only while it still holds no segment.
 */
export class PostgresRetention implements RetentionRepository {
  constructor(private readonly db: Database) {}

  async expired(fleetId: string, cutoffMs: number): Promise<ExpiredCount> {
    const [segments] = await this.db.query((sql) =>
      sql`SELECT count(*) AS n, coalesce(sum(s.size), 0) AS bytes
        FROM cameras c JOIN segments s ON s.camera_id = c.id
        WHERE c.fleet_id = ${fleetId} AND s.start_ms < ${cutoffMs}
          AND s.start_ms + s.duration_ms <= ${cutoffMs}`
    );
    const [recordings] = await this.db.query((sql) =>
      sql`SELECT count(*) AS n FROM recordings
        WHERE fleet_id = ${fleetId} AND ended_at <= ${cutoffMs} AND closed_at IS NOT NULL
          AND closed_at <= ${cutoffMs}`
    );
    return {
      segments: Number(segments.n),
      bytes: Number(segments.bytes),
      recordings: Number(recordings.n),
    };
  }

  async cameraIds(fleetId: string): Promise<string[]> {
    return (await this.db.query((sql) =>
      sql`SELECT id FROM cameras WHERE fleet_id = ${fleetId} ORDER BY id`
    )).map((row) => row.id);
  }

  async expireSegments(cameraId: string, cutoffMs: number, limit: number): Promise<number> {
    return await this.db.transaction(async (sql) => {
      // From segments_time, in start order: a batch reads what it deletes.
      const candidates = await sql`SELECT recording_id, sequence FROM segments
        WHERE camera_id = ${cameraId} AND start_ms < ${cutoffMs}
          AND start_ms + duration_ms <= ${cutoffMs}
        ORDER BY start_ms LIMIT ${limit}`;
      if (candidates.length === 0) return 0;
      const recordingIds = [...new Set(candidates.map((row) => row.recording_id as string))];
      // The recordings first, in key order as the indexer locks them: no deadlock with it.
      await sql`SELECT 1 FROM recordings
        WHERE camera_id = ${cameraId} AND id = ANY(${sql.array(recordingIds)}::text[])
        ORDER BY id FOR UPDATE`;
      // Rows another sweeper deleted meanwhile are not found, so each is counted once.
      const deleted = await sql`DELETE FROM segments
        WHERE camera_id = ${cameraId} AND (recording_id, sequence) IN (
          SELECT * FROM unnest(${sql.array(candidates.map((row) => row.recording_id))}::text[],
            ${sql.array(candidates.map((row) => String(row.sequence)))}::bigint[]))
        RETURNING recording_id, size, object_key`;
      if (deleted.length === 0) return 0;
      await sql`INSERT INTO expired_objects (object_key, kind, size, queued_at)
        SELECT k, 'segment', s, ${Date.now()}
        FROM unnest(${sql.array(deleted.map((row) => row.object_key))}::text[],
          ${sql.array(deleted.map((row) => String(row.size)))}::bigint[]) AS t(k, s)
        ON CONFLICT DO NOTHING`;
      // The recordings' counts and starts change with their segments (playlists' caches see it).
      await sql`UPDATE recordings r SET segment_count = r.segment_count - d.n,
          started_at = CASE WHEN r.segment_count <= d.n THEN ${EMPTY_START} ELSE coalesce(
            (SELECT s.start_ms FROM segments s WHERE s.camera_id = r.camera_id
              AND s.recording_id = r.id ORDER BY s.start_ms LIMIT 1), ${EMPTY_START}) END
        FROM (SELECT id, count(*) AS n
          FROM unnest(${sql.array(deleted.map((row) => row.recording_id))}::text[]) AS t(id)
          GROUP BY id) d
        WHERE r.camera_id = ${cameraId} AND r.id = d.id`;
      return deleted.length;
    });
  }

  async expireRecordings(fleetId: string, cutoffMs: number, limit: number): Promise<string[]> {
    return await this.db.transaction(async (sql) => {
      // A segment indexed meanwhile (its transaction holds the row) keeps the recording.
      const deleted = await sql`DELETE FROM recordings WHERE (camera_id, id) IN (
          SELECT camera_id, id FROM recordings
          WHERE fleet_id = ${fleetId} AND ended_at <= ${cutoffMs} AND closed_at IS NOT NULL
            AND closed_at <= ${cutoffMs} AND segment_count = 0
          ORDER BY camera_id, id LIMIT ${limit} FOR UPDATE SKIP LOCKED)
        AND segment_count = 0
        RETURNING camera_id, id, init_key`;
      if (deleted.length) {
        // A re-timed recording's clock offset goes with it.
        await sql`DELETE FROM recording_retimes WHERE (camera_id, recording_id) IN (
            SELECT * FROM unnest(${sql.array(deleted.map((row) => row.camera_id))}::text[],
              ${sql.array(deleted.map((row) => row.id))}::text[]))`;
      }
      const inits = deleted.filter((row) => row.init_key !== null).map((row) => row.init_key);
      if (inits.length) {
        await sql`INSERT INTO expired_objects (object_key, kind, size, queued_at)
          SELECT k, 'init', 0, ${Date.now()} FROM unnest(${sql.array(inits)}::text[]) AS t(k)
          ON CONFLICT DO NOTHING`;
      }
      return deleted.map((row) => row.camera_id as string);
    });
  }

  async queued(limit: number): Promise<ExpiredObject[]> {
    return (await this.db.query((sql) =>
      sql`SELECT * FROM expired_objects ORDER BY queued_at LIMIT ${limit}`
    )).map(expiredObjectOf);
  }

  async forget(keys: readonly string[]): Promise<ExpiredObject[]> {
    if (keys.length === 0) return [];
    return (await this.db.query((sql) =>
      sql`DELETE FROM expired_objects WHERE object_key = ANY(${sql.array([...keys])}::text[])
        RETURNING *`
    )).map(expiredObjectOf);
  }
}
