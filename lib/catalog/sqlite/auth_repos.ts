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

const credentialOf = (row: Row): DeviceCredential => ({
  id: String(row.id),
  fleetId: String(row.fleet_id),
  vehicleId: String(row.vehicle_id),
  enrolmentExpiresAt: toDate(row.enrolment_expires_at)!,
  enrolledAt: toDate(row.enrolled_at),
  publicJwk: row.public_jwk === null ? null : JSON.parse(String(row.public_jwk)),
  revokedAt: toDate(row.revoked_at),
  createdAt: toDate(row.created_at)!,
});

const familyOf = (row: Row): SessionFamily => ({
  id: String(row.id),
  userId: String(row.user_id),
  createdAt: toDate(row.created_at)!,
  expiresAt: toDate(row.expires_at)!,
  revokedAt: toDate(row.revoked_at),
  revokedReason: row.revoked_reason === null ? null : String(row.revoked_reason),
});

const tokenOf = (row: Row): RefreshToken => ({
  tokenHash: String(row.token_hash),
  familyId: String(row.family_id),
  expiresAt: toDate(row.expires_at)!,
  rotatedAt: toDate(row.rotated_at),
});

/** Device credentials in SQLite. */
export class SqliteCredentials implements CredentialRepository {
  constructor(private readonly db: Database) {}

  create(
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
    this.db.insert(
      "INSERT INTO device_credentials (id, fleet_id, vehicle_id, code_hash, enrolment_expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?)",
      "Enrolment code collision; try again",
      credential.id,
      credential.fleetId,
      credential.vehicleId,
      input.codeHash,
      input.enrolmentExpiresAt.getTime(),
      credential.createdAt.getTime(),
    );
    return Promise.resolve(credential);
  }

  get(id: string): Promise<DeviceCredential | undefined> {
    const row = this.db.get("SELECT * FROM device_credentials WHERE id = ?", id);
    return Promise.resolve(row && credentialOf(row));
  }

  list(fleetId: string, vehicleId: string): Promise<DeviceCredential[]> {
    return Promise.resolve(
      this.db.all(
        "SELECT * FROM device_credentials WHERE fleet_id = ? AND vehicle_id = ? ORDER BY created_at",
        fleetId,
        vehicleId,
      ).map(credentialOf),
    );
  }

  enrol(codeHash: string, publicJwk: JsonWebKey, now: Date): Promise<DeviceCredential | undefined> {
    const row = this.db.get(
      `UPDATE device_credentials SET enrolled_at = ?, public_jwk = ?
       WHERE code_hash = ? AND enrolled_at IS NULL AND revoked_at IS NULL AND enrolment_expires_at > ?
       RETURNING *`,
      now.getTime(),
      JSON.stringify(publicJwk),
      codeHash,
      now.getTime(),
    );
    return Promise.resolve(row && credentialOf(row));
  }

  async revoke(fleetId: string, id: string, now: Date): Promise<DeviceCredential | undefined> {
    this.db.run(
      "UPDATE device_credentials SET revoked_at = coalesce(revoked_at, ?) WHERE fleet_id = ? AND id = ?",
      now.getTime(),
      fleetId,
      id,
    );
    const credential = await this.get(id);
    return credential?.fleetId === fleetId ? credential : undefined;
  }

  useAssertion(jti: string, expiresAt: Date, now: Date): Promise<boolean> {
    return Promise.resolve(this.db.transaction(() => {
      this.db.run("DELETE FROM device_assertions WHERE expires_at < ?", now.getTime());
      return this.db.run(
        "INSERT INTO device_assertions (jti, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
        jti,
        expiresAt.getTime(),
      ) === 1;
    }));
  }
}

/** Refresh-token families in SQLite. */
export class SqliteSessions implements SessionRepository {
  constructor(private readonly db: Database) {}

  createFamily(input: { userId: string; expiresAt: Date }): Promise<SessionFamily> {
    const family: SessionFamily = {
      id: newId("ses"),
      userId: input.userId,
      createdAt: new Date(),
      expiresAt: input.expiresAt,
      revokedAt: null,
      revokedReason: null,
    };
    this.db.run(
      "INSERT INTO session_families (id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
      family.id,
      family.userId,
      family.createdAt.getTime(),
      family.expiresAt.getTime(),
    );
    return Promise.resolve(family);
  }

  getFamily(id: string): Promise<SessionFamily | undefined> {
    const row = this.db.get("SELECT * FROM session_families WHERE id = ?", id);
    return Promise.resolve(row && familyOf(row));
  }

