import { newId } from "../ids.ts";
import type {
  CredentialRepository,
  DeviceCredential,
  PasswordResetRepository,
  RefreshToken,
  SessionFamily,
  SessionRepository,
  SigningKey,
  SigningKeyRepository,
} from "../types.ts";
import { type Database, type Row, toDate } from "./database.ts";

/** Advisory transaction locks that serialise key rotations across processes. */
export const KEY_LOCKS = { signingKeys: 1, urlSigningKeys: 2 } as const;

const credentialOf = (row: Row): DeviceCredential => ({
  id: row.id,
  fleetId: row.fleet_id,
  vehicleId: row.vehicle_id,
  enrolmentExpiresAt: toDate(row.enrolment_expires_at)!,
  enrolledAt: toDate(row.enrolled_at),
  publicJwk: row.public_jwk === null ? null : JSON.parse(row.public_jwk),
  revokedAt: toDate(row.revoked_at),
  createdAt: toDate(row.created_at)!,
});

const familyOf = (row: Row): SessionFamily => ({
  id: row.id,
  userId: row.user_id,
  createdAt: toDate(row.created_at)!,
  expiresAt: toDate(row.expires_at)!,
  revokedAt: toDate(row.revoked_at),
  revokedReason: row.revoked_reason ?? null,
});

const tokenOf = (row: Row): RefreshToken => ({
  tokenHash: row.token_hash,
  familyId: row.family_id,
  expiresAt: toDate(row.expires_at)!,
  rotatedAt: toDate(row.rotated_at),
});

/** Device credentials in PostgreSQL. */
export class PostgresCredentials implements CredentialRepository {
  constructor(private readonly db: Database) {}

  async create(
    input: { fleetId: string; vehicleId: string; codeHash: string; enrolmentExpiresAt: Date },
  ): Promise<DeviceCredential> {
    const credential: DeviceCredential = {
      id: newId("crd"),
      fleetId: input.fleetId,
      vehicleId: input.vehicleId,
      enrolmentExpiresAt: input.enrolmentExpiresAt,
      enrolledAt: null,
      publicJwk: null,
      revokedAt: null,
      createdAt: new Date(),
    };
    await this.db.query(
      (sql) =>
        sql`INSERT INTO device_credentials
          (id, fleet_id, vehicle_id, code_hash, enrolment_expires_at, created_at)
          VALUES (${credential.id}, ${credential.fleetId}, ${credential.vehicleId},
            ${input.codeHash}, ${input.enrolmentExpiresAt.getTime()},
            ${credential.createdAt.getTime()})`,
      "Enrolment code collision; try again",
    );
    return credential;
  }

  async get(id: string): Promise<DeviceCredential | undefined> {
    const [row] = await this.db.query((sql) =>
      sql`SELECT * FROM device_credentials WHERE id = ${id}`
    );
    return row && credentialOf(row);
  }

  async list(fleetId: string, vehicleId: string): Promise<DeviceCredential[]> {
    return (await this.db.query((sql) =>
      sql`SELECT * FROM device_credentials WHERE fleet_id = ${fleetId}
        AND vehicle_id = ${vehicleId} ORDER BY created_at, id`
    )).map(credentialOf);
  }

  async enrol(
    codeHash: string,
    publicJwk: JsonWebKey,
    now: Date,
  ): Promise<DeviceCredential | undefined> {
    // One statement: of two concurrent redemptions, the second re-reads the row after the first
    // commits, sees it enrolled, and changes nothing.
    const [row] = await this.db.query((sql) =>
      sql`UPDATE device_credentials
        SET enrolled_at = ${now.getTime()}, public_jwk = ${JSON.stringify(publicJwk)}
        WHERE code_hash = ${codeHash} AND enrolled_at IS NULL AND revoked_at IS NULL
          AND enrolment_expires_at > ${now.getTime()}
        RETURNING *`
    );
    return row && credentialOf(row);
  }

  async revoke(fleetId: string, id: string, now: Date): Promise<DeviceCredential | undefined> {
    const [row] = await this.db.query((sql) =>
      sql`UPDATE device_credentials SET revoked_at = coalesce(revoked_at, ${now.getTime()})
        WHERE fleet_id = ${fleetId} AND id = ${id} RETURNING *`
    );
    return row && credentialOf(row);
  }

  useAssertion(jti: string, expiresAt: Date, now: Date): Promise<boolean> {
    return this.db.transaction(async (sql) => {
      await sql`DELETE FROM device_assertions WHERE expires_at < ${now.getTime()}`;
      const inserted = await sql`INSERT INTO device_assertions (jti, expires_at)
        VALUES (${jti}, ${expiresAt.getTime()}) ON CONFLICT DO NOTHING`;
      return inserted.count === 1;
    });
  }
}

/** Refresh-token families in PostgreSQL. */
export class PostgresSessions implements SessionRepository {
  constructor(private readonly db: Database) {}

  async createFamily(input: { userId: string; expiresAt: Date }): Promise<SessionFamily> {
    const family: SessionFamily = {
      id: newId("ses"),
      userId: input.userId,
      createdAt: new Date(),
      expiresAt: input.expiresAt,
      revokedAt: null,
      revokedReason: null,
    };
    await this.db.query((sql) =>
      sql`INSERT INTO session_families (id, user_id, created_at, expires_at)
        VALUES (${family.id}, ${family.userId}, ${family.createdAt.getTime()},
          ${family.expiresAt.getTime()})`
    );
    return family;
  }

