import type { SQLInputValue } from "node:sqlite";
import { newId } from "../ids.ts";
import type {
  Link,
  LinkFilter,
  LinkRepository,
  UrlSigningKey,
  UrlSigningKeyRepository,
} from "../types.ts";
import { type Database, type Row, toDate } from "./database.ts";

const linkOf = (row: Row): Link => ({
  id: String(row.id),
  kind: String(row.kind) as Link["kind"],
  fleetId: String(row.fleet_id),
  vehicleId: String(row.vehicle_id),
  cameraId: String(row.camera_id),
  createdBy: String(row.created_by),
  createdAt: toDate(row.created_at)!,
  expiresAt: toDate(row.expires_at)!,
  fromMs: row.from_ms === null ? null : Number(row.from_ms),
  toMs: row.to_ms === null ? null : Number(row.to_ms),
  revokedAt: toDate(row.revoked_at),
});

const keyOf = (row: Row): UrlSigningKey => ({
  kid: String(row.kid),
  secret: String(row.secret),
  createdAt: toDate(row.created_at)!,
  retiredAt: toDate(row.retired_at),
  verifyUntil: toDate(row.verify_until),
});

/** The WHERE clause (after fleet and expiry) of a filter, and its parameters. */
function where(filter: LinkFilter & { id?: string }): { sql: string; params: SQLInputValue[] } {
  const parts: string[] = [];
  const params: SQLInputValue[] = [];
  for (
    const [column, value] of [
      ["id", filter.id],
      ["camera_id", filter.cameraId],
      ["created_by", filter.createdBy],
      ["kind", filter.kind],
    ] as const
  ) {
    if (value === undefined) continue;
    parts.push(` AND ${column} = ?`);
    params.push(value);
  }
  return { sql: parts.join(""), params };
}

/** Capability links in SQLite. */
export class SqliteLinks implements LinkRepository {
  constructor(private readonly db: Database) {}

  create(input: Omit<Link, "id" | "createdAt" | "revokedAt">): Promise<Link> {
    const link: Link = { ...input, id: newId("lnk"), createdAt: new Date(), revokedAt: null };
    this.db.run(
      `INSERT INTO links (id, kind, fleet_id, vehicle_id, camera_id, created_by, created_at,
         expires_at, from_ms, to_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      link.id,
      link.kind,
      link.fleetId,
      link.vehicleId,
      link.cameraId,
      link.createdBy,
      link.createdAt.getTime(),
      link.expiresAt.getTime(),
      link.fromMs,
      link.toMs,
    );
    return Promise.resolve(link);
  }

  get(fleetId: string, id: string): Promise<Link | undefined> {
    const row = this.db.get("SELECT * FROM links WHERE fleet_id = ? AND id = ?", fleetId, id);
    return Promise.resolve(row && linkOf(row));
  }

  list(fleetId: string, filter: LinkFilter, now: Date): Promise<Link[]> {
    const { sql, params } = where(filter);
    return Promise.resolve(
      this.db.all(
        `SELECT * FROM links WHERE fleet_id = ? AND expires_at > ?${sql} ORDER BY created_at DESC`,
        fleetId,
        now.getTime(),
        ...params,
      ).map(linkOf),
    );
  }

  revoke(fleetId: string, filter: LinkFilter & { id?: string }, now: Date): Promise<string[]> {
    const { sql, params } = where(filter);
    return Promise.resolve(
      this.db.all(
        `UPDATE links SET revoked_at = ?
         WHERE fleet_id = ? AND expires_at > ? AND revoked_at IS NULL${sql} RETURNING id`,
        now.getTime(),
        fleetId,
        now.getTime(),
        ...params,
      ).map((row) => String(row.id)),
    );
  }

  unusable(now: Date): Promise<string[]> {
    return Promise.resolve(
      this.db.all(
        `SELECT l.id FROM links l LEFT JOIN users u ON u.id = l.created_by
         WHERE l.expires_at > ? AND (
           l.revoked_at IS NOT NULL OR u.id IS NULL OR u.disabled <> 0
           OR (u.role <> 'owner' AND u.fleet_id IS NOT l.fleet_id)
           OR (l.kind = 'live' AND u.role NOT IN ('owner', 'admin', 'operator'))
         )`,
        now.getTime(),
      ).map((row) => String(row.id)),
    );
  }

  prune(before: Date): Promise<number> {
    return Promise.resolve(this.db.run("DELETE FROM links WHERE expires_at < ?", before.getTime()));
  }
}

/** URL signing keys in SQLite. */
export class SqliteUrlSigningKeys implements UrlSigningKeyRepository {
  constructor(private readonly db: Database) {}

  list(): Promise<UrlSigningKey[]> {
    return Promise.resolve(
      this.db.all("SELECT * FROM url_signing_keys ORDER BY created_at, kid").map(keyOf),
    );
  }

  addFirst(key: UrlSigningKey): Promise<boolean> {
    return Promise.resolve(this.db.transaction(() => {
      if (this.db.get("SELECT 1 AS one FROM url_signing_keys LIMIT 1")) return false;
      this.db.run(
        "INSERT INTO url_signing_keys (kid, secret, created_at) VALUES (?, ?, ?)",
        key.kid,
        key.secret,
        key.createdAt.getTime(),
      );
      return true;
    }));
  }

  activate(key: UrlSigningKey, verifyUntil: Date): Promise<void> {
    this.db.transaction(() => {
      this.db.run(
        "UPDATE url_signing_keys SET retired_at = ?, verify_until = ? WHERE retired_at IS NULL",
        key.createdAt.getTime(),
        verifyUntil.getTime(),
      );
      this.db.run(
        "INSERT INTO url_signing_keys (kid, secret, created_at) VALUES (?, ?, ?)",
        key.kid,
        key.secret,
        key.createdAt.getTime(),
      );
    });
    return Promise.resolve();
  }

  prune(now: Date): Promise<number> {
    return Promise.resolve(
      this.db.run(
        "DELETE FROM url_signing_keys WHERE retired_at IS NOT NULL AND verify_until <= ?",
        now.getTime(),
      ),
    );
  }
}
