import type { Catalog } from "../catalog/mod.ts";
import { ValidationError } from "../errors/mod.ts";
import { hashSecret, randomSecret } from "./secrets.ts";

/** The shape of a password reset code: `mpr_` and 43 base64url characters (256 random bits). */
export const PASSWORD_RESET_CODE = /^mpr_[A-Za-z0-9_-]{43}$/;

/**
 * One-time password reset codes: an admin issues one for a user (shown once, only its hash kept,
 * replacing any unused one), and whoever holds it sets that user's password once before it expires.
 */
export class PasswordResets {
  constructor(private readonly catalog: Catalog, private readonly ttlMs: number) {}

  /** A new code for `userId`, valid for the configured PASSWORD_RESET_TTL; older ones stop working. */
  async issue(userId: string, now = new Date()): Promise<{ code: string; expiresAt: Date }> {
    const code = randomSecret("mpr_");
    const expiresAt = new Date(now.getTime() + this.ttlMs);
    await this.catalog.passwordResets.issue(
      { userId, codeHash: await hashSecret(code), expiresAt },
      now,
    );
    return { code, expiresAt };
  }

  /** Uses `code` once; returns its user's id, or a ValidationError when it cannot be used. */
  async redeem(code: string, now = new Date()): Promise<string> {
    const userId = PASSWORD_RESET_CODE.test(code)
      ? await this.catalog.passwordResets.redeem(await hashSecret(code), now)
      : undefined;
    if (userId === undefined) {
      throw new ValidationError(
        "Cannot reset the password: the code is unknown, used, expired or replaced by a newer one",
        [{ path: "json.code", message: "not a usable password reset code" }],
      );
    }
    return userId;
  }

  /** Stops the user's unused codes (their password was set another way). */
  async revoke(userId: string, now = new Date()): Promise<void> {
    await this.catalog.passwordResets.revokeUser(userId, now);
  }
}