  async getFamily(id: string): Promise<SessionFamily | undefined> {
    const [row] = await this.db.query((sql) =>
      sql`SELECT * FROM session_families WHERE id = ${id}`
    );
    return row && familyOf(row);
  }

  async addToken(token: RefreshToken): Promise<void> {
    await this.db.query((sql) =>
      sql`INSERT INTO refresh_tokens (token_hash, family_id, expires_at, rotated_at)
        VALUES (${token.tokenHash}, ${token.familyId}, ${token.expiresAt.getTime()},
          ${token.rotatedAt?.getTime() ?? null})`
    );
  }

  async getToken(tokenHash: string): Promise<RefreshToken | undefined> {
    const [row] = await this.db.query((sql) =>
      sql`SELECT * FROM refresh_tokens WHERE token_hash = ${tokenHash}`
    );
    return row && tokenOf(row);
  }

  rotate(tokenHash: string, next: RefreshToken, now: Date): Promise<boolean> {
    // The UPDATE locks the row: a concurrent rotation of the same token waits, re-reads it
    // rotated, changes nothing and stores nothing.
    return this.db.transaction(async (sql) => {
      const changed = await sql`UPDATE refresh_tokens SET rotated_at = ${now.getTime()}
        WHERE token_hash = ${tokenHash} AND rotated_at IS NULL`;
      if (changed.count !== 1) return false;
      await sql`INSERT INTO refresh_tokens (token_hash, family_id, expires_at)
        VALUES (${next.tokenHash}, ${next.familyId}, ${next.expiresAt.getTime()})`;
      return true;
    });
  }

  async revokeFamily(id: string, reason: string, now: Date): Promise<void> {
    await this.db.query((sql) =>
      sql`UPDATE session_families SET revoked_at = ${now.getTime()}, revoked_reason = ${reason}
        WHERE id = ${id} AND revoked_at IS NULL`
    );
  }

  async revokeUser(userId: string, reason: string, now: Date): Promise<void> {
    await this.db.query((sql) =>
      sql`UPDATE session_families SET revoked_at = ${now.getTime()}, revoked_reason = ${reason}
        WHERE user_id = ${userId} AND revoked_at IS NULL`
    );
  }

  async prune(now: Date): Promise<number> {
    return (await this.db.query((sql) =>
      sql`DELETE FROM session_families WHERE expires_at < ${now.getTime()}`
    )).count;
  }
}

/** One-time password reset codes in PostgreSQL. */
export class PostgresPasswordResets implements PasswordResetRepository {
  constructor(private readonly db: Database) {}

  async issue(
    input: { userId: string; codeHash: string; expiresAt: Date },
    now: Date,
  ): Promise<void> {
    await this.db.transaction(async (sql) => {
      await sql`UPDATE password_resets SET revoked_at = ${now.getTime()}
        WHERE user_id = ${input.userId} AND used_at IS NULL AND revoked_at IS NULL`;
      await sql`INSERT INTO password_resets (code_hash, user_id, created_at, expires_at)
        VALUES (${input.codeHash}, ${input.userId}, ${now.getTime()}, ${input.expiresAt.getTime()})`;
    });
  }

  async redeem(codeHash: string, now: Date): Promise<string | undefined> {
    // One statement: of two concurrent uses, the second re-reads the row after the first commits.
    const [row] = await this.db.query((sql) =>
      sql`UPDATE password_resets SET used_at = ${now.getTime()}
        WHERE code_hash = ${codeHash} AND used_at IS NULL AND revoked_at IS NULL
          AND expires_at > ${now.getTime()}
        RETURNING user_id`
    );
    return row && String(row.user_id);
  }

  async revokeUser(userId: string, now: Date): Promise<void> {
    await this.db.query((sql) =>
      sql`UPDATE password_resets SET revoked_at = ${now.getTime()}
        WHERE user_id = ${userId} AND used_at IS NULL AND revoked_at IS NULL`
    );
  }
}

/** JWT signing keys in PostgreSQL. */
export class PostgresSigningKeys implements SigningKeyRepository {
  constructor(private readonly db: Database) {}

  async list(): Promise<SigningKey[]> {
    return (await this.db.query((sql) => sql`SELECT * FROM signing_keys ORDER BY created_at, kid`))
      .map((row) => ({
        kid: row.kid,
        privateJwk: JSON.parse(row.private_jwk),
        publicJwk: JSON.parse(row.public_jwk),
        createdAt: toDate(row.created_at)!,
        retiredAt: toDate(row.retired_at),
      }));
  }

  async activate(key: SigningKey): Promise<void> {
    // Under a lock: two processes rotating at once leave one active key, not two.
    await this.db.transaction(async (sql) => {
      await sql`SELECT pg_advisory_xact_lock(${KEY_LOCKS.signingKeys})`;
      await sql`UPDATE signing_keys SET retired_at = ${key.createdAt.getTime()}
        WHERE retired_at IS NULL`;
      await sql`INSERT INTO signing_keys (kid, private_jwk, public_jwk, created_at)
        VALUES (${key.kid}, ${JSON.stringify(key.privateJwk)}, ${JSON.stringify(key.publicJwk)},
          ${key.createdAt.getTime()})`;
    });
  }

  async delete(kid: string): Promise<void> {
    await this.db.query((sql) => sql`DELETE FROM signing_keys WHERE kid = ${kid}`);
  }
}
