import type { Catalog } from "../catalog/mod.ts";
import type { Config } from "../config/mod.ts";
import { UnauthorizedError } from "../errors/mod.ts";
import { type AccessChanges, LocalAccessChanges } from "./access_changes.ts";
import { DeviceCredentials } from "./devices.ts";
import { Keyring } from "./keyring.ts";
import { PasswordResets } from "./password_resets.ts";
import { hashPassword, passwordWork } from "./password.ts";
import type { Principal } from "./principal.ts";
import { randomSecret } from "./secrets.ts";
import { UrlSigner } from "./signed_urls.ts";
import { Sessions } from "./sessions.ts";
import { SignIn } from "./sign_in.ts";
import { SignInThrottle } from "./sign_in_throttle.ts";
import { AccessTokens } from "./tokens.ts";

/** Path of the device token endpoint; the audience of vehicles' assertions. */
export const DEVICE_TOKEN_PATH = "/api/v1/device/token";

/**
 * Identity and access for one server: its keyring, token issuer, user sessions and device
 * credentials, wired from the configuration.
 */
export class Identity {
  readonly keyring: Keyring;
  readonly tokens: AccessTokens;
  readonly sessions: Sessions;
  /** Throttled sign-in by password (the login route). */
  readonly signIn: SignIn;
  readonly devices: DeviceCredentials;
  /** One-time password reset codes admins issue. */
  readonly passwordResets: PasswordResets;
  /** "Access changed" news for connections that hold access open (see access_changes.ts). */
  readonly changes: AccessChanges;
  /** Signs and verifies capability URLs (playlists, segments). */
  urls!: UrlSigner;

  private constructor(
    private readonly catalog: Catalog,
    config: Config,
    changes: AccessChanges,
  ) {
    this.changes = changes;
    this.keyring = new Keyring(catalog, {
      rotationMs: config.signingKeyRotationMs,
      maxTokenTtlMs: Math.max(config.accessTokenTtlMs, config.deviceTokenTtlMs),
    });
    this.tokens = new AccessTokens(this.keyring, {
      issuer: config.publicUrl,
      userTtlMs: config.accessTokenTtlMs,
      deviceTtlMs: config.deviceTokenTtlMs,
    });
    this.sessions = new Sessions(
      catalog,
      this.tokens,
      config.refreshTokenTtlMs,
      this.changes,
    );
    this.signIn = new SignIn(this.sessions, new SignInThrottle(config.signIn));
    passwordWork.configure(config.passwordWork);
    this.passwordResets = new PasswordResets(catalog, config.passwordResetTtlMs);
    this.devices = new DeviceCredentials(catalog, this.tokens, {
      enrolmentTtlMs: config.enrolmentCodeTtlMs,
      tokenEndpoint: config.publicUrl + DEVICE_TOKEN_PATH,
    }, this.changes);
  }

  /**
   * Loads (or creates) the signing keys and returns a ready identity service; access changes go
   * through `changes` (in-process unless given one that reaches other processes).
   */
  static async open(
    catalog: Catalog,
    config: Config,
    changes: AccessChanges = new LocalAccessChanges(),
  ): Promise<Identity> {
    const identity = new Identity(catalog, config, changes);
    await identity.keyring.load();
    identity.urls = await UrlSigner.open(catalog);
    // A user or fleet changed here: links it made are re-checked at the next signed request.
    identity.changes.subscribe(() => identity.urls.links.invalidate());
    return identity;
  }

  /**
   * Verifies a bearer token and that what it speaks for is still valid: the user's session is not
   * revoked, the vehicle's credential is not revoked.
   */
  async authenticate(token: string): Promise<Principal> {
    return (await this.authenticateWithExpiry(token)).principal;
  }

  /** Like {@linkcode Identity.authenticate}, with when the token expires. */
  async authenticateWithExpiry(token: string): Promise<{ principal: Principal; expiresAt: Date }> {
    const { principal, expiresAtMs } = await this.tokens.verifyWithExpiry(token);
    await this.recheck(principal);
    return { principal, expiresAt: new Date(expiresAtMs) };
  }

  /**
   * The check every request runs after the token's signature: throws UnauthorizedError when the
   * user's session is revoked (logout, user disabled, deleted or changed) or the vehicle's
   * credential is revoked (or its vehicle deleted). Connections that stay open run it again.
   */
  async recheck(principal: Principal): Promise<void> {
    if (principal.kind === "user" && !await this.sessions.isActive(principal.sessionId)) {
      throw new UnauthorizedError("Session has been revoked or has expired");
    }
    if (principal.kind === "device" && !await this.devices.isActive(principal.credentialId)) {
      throw new UnauthorizedError("Device credential has been revoked");
    }
  }

  /**
   * Creates the first platform owner when the catalog has no user: from `admin` when given, else
   * `admin@motorcade.local` with a generated password. Returns what it created (the password only
   * when generated, to show once), or undefined when users exist.
   */
  async bootstrapOwner(
    admin: { email: string; password: string } | undefined,
  ): Promise<{ email: string; generatedPassword?: string } | undefined> {
    if (await this.catalog.users.count() > 0) return undefined;
    const generatedPassword = admin ? undefined : randomSecret("", 15);
    const email = (admin?.email ?? "admin@motorcade.local").toLowerCase();
    await this.catalog.users.create({
      email,
      role: "owner",
      fleetId: null,
      passwordHash: await hashPassword(admin?.password ?? generatedPassword!),
    });
    return { email, generatedPassword };
  }
}
