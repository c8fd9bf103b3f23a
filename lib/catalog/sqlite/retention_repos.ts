import type { ExpiredCount, ExpiredObject, RetentionRepository } from "../types.ts";
import type { Database, Row } from "./database.ts";

/** A camera's segments that ended by a cutoff, read from segments_time in start order. */
const EXPIRED_SEGMENTS = `camera_id = ? AND start_ms < ? AND start_ms + duration_ms <= ?`;

/** A fleet's recordings that are over by a cutoff: ended by then, and closed by the vehicle. */
const OVER = `fleet_id = ? AND ended_at <= ? AND closed_at IS NOT NULL AND closed_at <= ?`;

/** A recording left without segments: out of every time range (as an init-only one is). */
const EMPTY_START = Number.MAX_SAFE_INTEGER;

const expiredObjectOf = (row: Row): ExpiredObject => ({
  key: String(row.object_key),
  kind: String(row.kind) as ExpiredObject["kind"],
  size: Number(row.size),
});

/** Retention's reads and deletions in SQLite (one writer at a time: each batch a transaction). */
export class SqliteRetention implements RetentionRepository {
  constructor(private readonly db: Database) {}

  expired(fleetId: string, cutoffMs: number): Promise<ExpiredCount> {
    const segments = this.db.get(
      `SELECT count(*) AS n, coalesce(sum(s.size), 0) AS bytes
       FROM cameras c JOIN segments s ON s.camera_id = c.id
       WHERE c.fleet_id = ? AND s.start_ms < ? AND s.start_ms + s.duration_ms <= ?`,
      fleetId,
      cutoffMs,
      cutoffMs,
    )!;
    const recordings = this.db.get(
      `SELECT count(*) AS n FROM recordings WHERE ${OVER}`,
      fleetId,
      cutoffMs,
      cutoffMs,
    )!;
    return Promise.resolve({
      segments: Number(segments.n),
      bytes: Number(segments.bytes),
      recordings: Number(recordings.n),
    });
  }

  cameraIds(fleetId: string): Promise<string[]> {
    return Promise.resolve(
      this.db.all("SELECT id FROM cameras WHERE fleet_id = ? ORDER BY id", fleetId)
        .map((row) => String(row.id)),
    );
  }

  expireSegments(cameraId: string, cutoffMs: number, limit: number): Promise<number> {
    return Promise.resolve(this.db.transaction(() => {
      const rows = this.db.all(
        `SELECT recording_id, sequence, size, object_key FROM segments
         WHERE ${EXPIRED_SEGMENTS} ORDER BY start_ms LIMIT ?`,
        cameraId,
        cutoffMs,
        cutoffMs,
        limit,
      );
      const now = Date.now();
      const removed = new Map<string, number>();
      for (const row of rows) {
        this.db.run(
          "DELETE FROM segments WHERE camera_id = ? AND recording_id = ? AND sequence = ?",
          cameraId,
          row.recording_id,
          row.sequence,
        );
        this.db.run(
          `INSERT INTO expired_objects (object_key, kind, size, queued_at)
           VALUES (?, 'segment', ?, ?) ON CONFLICT DO NOTHING`,
          row.object_key,
          row.size,
          now,
        );
        const recordingId = String(row.recording_id);
        removed.set(recordingId, (removed.get(recordingId) ?? 0) + 1);
      }
      // The recordings' counts and starts change with their segments (playlists' caches see it).
      // A recording's first segment left is near the start of its camera's segments_time entries,
      // now that the older ones are gone; an emptied recording needs no look.
      for (const [recordingId, count] of removed) {
        this.db.run(
          `UPDATE recordings SET segment_count = segment_count - ?,
             started_at = CASE WHEN segment_count <= ? THEN ? ELSE coalesce(
               (SELECT start_ms FROM segments WHERE camera_id = ? AND recording_id = ?
                ORDER BY start_ms LIMIT 1), ?) END
           WHERE camera_id = ? AND id = ?`,
          count,
          count,
          EMPTY_START,
          cameraId,
          recordingId,
          EMPTY_START,
          cameraId,
          recordingId,
        );
      }
      return rows.length;
    }));
  }

  expireRecordings(fleetId: string, cutoffMs: number, limit: number): Promise<string[]> {
    return Promise.resolve(this.db.transaction(() => {
      const rows = this.db.all(
        `SELECT camera_id, id, init_key FROM recordings WHERE ${OVER} AND segment_count = 0
         LIMIT ?`,
        fleetId,
        cutoffMs,
        cutoffMs,
        limit,
      );
      const now = Date.now();
      for (const row of rows) {
        this.db.run("DELETE FROM recordings WHERE camera_id = ? AND id = ?", row.camera_id, row.id);
        this.db.run(
          "DELETE FROM recording_retimes WHERE camera_id = ? AND recording_id = ?",
          row.camera_id,
          row.id,
        );
        if (row.init_key === null) continue;
        this.db.run(
          `INSERT INTO expired_objects (object_key, kind, size, queued_at)
           VALUES (?, 'init', 0, ?) ON CONFLICT DO NOTHING`,
          row.init_key,
          now,
        );
      }
      return rows.map((row) => String(row.camera_id));
    }));
  }

  queued(limit: number): Promise<ExpiredObject[]> {
    return Promise.resolve(
      this.db.all("SELECT * FROM expired_objects ORDER BY queued_at LIMIT ?", limit)
        .map(expiredObjectOf),
    );
  }

  forget(keys: readonly string[]): Promise<ExpiredObject[]> {
    return Promise.resolve(this.db.transaction(() => {
      const forgotten: ExpiredObject[] = [];
      for (const key of keys) {
        const row = this.db.get(
          "DELETE FROM expired_objects WHERE object_key = ? RETURNING *",
          key,
        );
        if (row) forgotten.push(expiredObjectOf(row));
      }
      return forgotten;
    }));
  }
}
