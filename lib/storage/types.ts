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

/** What {@linkcode ObjectStore.putIfAbsent} stores beside the bytes, and checks them against. */
export interface PutOptions {
  contentType: string;
  /** SHA-256 the body must have, base64; another body is refused with DigestMismatchError. */
  sha256: string;
  /** Largest body accepted; a longer one is refused with BodyTooLargeError once seen. */
  maxBytes: number;
  /** Exact length the body must have when it was declared (Content-Length). */
  size?: number;
  /**
   * The first bytes of the body when the caller has already read them from `body` (to sniff its
   * type, say); `size` and `maxBytes` count them.
   */
  prefix?: Uint8Array;
}

/**
 * Where segment bytes live: the local filesystem by default, S3 at scale. Objects are immutable:
 * written once, atomically (no reader ever sees a partial object), never changed.
 */
export interface ObjectStore {
  readonly kind: string;
  /**
   * Streams `body` into `key` unless an object is already there. The body is checked while it
   * arrives and only becomes visible, durably, once it is whole, within `maxBytes` and of digest
   * `sha256`; otherwise nothing is stored and the promise rejects with DigestMismatchError,
   * BodyTooLargeError or IncompleteBodyError. Returns whether the object was created and, either
   * way, what is stored now, so a caller can tell an identical retry from a conflict. (S3:
   * PutObject with `If-None-Match: *` and `x-amz-checksum-sha256`.)
   *
   * @example await store.putIfAbsent(key, request.body!, { contentType, sha256, maxBytes })
   */
  putIfAbsent(
    key: string,
    body: ReadableStream<Uint8Array>,
    options: PutOptions,
  ): Promise<{ created: boolean; object: StoredObject }>;
  head(key: string): Promise<StoredObject | undefined>;
  /** The bytes of `key` (of `range` when given), or undefined when absent. */
  read(
    key: string,
    range?: ByteRange,
  ): Promise<{ object: StoredObject; body: ReadableStream<Uint8Array> } | undefined>;
  delete(key: string): Promise<void>;
  /** Deletes `keys` (absent ones are fine): the retention sweep's batch (S3: DeleteObjects). */
  deleteMany(keys: readonly string[]): Promise<void>;
  /** The keys of the objects under the folder `prefix` ("" for all), in no particular order. */
  list(prefix: string): AsyncIterable<string>;
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
