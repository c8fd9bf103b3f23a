import { base64url, decodeJwt, decodeProtectedHeader, importJWK, type JWK, jwtVerify } from "jose";
import type { Catalog, DeviceCredential } from "../catalog/mod.ts";
import { ConflictError, UnauthorizedError, ValidationError } from "../errors/mod.ts";
import { enrolmentCode, hashSecret, normaliseEnrolmentCode } from "./secrets.ts";
import { type AccessTokens, describeJoseError, type IssuedToken } from "./tokens.ts";
import type { AccessChanges } from "./access_changes.ts";

/** Longest lifetime a vehicle may give a token-request assertion. */
export const MAX_ASSERTION_TTL_S = 300;

/**
 * Vehicle credentials. An admin registers a vehicle and receives a one-time enrolment code. The
 * vehicle generates an ES256 key pair, redeems the code with its public key, and from then on
 * signs a short assertion (RFC 7523 style) to obtain device tokens. The private key never leaves
 * the vehicle, and revoking the credential stops it at its next request.
 */
export class DeviceCredentials {
  constructor(
    private readonly catalog: Catalog,
    private readonly tokens: AccessTokens,
    private readonly options: { enrolmentTtlMs: number; tokenEndpoint: string },
    private readonly changes?: AccessChanges,
  ) {}

  /** The `aud` a vehicle's token-request assertion must carry: the token endpoint's public URL. */
  get assertionAudience(): string {
    return this.options.tokenEndpoint;
  }

  /** Creates a credential for a vehicle and returns it with its enrolment code (shown once). */
  async issue(
    fleetId: string,
    vehicleId: string,
  ): Promise<{ credential: DeviceCredential; code: string }> {
    const code = enrolmentCode();
    const credential = await this.catalog.credentials.create({
      fleetId,
      vehicleId,
      codeHash: await hashSecret(code),
      enrolmentExpiresAt: new Date(Date.now() + this.options.enrolmentTtlMs),
    });
    return { credential, code };
  }

  /** Redeems an enrolment code with the vehicle's ES256 public key. */
  async enrol(code: string, publicJwk: JsonWebKey): Promise<DeviceCredential> {
    const jwk = publicJwk as JWK;
    if (jwk.kty !== "EC" || jwk.crv !== "P-256" || !jwk.x || !jwk.y) {
      throw new ValidationError("Public key must be an EC P-256 JWK", [
        { path: "publicKey", message: "expected kty EC, crv P-256, x and y" },
      ]);
    }
    if (jwk.d !== undefined) {
      throw new ValidationError("Public key must not contain a private part", [
        { path: "publicKey.d", message: "remove the private key" },
      ]);
    }
    try {
      if (!isP256Point(jwk.x, jwk.y)) throw new RangeError("Point is not on P-256");
      await importJWK({ kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y }, "ES256");
    } catch {
      throw new ValidationError("Public key is not a valid P-256 point", [
        { path: "publicKey", message: "x and y do not form a P-256 key" },
      ]);
    }
    const stored = { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y };
    const credential = await this.catalog.credentials.enrol(
      await hashSecret(normaliseEnrolmentCode(code)),
      stored,
      new Date(),
    );
    if (!credential) {
      throw new ConflictError("Enrolment code is unknown, expired, revoked or already used");
    }
    return credential;
  }

  /**
   * Exchanges a vehicle's signed assertion for a device token. The assertion is a JWT signed with
   * the enrolled key: `iss` and `sub` the credential id, `aud` the token endpoint, a unique `jti`
   * and an `exp` at most five minutes ahead.
   */
  async exchange(assertion: string): Promise<IssuedToken & { credential: DeviceCredential }> {
    let credentialId: unknown;
    try {
      if (decodeProtectedHeader(assertion).alg !== "ES256") {
        throw new UnauthorizedError("Assertion must be signed with ES256");
      }
      credentialId = decodeJwt(assertion).iss;
    } catch (error) {
      throw new UnauthorizedError(`Assertion rejected: ${describeJoseError(error)}`);
    }
    const credential = typeof credentialId === "string"
      ? await this.catalog.credentials.get(credentialId)
      : undefined;
    if (!credential?.publicJwk || credential.revokedAt) {
      throw new UnauthorizedError("Assertion rejected: credential is unknown or revoked");
    }
    const key = await importJWK(credential.publicJwk as JWK, "ES256");
    let jti: unknown, exp: unknown;
    try {
      ({ payload: { jti, exp } } = await jwtVerify(assertion, key, {
        algorithms: ["ES256"],
        issuer: credential.id,
        subject: credential.id,
        audience: this.options.tokenEndpoint,
        requiredClaims: ["exp", "jti"],
      }));
    } catch (error) {
      throw new UnauthorizedError(`Assertion rejected: ${describeJoseError(error)}`);
    }
    const now = Date.now();
    if (typeof exp !== "number" || exp * 1000 > now + (MAX_ASSERTION_TTL_S + 30) * 1000) {
      throw new UnauthorizedError(
        `Assertion rejected: exp must be at most ${MAX_ASSERTION_TTL_S} s ahead`,
      );
    }
    if (typeof jti !== "string" || jti.length > 200) {
      throw new UnauthorizedError("Assertion rejected: jti must be a short string");
    }
    const fresh = await this.catalog.credentials.useAssertion(
      `${credential.id}:${jti}`,
      new Date(exp * 1000),
      new Date(now),
    );
    if (!fresh) throw new UnauthorizedError("Assertion rejected: it was already used");
    const issued = await this.tokens.issueDevice({
      vehicleId: credential.vehicleId,
      fleetId: credential.fleetId,
      credentialId: credential.id,
    });
    return { ...issued, credential };
  }

  /**
   * Revokes credential `id` of fleet `fleetId`: its tokens stop working at their next request, and
   * the vehicle's open live connections end within seconds.
   */
  async revoke(fleetId: string, id: string): Promise<DeviceCredential | undefined> {
    const revoked = await this.catalog.credentials.revoke(fleetId, id, new Date());
    this.changes?.publish({ subject: "credential", id });
    return revoked;
  }

  /** Whether a device token's credential is still valid (not revoked, vehicle not deleted). */
  async isActive(credentialId: string): Promise<boolean> {
    const credential = await this.catalog.credentials.get(credentialId);
    return !!credential && credential.revokedAt === null && credential.enrolledAt !== null;
  }
}

// P-256 is y² = x³ - 3x + b over the prime field of P256_P.
const P256_P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const P256_B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;

/**
 * Whether base64url `x` and `y` are the coordinates of a point on P-256. WebCrypto's JWK import
 * does not check this, and a key that is not on the curve would burn the code for a dead credential.
 */
function isP256Point(x: string, y: string): boolean {
  let xBytes: Uint8Array, yBytes: Uint8Array;
  try {
    [xBytes, yBytes] = [base64url.decode(x), base64url.decode(y)];
  } catch {
    return false;
  }
  if (xBytes.length !== 32 || yBytes.length !== 32) return false;
  const toBigInt = (bytes: Uint8Array) =>
    BigInt("0x" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(""));
  const [px, py] = [toBigInt(xBytes), toBigInt(yBytes)];
  if (px >= P256_P || py >= P256_P) return false;
  const mod = (n: bigint) => ((n % P256_P) + P256_P) % P256_P;
  return mod(py * py) === mod(px * px * px - 3n * px + P256_B);
}
