import type { ByteRange, ObjectStore } from "../storage/mod.ts";
import { MotorcadeError, NotFoundError } from "../errors/mod.ts";

/** Segments never change once stored: caches and CDNs may keep them for a year. */
export const IMMUTABLE = "public, max-age=31536000, immutable";

/** The requested range could not be served. */
export class RangeNotSatisfiableError extends MotorcadeError {
  constructor(size: number) {
    super(416, "range_not_satisfiable", `Range is outside the object's ${size} bytes`, { size });
  }
}

/**
 * Parses a single-range `Range: bytes=…` header against an object of `size` bytes. Returns
 * undefined for no range (or one this server ignores, like multiple ranges), or throws 416.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | undefined {
  if (!header) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === "" && match[2] === "")) return undefined;
  let start: number, end: number;
  if (match[1] === "") {
    const suffix = Number(match[2]);
    if (suffix === 0) throw new RangeNotSatisfiableError(size);
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
    if (start >= size || end < start) throw new RangeNotSatisfiableError(size);
  }
  return { start, end };
}

/**
 * Answers a GET for a stored object: strong ETag (304 on If-None-Match), byte ranges (206), and
 * immutable caching.
 */
export async function serveObject(
  store: ObjectStore,
  key: string,
  headers: { range?: string; ifNoneMatch?: string },
): Promise<Response> {
  const object = await store.head(key);
  if (!object) throw new NotFoundError("No such segment");
  const common = {
    "etag": object.etag,
    "cache-control": IMMUTABLE,
    "accept-ranges": "bytes",
    "content-type": object.contentType,
  };
  if (headers.ifNoneMatch?.split(",").some((tag) => tag.trim() === object.etag)) {
    return new Response(null, { status: 304, headers: common });
  }
  const range = parseRange(headers.range, object.size);
  const read = await store.read(key, range);
  if (!read) throw new NotFoundError("No such segment");
  if (!range) {
    return new Response(read.body, {
      status: 200,
      headers: { ...common, "content-length": String(object.size) },
    });
  }
  return new Response(read.body, {
    status: 206,
    headers: {
      ...common,
      "content-length": String(range.end - range.start + 1),
      "content-range": `bytes ${range.start}-${range.end}/${object.size}`,
    },
  });
}

/**
 * Answers a GET for bytes made on request that never change under `etag` (filler segments):
 * the same validators, ranges and caching as {@linkcode serveObject}.
 */
export function serveBytes(
  bytes: Uint8Array<ArrayBuffer>,
  etag: string,
  contentType: string,
  headers: { range?: string; ifNoneMatch?: string },
): Response {
  const common = {
    "etag": etag,
    "cache-control": IMMUTABLE,
    "accept-ranges": "bytes",
    "content-type": contentType,
  };
  if (headers.ifNoneMatch?.split(",").some((tag) => tag.trim() === etag)) {
    return new Response(null, { status: 304, headers: common });
  }
  const size = bytes.byteLength;
  const range = parseRange(headers.range, size);
  if (!range) {
    return new Response(bytes, {
      status: 200,
      headers: { ...common, "content-length": String(size) },
    });
  }
  return new Response(bytes.subarray(range.start, range.end + 1), {
    status: 206,
    headers: {
      ...common,
      "content-length": String(range.end - range.start + 1),
      "content-range": `bytes ${range.start}-${range.end}/${size}`,
    },
  });
}
