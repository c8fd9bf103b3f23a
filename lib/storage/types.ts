/** What the object store knows of a stored object. */
export interface StoredObject {
  key: string;
  size: number;
  contentType: string;
  /** SHA-256 of the bytes, base64. */
  sha256: string;
  /** Strong validator for HTTP caching, derived from the digest. */
  etag: string;
}

/** An inclusive byte range. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Where segment bytes live: the local filesystem by default, S3 at scale. Objects are immutable:
 * written once, atomically (no reader ever sees a partial object), never changed.
 */
export interface ObjectStore {
  readonly kind: string;
  /**
   * Stores `body` under `key` unless an object is already there. Returns whether it was created
   * and, either way, what is stored now, so a caller can tell an identical retry from a conflict.
   */
  putIfAbsent(
    key: string,
    body: Uint8Array,
    meta: { contentType: string; sha256: string },
  ): Promise<{ created: boolean; object: StoredObject }>;
  head(key: string): Promise<StoredObject | undefined>;
  /** The bytes of `key` (of `range` when given), or undefined when absent. */
  read(
    key: string,
    range?: ByteRange,
  ): Promise<{ object: StoredObject; body: ReadableStream<Uint8Array> } | undefined>;
  delete(key: string): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Object keys are slash-separated segments of `[A-Za-z0-9._-]`, never `.` or `..`. */
export function checkObjectKey(key: string): void {
  const parts = key.split("/");
  if (
    key.length > 512 ||
    parts.some((p) => !/^[A-Za-z0-9._-]{1,128}$/.test(p) || p === "." || p === "..")
  ) {
    throw new TypeError(`Object key "${key}" is not a valid key`);
  }
}

/** An ETag from a base64 SHA-256 digest. */
export function etagOf(sha256: string): string {
  return `"${sha256.replace(/[+/=]/g, (c) => (c === "+" ? "-" : c === "/" ? "_" : ""))}"`;
}
