import type { RetimeRepository } from "../types.ts";
import type { Database } from "./database.ts";

/**
 * Re-timed recordings' clock offsets in PostgreSQL, shared by every ingest process. The insert
 * that loses a race waits for the winner's commit and does nothing; the read after it is a new
 * statement, so it sees the winner's offset (one statement would not, under READ COMMITTED).
 */
export class PostgresRetimes implements RetimeRepository {
  constructor(private readonly db: Database) {}

  async claim(
    cameraId: string,
    recordingId: string,
    deltaMs: number,
    replacing?: number,
  ): Promise<number> {
    return await this.db.query(async (sql) => {
      if (replacing !== undefined) {
        await sql`UPDATE recording_retimes SET delta_ms = ${deltaMs}, created_at = ${Date.now()}
          WHERE camera_id = ${cameraId} AND recording_id = ${recordingId}
            AND delta_ms = ${replacing}`;
      }
      // A camera deleted meanwhile takes no row: its uploads' events are dropped anyway.
      const [inserted] = await sql`INSERT INTO recording_retimes
          (camera_id, recording_id, delta_ms, created_at)
        SELECT ${cameraId}, ${recordingId}, ${deltaMs}, ${Date.now()}
        WHERE EXISTS (SELECT 1 FROM cameras WHERE id = ${cameraId})
        ON CONFLICT DO NOTHING RETURNING delta_ms`;
      if (inserted) return Number(inserted.delta_ms);
      const [row] = await sql`SELECT delta_ms FROM recording_retimes
        WHERE camera_id = ${cameraId} AND recording_id = ${recordingId}`;
      return row ? Number(row.delta_ms) : deltaMs;
    });
  }

  async get(cameraId: string, recordingId: string): Promise<number | undefined> {
    const [row] = await this.db.query((sql) =>
      sql`SELECT delta_ms FROM recording_retimes
        WHERE camera_id = ${cameraId} AND recording_id = ${recordingId}`
    );
    return row ? Number(row.delta_ms) : undefined;
  }
}