  addToken(token: RefreshToken): Promise<void> {
    this.db.run(
      "INSERT INTO refresh_tokens (token_hash, family_id, expires_at, rotated_at) VALUES (?, ?, ?, ?)",
      token.tokenHash,
      token.familyId,
      token.expiresAt.getTime(),
      token.rotatedAt?.getTime() ?? null,
    );
    return Promise.resolve();
  }

  getToken(tokenHash: string): Promise<RefreshToken | undefined> {
    const row = this.db.get("SELECT * FROM refresh_tokens WHERE token_hash = ?", tokenHash);
    return Promise.resolve(row && tokenOf(row));
  }

  rotate(tokenHash: string, next: RefreshToken, now: Date): Promise<boolean> {
    return Promise.resolve(this.db.transaction(() => {
      const changed = this.db.run(
        "UPDATE refresh_tokens SET rotated_at = ? WHERE token_hash = ? AND rotated_at IS NULL",
        now.getTime(),
        tokenHash,
      );
      if (changed !== 1) return false;
      this.db.run(
        "INSERT INTO refresh_tokens (token_hash, family_id, expires_at) VALUES (?, ?, ?)",
        next.tokenHash,
        next.familyId,
        next.expiresAt.getTime(),
      );
      return true;
    }));
  }

  revokeFamily(id: string, reason: string, now: Date): Promise<void> {
    this.db.run(
      "UPDATE session_families SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND revoked_at IS NULL",
      now.getTime(),
      reason,
      id,
    );
    return Promise.resolve();
  }

  revokeUser(userId: string, reason: string, now: Date): Promise<void> {
    this.db.run(
      "UPDATE session_families SET revoked_at = ?, revoked_reason = ? WHERE user_id = ? AND revoked_at IS NULL",
      now.getTime(),
      reason,
      userId,
    );
    return Promise.resolve();
  }

  prune(now: Date): Promise<number> {
    return Promise.resolve(
      this.db.run("DELETE FROM session_families WHERE expires_at < ?", now.getTime()),
    );
  }
}

/** One-time password reset codes in SQLite. */
export class SqlitePasswordResets implements PasswordResetRepository {
  constructor(private readonly db: Database) {}

  issue(input: { userId: string; codeHash: string; expiresAt: Date }, now: Date): Promise<void> {
    this.db.transaction(() => {
      this.#revoke(input.userId, now);
      this.db.insert(
        "INSERT INTO password_resets (code_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        "Password reset code collision; try again",
        input.codeHash,
        input.userId,
        now.getTime(),
        input.expiresAt.getTime(),
      );
    });
    return Promise.resolve();
  }

  redeem(codeHash: string, now: Date): Promise<string | undefined> {
    const row = this.db.get(
      `UPDATE password_resets SET used_at = ?
       WHERE code_hash = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?
       RETURNING user_id`,
      now.getTime(),
      codeHash,
      now.getTime(),
    );
    return Promise.resolve(row && String(row.user_id));
  }

  revokeUser(userId: string, now: Date): Promise<void> {
    this.#revoke(userId, now);
    return Promise.resolve();
  }

  #revoke(userId: string, now: Date): void {
    this.db.run(
      "UPDATE password_resets SET revoked_at = ? WHERE user_id = ? AND used_at IS NULL AND revoked_at IS NULL",
      now.getTime(),
      userId,
    );
  }
}

/** JWT signing keys in SQLite. */
export class SqliteSigningKeys implements SigningKeyRepository {
  constructor(private readonly db: Database) {}

  list(): Promise<SigningKey[]> {
    return Promise.resolve(
      this.db.all("SELECT * FROM signing_keys ORDER BY created_at").map((row) => ({
        kid: String(row.kid),
        privateJwk: JSON.parse(String(row.private_jwk)),
        publicJwk: JSON.parse(String(row.public_jwk)),
        createdAt: toDate(row.created_at)!,
        retiredAt: toDate(row.retired_at),
      })),
    );
  }

  activate(key: SigningKey): Promise<void> {
    this.db.transaction(() => {
      this.db.run(
        "UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL",
        key.createdAt.getTime(),
      );
      this.db.run(
        "INSERT INTO signing_keys (kid, private_jwk, public_jwk, created_at) VALUES (?, ?, ?, ?)",
        key.kid,
        JSON.stringify(key.privateJwk),
        JSON.stringify(key.publicJwk),
        key.createdAt.getTime(),
      );
    });
    return Promise.resolve();
  }

  delete(kid: string): Promise<void> {
    this.db.run("DELETE FROM signing_keys WHERE kid = ?", kid);
    return Promise.resolve();
  }
}
