/** A file served from memory, with a strong ETag computed from its content. */
export interface StaticAsset {
  body: Uint8Array<ArrayBuffer>;
  contentType: string;
  etag: string;
}

/** Makes a {@linkcode StaticAsset} of `body`. */
export async function staticAsset(
  body: string | Uint8Array<ArrayBuffer>,
  contentType: string,
): Promise<StaticAsset> {
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const hex = Array.from(digest.subarray(0, 16), (b) => b.toString(16).padStart(2, "0")).join("");
  return { body: bytes, contentType, etag: `"${hex}"` };
}

/** Whether an `If-None-Match` header value names `etag` (weak comparison, as RFC 9110 asks). */
export function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === "*") return true;
  const strip = (tag: string) => tag.trim().replace(/^W\//, "");
  return ifNoneMatch.split(",").some((tag) => strip(tag) === strip(etag));
}

/**
 * Serves `asset`, or 304 Not Modified when the client's `If-None-Match` already names it. Clients
 * revalidate on every use (`no-cache`), which costs one 304 once nothing changed.
 */
export function assetResponse(asset: StaticAsset, ifNoneMatch: string | undefined): Response {
  const headers = new Headers({
    etag: asset.etag,
    "cache-control": "public, no-cache",
    "x-content-type-options": "nosniff",
  });
  if (matchesEtag(ifNoneMatch, asset.etag)) return new Response(null, { status: 304, headers });
  headers.set("content-type", asset.contentType);
  return new Response(asset.body, { status: 200, headers });
}
