import { ValidationError } from "../errors/mod.ts";

/**
 * Reads the SHA-256 digest from a `Content-Digest` header (RFC 9530), a structured-field
 * dictionary such as `sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:`. Returns base64.
 */
export function parseContentDigest(header: string | undefined): string {
  if (!header) {
    throw new ValidationError('Header "Content-Digest" is required: sha-256=:<base64>:', [
      { path: "headers.content-digest", message: "missing" },
    ]);
  }
  for (const member of header.split(",")) {
    const match = /^\s*([a-z0-9-]+)\s*=\s*:([A-Za-z0-9+/]*={0,2}):\s*$/.exec(member);
    if (match && match[1] === "sha-256") {
      if (match[2].length !== 44) break;
      return match[2];
    }
  }
  throw new ValidationError(
    `Header "Content-Digest" must hold a sha-256 digest as sha-256=:<base64>:, got "${
      header.slice(0, 120)
    }"`,
    [{ path: "headers.content-digest", message: "no valid sha-256 member" }],
  );
}
