import { newId } from "../ids.ts";
import type {
  Link,
  LinkFilter,
  LinkRepository,
  UrlSigningKey,
  UrlSigningKeyRepository,
} from "../types.ts";
import { KEY_LOCKS } from "./auth_repos.ts";
import { type Database, type Row, type Sql, toDate } from "./database.ts";

const linkOf = (row: Row): Link => ({
  id: row.id,
  kind: row.kind as Link["kind"],
  fleetId: row.fleet_id,
  vehicleId: row.vehicle_id,
  cameraId: row.camera_id,
  createdBy: row.created_by,
  createdAt: toDate(row.created_at)!,
  expiresAt: toDate(row.expires_at)!,
  fromMs: row.from_ms === null ? null : Number(row.from_ms),
  toMs: row.to_ms === null ? null : Number(row.to_ms),
  revokedAt: toDate(row.revoked_at),
});

const keyOf = (row: Row): UrlSigningKey => ({
  kid: row.kid,
  secret: row.secret,
  createdAt: toDate(row.created_at)!,
  retiredAt: toDate(row.retired_at),
  verifyUntil: toDate(row.verify_until),
});

/** The conditions (after fleet and expiry) of a filter, as a fragment starting with AND. */
function where(sql: Sql, filter: LinkFilter & { id?: string }) {
  return sql`${filter.id === undefined ? sql`` : sql`AND id = ${filter.id}`}
    ${filter.cameraId === undefined ? sql`` : sql`AND camera_id = ${filter.cameraId}`}
    ${filter.createdBy === undefined ? sql`` : sql`AND created_by = ${filter.createdBy}`}
    ${filter.kind === undefined ? sql`` : sql`AND kind = ${filter.kind}`}`;
}

/** Capability links in PostgreSQL. */
export class PostgresLinks implements LinkRepository {
  constructor(private readonly db: Database) {}

  async create(input: Omit<Link, "id" | "createdAt" | "revokedAt">): Promise<Link> {
    const link: Link = { ...input, id: newId("lnk"), createdAt: new Date(), revokedAt: null };
    await this.db.query((sql) =>
      sql`INSERT INTO links (id, kind, fleet_id, vehicle_id, camera_id, created_by, created_at,
          expires_at, from_ms, to_ms)
        VALUES (${link.id}, ${link.kind}, ${link.fleetId}, ${link.vehicleId}, ${link.cameraId},
          ${link.createdBy}, ${link.createdAt.getTime()}, ${link.expiresAt.getTime()},
          ${link.fromMs}, ${link.toMs})`
    );
    return link;
  }

  async get(fleetId: string, id: string): Promise<Link | undefined> {
    const [row] = await this.db.query((sql) =>
      sql`SELECT * FROM links WHERE fleet_id = ${fleetId} AND id = ${id}`
    );
    return row && linkOf(row);
  }

  async list(fleetId: string, filter: LinkFilter, now: Date): Promise<Link[]> {
    return (await this.db.query((sql) =>
      sql`SELECT * FROM links WHERE fleet_id = ${fleetId} AND expires_at > ${now.getTime()}
        ${where(sql, filter)} ORDER BY created_at DESC, id DESC`
    )).map(linkOf);
  }

  async revoke(
    fleetId: string,
    filter: LinkFilter & { id?: string },
    now: Date,
  ): Promise<string[]> {
    return (await this.db.query((sql) =>
      sql`UPDATE links SET revoked_at = ${now.getTime()}
        WHERE fleet_id = ${fleetId} AND expires_at > ${now.getTime()} AND revoked_at IS NULL
          ${where(sql, filter)}
        RETURNING id`
    )).map((row) => row.id as string);
  }

  async unusable(now: Date): Promise<string[]> {
    return (await this.db.query((sql) =>
      sql`SELECT l.id FROM links l LEFT JOIN users u ON u.id = l.created_by
        WHERE l.expires_at > ${now.getTime()} AND (
          l.revoked_at IS NOT NULL OR u.id IS NULL OR u.disabled
          OR (u.role <> 'owner' AND u.fleet_id IS DISTINCT FROM l.fleet_id)
          OR (l.kind = 'live' AND u.role NOT IN ('owner', 'admin', 'operator'))
        )`
    )).map((row) => row.id as string);
  }

  async prune(before: Date): Promise<number> {
    return (await this.db.query((sql) =>
      sql`DELETE FROM links WHERE expires_at < ${before.getTime()}`
    )).count;
  }
}

/** URL signing keys in PostgreSQL. */
export class PostgresUrlSigningKeys implements UrlSigningKeyRepository {
  constructor(private readonly db: Database) {}

  async list(): Promise<UrlSigningKey[]> {
    return (await this.db.query((sql) =>
      sql`SELECT * FROM url_signing_keys ORDER BY created_at, kid`
    )).map(keyOf);
  }

  addFirst(key: UrlSigningKey): Promise<boolean> {
    // Under a lock: of processes starting together on an empty catalog, one adds the first key.
    return this.db.transaction(async (sql) => {
      await sql`SELECT pg_advisory_xact_lock(${KEY_LOCKS.urlSigningKeys})`;
      if ((await sql`SELECT 1 FROM url_signing_keys LIMIT 1`).length > 0) return false;
      await sql`INSERT INTO url_signing_keys (kid, secret, created_at)
        VALUES (${key.kid}, ${key.secret}, ${key.createdAt.getTime()})`;
      return true;
    });
  }

  async activate(key: UrlSigningKey, verifyUntil: Date): Promise<void> {
    await this.db.transaction(async (sql) => {
      await sql`SELECT pg_advisory_xact_lock(${KEY_LOCKS.urlSigningKeys})`;
      await sql`UPDATE url_signing_keys
        SET retired_at = ${key.createdAt.getTime()}, verify_until = ${verifyUntil.getTime()}
        WHERE retired_at IS NULL`;
      await sql`INSERT INTO url_signing_keys (kid, secret, created_at)
        VALUES (${key.kid}, ${key.secret}, ${key.createdAt.getTime()})`;
    });
  }

  async prune(now: Date): Promise<number> {
    return (await this.db.query((sql) =>
      sql`DELETE FROM url_signing_keys
        WHERE retired_at IS NOT NULL AND verify_until <= ${now.getTime()}`
    )).count;
  }
}
