import type { RetimeRepository } from "../types.ts";
import type { Database } from "./database.ts";

/** Re-timed recordings' clock offsets in SQLite: one writer at a time, the first offset stays. */
export class SqliteRetimes implements RetimeRepository {
  constructor(private readonly db: Database) {}

  claim(
    cameraId: string,
    recordingId: string,
    deltaMs: number,
    replacing?: number,
  ): Promise<number> {
    return Promise.resolve(this.db.transaction(() => {
      if (replacing !== undefined) {
        this.db.run(
          `UPDATE recording_retimes SET delta_ms = ?, created_at = ?
           WHERE camera_id = ? AND recording_id = ? AND delta_ms = ?`,
          deltaMs,
          Date.now(),
          cameraId,
          recordingId,
          replacing,
        );
      }
      // A camera deleted meanwhile takes no row: its uploads' events are dropped anyway.
      this.db.run(
        `INSERT INTO recording_retimes (camera_id, recording_id, delta_ms, created_at)
         SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM cameras WHERE id = ?)
         ON CONFLICT DO NOTHING`,
        cameraId,
        recordingId,
        deltaMs,
        Date.now(),
        cameraId,
      );
      const row = this.db.get(
        "SELECT delta_ms FROM recording_retimes WHERE camera_id = ? AND recording_id = ?",
        cameraId,
        recordingId,
      );
      return row ? Number(row.delta_ms) : deltaMs;
    }));
  }

  get(cameraId: string, recordingId: string): Promise<number | undefined> {
    const row = this.db.get(
      "SELECT delta_ms FROM recording_retimes WHERE camera_id = ? AND recording_id = ?",
      cameraId,
      recordingId,
    );
    return Promise.resolve(row ? Number(row.delta_ms) : undefined);
  }
}
