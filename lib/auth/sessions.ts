import type { Catalog, User } from "../catalog/mod.ts";
import { UnauthorizedError } from "../errors/mod.ts";
import { verifyPassword } from "./password.ts";
import { hashSecret, randomSecret } from "./secrets.ts";
import type { AccessTokens, IssuedToken } from "./tokens.ts";
import type { AccessChanges } from "./access_changes.ts";

/** What a sign-in or a refresh hands back. */
export interface TokenPair {
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string;
  refreshTokenExpiresAt: Date;
}

/** Prefix of a browser session's handle (the page cookie's value). */
export const BROWSER_HANDLE_PREFIX = "mck_";

/** A signed-in browser's session: the handle its cookie holds and who it is. */
export interface BrowserSession {
  handle: string;
  user: User;
  /** The session (refresh-token family) id: access tokens issued for it carry it as `sid`. */
  sessionId: string;
  expiresAt: Date;
}

/**
 * User sessions: sign-in with a password, rotating refresh tokens, logout. Each sign-in starts a
 * family of refresh tokens; every refresh rotates the token, and presenting a rotated one again
 * means it leaked, so the whole family is revoked.
 */
export class Sessions {
  constructor(
    private readonly catalog: Catalog,
    private readonly tokens: AccessTokens,
    private readonly refreshTtlMs: number,
    private readonly changes?: AccessChanges,
  ) {}

  /** Signs a user in by email and password. */
  async login(email: string, password: string): Promise<TokenPair> {
    const user = await this.#verify(email, password);
    const family = await this.catalog.sessions.createFamily({
      userId: user.id,
      expiresAt: new Date(Date.now() + this.refreshTtlMs),
    });
    const refreshToken = randomSecret("mrt_");
    await this.catalog.sessions.addToken({
      tokenHash: await hashSecret(refreshToken),
      familyId: family.id,
      expiresAt: family.expiresAt,
      rotatedAt: null,
    });
    return await this.#pair(user, family.id, refreshToken, family.expiresAt);
  }

  /**
   * Signs a user in for the web pages: a new session whose handle (`mck_…`, kept in an HttpOnly
   * cookie) never rotates and is not a refresh token; ending the session ends the handle.
   */
  async loginBrowser(email: string, password: string): Promise<BrowserSession> {
    const user = await this.#verify(email, password);
    const family = await this.catalog.sessions.createFamily({
      userId: user.id,
      expiresAt: new Date(Date.now() + this.refreshTtlMs),
    });
    const handle = randomSecret(BROWSER_HANDLE_PREFIX);
    await this.catalog.sessions.addToken({
      tokenHash: await hashSecret(handle),
      familyId: family.id,
      expiresAt: family.expiresAt,
      rotatedAt: null,
    });
    return { handle, user, sessionId: family.id, expiresAt: family.expiresAt };
  }

  /** The live session behind a browser handle, or undefined when it is unknown, revoked or over. */
  async browser(handle: string): Promise<BrowserSession | undefined> {
    if (!handle.startsWith(BROWSER_HANDLE_PREFIX)) return undefined;
    const token = await this.catalog.sessions.getToken(await hashSecret(handle));
    if (!token) return undefined;
    const family = await this.catalog.sessions.getFamily(token.familyId);
    if (!family || family.revokedAt || family.expiresAt <= new Date()) return undefined;
    const user = await this.catalog.users.get(family.userId);
    if (!user || user.disabled) return undefined;
    return { handle, user, sessionId: family.id, expiresAt: family.expiresAt };
  }

  /** A short-lived access token of a browser session, for its islands' API calls. */
  async browserAccess(session: BrowserSession): Promise<IssuedToken> {
    return await this.tokens.issueUser({
      userId: session.user.id,
      role: session.user.role,
      fleetId: session.user.fleetId,
      sessionId: session.sessionId,
    });
  }

  /** Exchanges a refresh token for a new pair; a replayed token revokes its whole family. */
  async refresh(refreshToken: string): Promise<TokenPair> {
    if (refreshToken.startsWith(BROWSER_HANDLE_PREFIX)) {
      throw new UnauthorizedError("A browser session handle is not a refresh token");
    }
    const now = new Date();
    const tokenHash = await hashSecret(refreshToken);
    const token = await this.catalog.sessions.getToken(tokenHash);
    if (!token) throw new UnauthorizedError("Refresh token is not valid");
    const family = await this.catalog.sessions.getFamily(token.familyId);
    if (!family || family.revokedAt) throw new UnauthorizedError("Session has been revoked");
    if (family.expiresAt <= now) throw new UnauthorizedError("Session has expired");
    const next = randomSecret("mrt_");
    const rotated = token.rotatedAt === null && await this.catalog.sessions.rotate(tokenHash, {
      tokenHash: await hashSecret(next),
      familyId: family.id,
      expiresAt: family.expiresAt,
      rotatedAt: null,
    }, now);
    if (!rotated) {
      await this.catalog.sessions.revokeFamily(family.id, "refresh token reused", now);
      this.changes?.publish({ subject: "session", id: family.id });
      throw new UnauthorizedError(
        "Refresh token was already used; the session is revoked, sign in again",
      );
    }
    const user = await this.catalog.users.get(family.userId);
    if (!user || user.disabled) throw new UnauthorizedError("User is disabled");
    return await this.#pair(user, family.id, next, family.expiresAt);
  }

  /** Revokes the family of `refreshToken`; unknown tokens are ignored (logout is idempotent). */
  async logout(refreshToken: string): Promise<void> {
    const token = await this.catalog.sessions.getToken(await hashSecret(refreshToken));
    if (!token) return;
    await this.catalog.sessions.revokeFamily(token.familyId, "logout", new Date());
    this.changes?.publish({ subject: "session", id: token.familyId });
  }

  /** Revokes the session an access token belongs to. */
  async end(sessionId: string): Promise<void> {
    await this.catalog.sessions.revokeFamily(sessionId, "logout", new Date());
    this.changes?.publish({ subject: "session", id: sessionId });
  }

  /** Revokes every session of a user (disabled, deleted, role or password changed). */
  async endAll(userId: string, reason: string): Promise<void> {
    await this.catalog.sessions.revokeUser(userId, reason, new Date());
    this.changes?.publish({ subject: "user", id: userId });
  }

  /** Whether the session behind an access token is still valid. */
  async isActive(sessionId: string): Promise<boolean> {
    const family = await this.catalog.sessions.getFamily(sessionId);
    return !!family && family.revokedAt === null && family.expiresAt > new Date();
  }

  async #verify(email: string, password: string): Promise<User> {
    const user = await this.catalog.users.getByEmail(email.trim().toLowerCase());
    const ok = await verifyPassword(user?.passwordHash, password);
    if (!user || !ok || user.disabled) throw new UnauthorizedError("Email or password is wrong");
    return user;
  }

  async #pair(
    user: User,
    familyId: string,
    refreshToken: string,
    refreshExpiresAt: Date,
  ): Promise<TokenPair> {
    const access = await this.tokens.issueUser({
      userId: user.id,
      role: user.role,
      fleetId: user.fleetId,
      sessionId: familyId,
    });
    return {
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt,
      refreshToken,
      refreshTokenExpiresAt: refreshExpiresAt,
    };
  }
}
