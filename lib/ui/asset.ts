import { acceptedEncodings } from "../http/mod.ts";

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

/** A {@linkcode StaticAsset} with gzip and (where the runtime has it) brotli copies. */
export interface CompressedAsset extends StaticAsset {
  gzip?: Uint8Array<ArrayBuffer>;
  br?: Uint8Array<ArrayBuffer>;
}

/** Below this size compressing saves less than the header costs. */
const COMPRESS_MIN_BYTES = 512;

/** Makes a {@linkcode CompressedAsset}: compressed once, at build, never per request. */
export async function compressedAsset(
  body: string | Uint8Array<ArrayBuffer>,
  contentType: string,
): Promise<CompressedAsset> {
  const asset: CompressedAsset = await staticAsset(body, contentType);
  if (asset.body.byteLength < COMPRESS_MIN_BYTES) return asset;
  const gzip = new Uint8Array(
    await new Response(new Blob([asset.body]).stream().pipeThrough(new CompressionStream("gzip")))
      .arrayBuffer(),
  );
  asset.gzip = gzip;
  try {
    const zlib = await import("node:zlib");
    const br = zlib.brotliCompressSync(asset.body, {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: asset.body.byteLength,
      },
    });
    asset.br = new Uint8Array(br);
  } catch {
    // no brotli in this runtime: gzip only
  }
  return asset;
}

/**
 * Serves a content-hashed `asset` as immutable for a year, brotli or gzip when the client accepts
 * it (`Vary: Accept-Encoding`), 304 when `If-None-Match` names it.
 */
export function immutableResponse(
  asset: CompressedAsset,
  request: { acceptEncoding?: string; ifNoneMatch?: string },
): Response {
  const headers = new Headers({
    etag: asset.etag,
    "cache-control": "public, max-age=31536000, immutable",
    "x-content-type-options": "nosniff",
    vary: "Accept-Encoding",
  });
  if (matchesEtag(request.ifNoneMatch, asset.etag)) {
    return new Response(null, { status: 304, headers });
  }
  headers.set("content-type", asset.contentType);
  const encodings = acceptedEncodings(request.acceptEncoding);
  let body = asset.body;
  if (asset.br && encodings.has("br")) {
    body = asset.br;
    headers.set("content-encoding", "br");
  } else if (asset.gzip && (encodings.has("gzip") || encodings.has("*"))) {
    body = asset.gzip;
    headers.set("content-encoding", "gzip");
  }
  headers.set("content-length", String(body.byteLength));
  return new Response(body, { status: 200, headers });
}
