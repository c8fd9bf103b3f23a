const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";

/** Prefixes of entity ids, so an id says what it names. */
export type IdPrefix =
  | "flt"
  | "usr"
  | "veh"
  | "cam"
  | "crd"
  | "ses"
  | "key"
  | "lnk"
  | "rcl"
  | "evt";

/** A new random id such as `veh_5k2m…` (20 characters of Crockford base32, 100 bits). */
export function newId(prefix: IdPrefix): string {
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  let out = prefix + "_";
  for (const byte of bytes) out += ALPHABET[byte & 31];
  return out;
}

/** The shape every entity id has; anything else is rejected before it reaches a query. */
export const ID_PATTERN = /^[a-z]{3}_[0-9a-z]{20}$/;
