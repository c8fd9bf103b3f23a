import { errors, type JWTPayload, jwtVerify, SignJWT } from "jose";
import type { Role } from "../catalog/mod.ts";
import { UnauthorizedError } from "../errors/mod.ts";
import type { Keyring } from "./keyring.ts";
import type { DevicePrincipal, Principal, UserPrincipal } from "./principal.ts";

/** The audience of every Motorcade access token. */
export const AUDIENCE = "motorcade";
/** JOSE `typ` of access tokens (RFC 9068). */
const ACCESS_TYP = "at+jwt";
const ROLES = new Set<string>(["owner", "admin", "operator", "viewer"]);

/** Options of {@linkcode AccessTokens}. */
export interface AccessTokenOptions {
  issuer: string;
  userTtlMs: number;
  deviceTtlMs: number;
  /** How many verified tokens to remember (ES256 verification costs ~0.5 ms); 0 disables. */
  verifiedCacheSize?: number;
}

/** An issued token and when it expires. */
export interface IssuedToken {
  token: string;
  expiresAt: Date;
}

/**
 * Issues and verifies access JWTs (ES256) for users and vehicles. Verification accepts only
 * ES256 with a key of the keyring, the right issuer and audience, and an unexpired `exp`.
 */
export class AccessTokens {
  // Token text → what it verified to. A token's bytes cannot change, so once its signature and
  // claims checked out it stays valid until `exp`; revocation is checked by the caller each time.
  readonly #verified = new Map<string, { principal: Principal; expiresAtMs: number }>();
  readonly #cacheSize: number;

  constructor(private readonly keyring: Keyring, private readonly options: AccessTokenOptions) {
    this.#cacheSize = options.verifiedCacheSize ?? 10_000;
  }

  /** Signs a user access token bound to a session family. */
  issueUser(principal: Omit<UserPrincipal, "kind">, now = Date.now()): Promise<IssuedToken> {
    return this.#sign(
      {
        sub: principal.userId,
        kind: "user",
        role: principal.role,
        fleet: principal.fleetId,
        sid: principal.sessionId,
      },
      this.options.userTtlMs,
      now,
    );
  }

  /** Signs a device token for one vehicle. */
  issueDevice(principal: Omit<DevicePrincipal, "kind">, now = Date.now()): Promise<IssuedToken> {
    return this.#sign(
      {
        sub: principal.vehicleId,
        kind: "device",
        fleet: principal.fleetId,
        crd: principal.credentialId,
      },
      this.options.deviceTtlMs,
      now,
    );
  }

  async #sign(claims: JWTPayload, ttlMs: number, now: number): Promise<IssuedToken> {
    const { kid, key } = this.keyring.signing();
    const expiresAt = new Date(now + ttlMs);
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: "ES256", typ: ACCESS_TYP, kid })
      .setIssuer(this.options.issuer)
      .setAudience(AUDIENCE)
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
      .setJti(crypto.randomUUID())
      .sign(key);
    return { token, expiresAt };
  }

  /** Verifies `token` and returns who it speaks for; throws UnauthorizedError saying why not. */
  async verify(token: string): Promise<Principal> {
    return (await this.verifyWithExpiry(token)).principal;
  }

  /** Like {@linkcode AccessTokens.verify}, with when the token expires (its `exp`, in ms). */
  async verifyWithExpiry(token: string): Promise<{ principal: Principal; expiresAtMs: number }> {
    const cached = this.#verified.get(token);
    if (cached && cached.expiresAtMs > Date.now()) return cached;
    if (cached) this.#verified.delete(token);
    const verified = await this.#verifySignature(token);
    if (this.#cacheSize > 0) {
      if (this.#verified.size >= this.#cacheSize) {
        this.#verified.delete(this.#verified.keys().next().value!);
      }
      this.#verified.set(token, verified);
    }
    return verified;
  }

  async #verifySignature(token: string): Promise<{ principal: Principal; expiresAtMs: number }> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(
        token,
        async (header) => {
          const key = await this.keyring.verifying(header.kid);
          if (!key) throw new UnauthorizedError("Token is signed by an unknown key");
          return key;
        },
        {
          algorithms: ["ES256"],
          issuer: this.options.issuer,
          audience: AUDIENCE,
          typ: ACCESS_TYP,
          requiredClaims: ["exp", "sub"],
        },
      ));
    } catch (error) {
      throw new UnauthorizedError(describeJoseError(error));
    }
    return { principal: principalOf(payload), expiresAtMs: payload.exp! * 1000 };
  }
}

function principalOf(payload: JWTPayload): Principal {
  const { sub, kind, fleet } = payload as Record<string, unknown>;
  if (kind === "user") {
    const { role, sid } = payload as Record<string, unknown>;
    if (
      typeof sub === "string" && typeof role === "string" && ROLES.has(role) &&
      typeof sid === "string" && (fleet === null || typeof fleet === "string")
    ) {
      return {
        kind: "user",
        userId: sub,
        role: role as Role,
        fleetId: fleet as string | null,
        sessionId: sid,
      };
    }
  } else if (kind === "device") {
    const { crd } = payload as Record<string, unknown>;
    if (typeof sub === "string" && typeof fleet === "string" && typeof crd === "string") {
      return { kind: "device", vehicleId: sub, fleetId: fleet, credentialId: crd };
    }
  }
  throw new UnauthorizedError("Token claims are not those of a Motorcade access token");
}

/** Turns jose's verification errors into a sentence a client can act on. */
export function describeJoseError(error: unknown): string {
  if (error instanceof UnauthorizedError) return error.message;
  if (error instanceof errors.JWTExpired) return "Token has expired";
  if (error instanceof errors.JOSEAlgNotAllowed) return "Token algorithm is not allowed";
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return "Token signature is not valid";
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    return `Token claim "${error.claim}" is not valid: ${error.message}`;
  }
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) {
    return "Token is malformed";
  }
  return "Token is not valid";
}
