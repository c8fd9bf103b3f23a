/**
 * Compression of the answers built in memory: pages (HTML) and JSON, brotli or gzip as the
 * client's `Accept-Encoding` allows, with `Vary: Accept-Encoding`. Left alone: event streams,
 * media (segments, playlists, images), answers already encoded (the content-hashed bundles carry
 * their own br/gzip copies), HEAD, 204/206/304, `Cache-Control: no-transform`, and bodies under
 * the threshold, where the header costs more than it saves.
 */
import type { MiddlewareHandler } from "hono";
import { promisify } from "node:util";
import * as zlib from "node:zlib";

/** Settings of {@linkcode compression}. */
export interface CompressionOptions {
  /** Bodies smaller than this many bytes are sent as they are (default 1024). */
  minBytes?: number;
}

/** Content types compressed: documents and JSON, never streams or media. */
const COMPRESSIBLE = /^(text\/html|application\/(?:[\w.-]+\+)?json)\s*(;|$)/i;
const NO_TRANSFORM = /(?:^|,)\s*no-transform\s*(?:,|$)/i;
/** Brotli quality for answers built per request: near gzip -6's speed, smaller output. */
const BROTLI_QUALITY = 4;

const brotli = promisify(zlib.brotliCompress);

/** The encodings an `Accept-Encoding` header value accepts (`q=0` refuses one). */
export function acceptedEncodings(acceptEncoding: string | undefined): Set<string> {
  const names = new Set<string>();
  for (const part of (acceptEncoding ?? "").split(",")) {
    const [name, ...params] = part.trim().toLowerCase().split(";");
    const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    if (name && (q === undefined || Number(q) > 0)) names.add(name);
  }
  return names;
}

/** `body` compressed as `encoding` (`br` or `gzip`). */
async function encode(body: Uint8Array<ArrayBuffer>, encoding: "br" | "gzip") {
  if (encoding === "br") {
    return new Uint8Array(
      await brotli(body, {
        params: {
          [zlib.constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
          [zlib.constants.BROTLI_PARAM_SIZE_HINT]: body.byteLength,
        },
      }),
    );
  }
  return new Uint8Array(
    await new Response(new Blob([body]).stream().pipeThrough(new CompressionStream("gzip")))
      .arrayBuffer(),
  );
}

/** Appends `Accept-Encoding` to the response's `Vary` unless it is there (or `*`). */
function varyOnEncoding(headers: Headers) {
  const vary = headers.get("vary");
  if (vary === "*" || (vary && /(?:^|,)\s*accept-encoding\s*(?:,|$)/i.test(vary))) return;
  headers.set("vary", vary ? `${vary}, Accept-Encoding` : "Accept-Encoding");
}

/**
 * `res` compressed for a request of `method` that sent `acceptEncoding`: brotli (preferred) or
 * gzip for HTML and JSON of at least `minBytes`; otherwise `res` itself (its `Vary` completed
 * when it can be).
 */
export async function compressAnswer(
  method: string,
  acceptEncoding: string | undefined,
  res: Response,
  minBytes = 1024,
): Promise<Response> {
  if (method === "HEAD" || !res.body) return res;
  if (res.status < 200 || res.status === 204 || res.status === 206 || res.status === 304) {
    return res;
  }
  if (res.headers.has("content-encoding")) return res;
  if (!COMPRESSIBLE.test(res.headers.get("content-type") ?? "")) return res;
  if (NO_TRANSFORM.test(res.headers.get("cache-control") ?? "")) return res;
  const length = res.headers.get("content-length");
  if (length !== null && Number(length) < minBytes) return res;
  const accepted = acceptedEncodings(acceptEncoding);
  const encoding = accepted.has("br")
    ? "br"
    : accepted.has("gzip") || accepted.has("*")
    ? "gzip"
    : null;
  // The answer depends on Accept-Encoding either way; without one, the body is not touched.
  if (!encoding) {
    try {
      varyOnEncoding(res.headers);
    } catch { /* immutable headers (a relayed answer): it stays as it is */ }
    return res;
  }
  // Pages and JSON are built whole in memory before they are sent; read them back.
  const body = new Uint8Array(await res.arrayBuffer());
  const headers = new Headers(res.headers);
  const answer = (bytes: Uint8Array<ArrayBuffer>) => {
    headers.set("content-length", String(bytes.byteLength));
    return new Response(bytes, { status: res.status, statusText: res.statusText, headers });
  };
  if (body.byteLength < minBytes) return answer(body);
  varyOnEncoding(headers);
  headers.set("content-encoding", encoding);
  // The compressed bytes differ from the identity ones: a strong validator would lie.
  const etag = headers.get("etag");
  if (etag && !etag.startsWith("W/")) headers.set("etag", `W/${etag}`);
  return answer(await encode(body, encoding));
}

/**
 * Compresses HTML and JSON answers of at least `minBytes` with brotli (preferred) or gzip.
 *
 * @example
 * ```ts
 * app.use("*", compression());
 * ```
 */
export function compression(options: CompressionOptions = {}): MiddlewareHandler {
  const minBytes = options.minBytes ?? 1024;
  return async function compress(c, next) {
    // Read before the handler runs: once a WebSocket upgrade is answered the request is closed.
    const acceptEncoding = c.req.header("accept-encoding");
    await next();
    const res = c.res;
    const answer = await compressAnswer(c.req.method, acceptEncoding, res, minBytes);
    if (answer !== res) {
      c.res = undefined;
      c.res = answer;
    }
  };
}
