/**
 * The password policy: at least {@linkcode PASSWORD_MIN_LENGTH} characters, and not one of the
 * common passwords zxcvbn-ts ships (`@zxcvbn-ts/language-common`: 49,233 passwords most seen in
 * leaks, compared case-insensitively). The list is bundled with the package: nothing is fetched.
 */
import { dictionary } from "@zxcvbn-ts/language-common";

/** Fewest characters a password may have. */
export const PASSWORD_MIN_LENGTH = 10;
/** Most characters a password may have (hashing cost stays bounded). */
export const PASSWORD_MAX_LENGTH = 256;

let common: Set<string> | undefined;

/** True when `password` is on the common-password list (case-insensitive). */
export function isCommonPassword(password: string): boolean {
  common ??= new Set(dictionary["passwords-common"] as unknown as string[]);
  return common.has(password.toLowerCase());
}

/** How many passwords the common list holds. */
export function commonPasswordCount(): number {
  isCommonPassword("");
  return common!.size;
}
