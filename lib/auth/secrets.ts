import { base64url } from "jose";

const CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789";

/** A random opaque secret, base64url, with a prefix saying what it is (`mrt_…`). */
export function randomSecret(prefix: string, bytes = 32): string {
  return prefix + base64url.encode(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** A one-time enrolment code a person can type: `MCE-XXXXX-XXXXX-XXXXX-XXXXX` (~98 bits). */
export function enrolmentCode(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  const chars = Array.from(bytes, (b) => CODE_ALPHABET[b % CODE_ALPHABET.length]).join("");
  return `MCE-${chars.slice(0, 5)}-${chars.slice(5, 10)}-${chars.slice(10, 15)}-${chars.slice(15)}`;
}

/** Normalises a typed enrolment code (case, spaces) before hashing it. */
export function normaliseEnrolmentCode(code: string): string {
  return code.trim().toUpperCase().replace(/\s+/g, "");
}

/** SHA-256 of a secret as hex: how secrets are stored. */
export async function hashSecret(secret: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(secret));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
