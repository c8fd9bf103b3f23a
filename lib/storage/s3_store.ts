/**
 * The object store at scale: one S3 object per stored object, its bytes exactly the media (so a
 * player, a presigned GET or a CDN serves it as it is) and what the store knows beside them in the
 * object's own metadata (`Content-Type`, `x-amz-meta-sha256`).
 */
import { Readable } from "node:stream";
import { createHash } from "node:crypto";
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import type { StorageTarget } from "../config/mod.ts";
import { UnavailableError } from "../errors/mod.ts";
import { BodyTooLargeError, DigestMismatchError, IncompleteBodyError } from "./errors.ts";
import {
  type ByteRange,
  checkObjectKey,
  etagOf,
  type ObjectStore,
  type PutOptions,
  type StoredObject,
} from "./types.ts";

/** Where and how to reach the bucket: `STORAGE_URL`'s parts, and credentials when not the chain's. */
export type S3StoreOptions = Omit<Extract<StorageTarget, { kind: "s3" }>, "kind"> & {
  /** Undefined: the AWS chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, roles). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
};

const QUIET = { debug() {}, info() {}, warn() {}, error() {} };
/** Seconds a client is told to wait before retrying when S3 cannot be reached. */
const RETRY_AFTER_SECONDS = 5;
/** Keys one DeleteObjects request may name. */
const DELETE_BATCH = 1000;
/** Longest content type stored (S3 limits an object's headers to a few KiB). */
const MAX_CONTENT_TYPE = 255;

/**
 * Objects in an S3 bucket (AWS, or any S3-compatible server). A put is one PutObject with
 * `If-None-Match: *`, so the first writer wins and a later one gets 412 and the stored object,
 * and `x-amz-checksum-sha256` set to the writer's digest, so S3 refuses bytes that are not the
 * claimed ones. The body is checked here too as it passes (size limits, digest), and a refused
 * body is never completed, so S3 never makes it visible. A body of known length is streamed with
 * that length; one of unknown length (chunked) is gathered first, up to `maxBytes`.
 *
 * Requests have a bounded time (`timeoutMs`) and bounded attempts (`attempts`, with backoff; a
 * streamed body is sent once, its retry is the client's); S3 that cannot be reached, times out
 * or answers 5xx is an UnavailableError with `Retry-After`, so an upload gets 503 and the vehicle
 * retries it.
 */
export class S3ObjectStore implements ObjectStore {
  readonly kind = "s3";
  readonly #client: S3Client;
  /** The same, with one attempt per request: for bodies streamed from a client, sent once. */
  readonly #once: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;

  constructor(options: S3StoreOptions) {
    const common = {
      endpoint: options.endpoint,
      region: options.region ?? (options.endpoint ? "us-east-1" : undefined),
      forcePathStyle: options.forcePathStyle,
      credentials: options.credentials,
      // S3-compatible servers differ on the SDK's default CRC32 checksums: only when required.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      retryMode: "standard",
      // The SDK warns on the console when a streamed put fails (a 412 is how a retry ends).
      logger: QUIET,
      requestHandler: {
        connectionTimeout: Math.min(options.timeoutMs, 5_000),
        requestTimeout: options.timeoutMs,
        socketTimeout: options.timeoutMs,
        throwOnRequestTimeout: true,
      },
    } as const;
    this.#client = new S3Client({ ...common, maxAttempts: options.attempts });
    this.#once = new S3Client({ ...common, maxAttempts: 1 });
    this.#bucket = options.bucket;
    this.#prefix = options.prefix;
  }

  #key(key: string): string {
    checkObjectKey(key);
    return this.#prefix + key;
  }

  async putIfAbsent(
    key: string,
    body: ReadableStream<Uint8Array>,
    options: PutOptions,
  ): Promise<{ created: boolean; object: StoredObject }> {
    const s3Key = this.#key(key);
    const { size, maxBytes, sha256: claimed, contentType } = options;
    if (contentType.length > MAX_CONTENT_TYPE || !/^[\x20-\x7e]+$/.test(contentType)) {
      await body.cancel().catch(() => {});
      throw new TypeError(`Content type "${contentType.slice(0, 40)}…" cannot be stored`);
    }
    if (size !== undefined && size > maxBytes) {
      await body.cancel().catch(() => {});
      throw new BodyTooLargeError(key, maxBytes);
    }
    let payload: Uint8Array | Readable;
    let length: number;
    let client = this.#client;
    // What was wrong with the body, found while sending it: it wins over what S3 then says.
    const aborting = new AbortController();
    const refused: { error?: Error; abort(): void } = { abort: () => aborting.abort() };
    if (size !== undefined && options.prefix?.byteLength === size) {
      await expectEnd(key, body, size);
      payload = options.prefix;
      length = size;
      const actual = await sha256Of(payload);
      if (actual !== claimed) throw new DigestMismatchError(key, actual);
    } else if (size !== undefined) {
      payload = Readable.from(checked(key, body, options, size, refused), { objectMode: false });
      payload.on("error", () => {}); // why it failed is in `refused`; the put rejects
      length = size;
      client = this.#once;
    } else {
      payload = await gather(key, body, options);
      length = payload.byteLength;
      const actual = await sha256Of(payload);
      if (actual !== claimed) throw new DigestMismatchError(key, actual);
    }
    const object = { key, size: length, contentType, sha256: claimed, etag: etagOf(claimed) };
    try {
      await client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: s3Key,
          Body: payload,
          ContentLength: length,
          ContentType: contentType,
          ChecksumSHA256: claimed,
          IfNoneMatch: "*",
          Metadata: { sha256: claimed },
        }),
        { abortSignal: aborting.signal },
      );
      return { created: true, object };
    } catch (error) {
      if (refused.error) throw refused.error;
      const status = statusOf(error);
      // 412: an object is there. 409: another conditional put of the key is in progress.
      if (status === 412 || status === 409) {
        const existing = await this.#settled(key);
        if (existing) return { created: false, object: existing };
      }
      if (status === 400 && /digest|checksum/i.test(nameOf(error))) {
        // The bytes sent were checked here: S3 received others (damaged on the way).
        throw new UnavailableError(
          `Cannot store "${key}" now: the object store received other bytes than were sent; retry`,
          1,
        );
      }
      throw unavailable("store", key, error);
    } finally {
      if (payload instanceof Readable) payload.destroy();
    }
  }

  /** The object another writer stored (or is storing) under `key`, waiting a little for it. */
  async #settled(key: string): Promise<StoredObject | undefined> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const existing = await this.head(key);
      if (existing) return existing;
      await new Promise((resolve) => setTimeout(resolve, 50 * (attempt + 1)));
    }
    return undefined;
  }

  async head(key: string): Promise<StoredObject | undefined> {
    try {
      const head = await this.#client.send(
        new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) }),
      );
      return objectOf(key, head.ContentLength ?? 0, head.ContentType, head.Metadata, head.ETag);
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw unavailable("read", key, error);
    }
  }

  async read(
    key: string,
    range?: ByteRange,
  ): Promise<{ object: StoredObject; body: ReadableStream<Uint8Array> } | undefined> {
    let got;
    try {
      got = await this.#client.send(
        new GetObjectCommand({
          Bucket: this.#bucket,
          Key: this.#key(key),
          Range: range ? `bytes=${range.start}-${range.end}` : undefined,
        }),
      );
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw unavailable("read", key, error);
    }
    // A ranged answer names the whole size after the slash: `bytes 0-99/12345`.
    const total = /\/(\d+)$/.exec(got.ContentRange ?? "")?.[1];
    const size = total !== undefined ? Number(total) : got.ContentLength ?? 0;
    const object = objectOf(key, size, got.ContentType, got.Metadata, got.ETag);
    const body = got.Body?.transformToWebStream() as ReadableStream<Uint8Array> | undefined;
    return { object, body: body ?? ReadableStream.from([]) };
  }

  async delete(key: string): Promise<void> {
    try {
      await this.#client.send(
        new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) }),
      );
    } catch (error) {
      if (statusOf(error) === 404) return;
      throw unavailable("delete", key, error);
    }
  }

  /** Deletes `keys` (absent ones are fine) with DeleteObjects, a thousand keys a request. */
  async deleteMany(keys: readonly string[]): Promise<void> {
    for (let at = 0; at < keys.length; at += DELETE_BATCH) {
      const batch = keys.slice(at, at + DELETE_BATCH);
      let answer;
      try {
        answer = await this.#client.send(
          new DeleteObjectsCommand({
            Bucket: this.#bucket,
            Delete: { Objects: batch.map((key) => ({ Key: this.#key(key) })), Quiet: true },
          }),
        );
      } catch (error) {
        throw unavailable("delete", `${batch[0]}…`, error);
      }
      const failed = answer.Errors?.find((e) => e.Code !== "NoSuchKey");
      if (failed) {
        throw new UnavailableError(
          `Cannot delete "${failed.Key?.slice(this.#prefix.length)}" now: ${failed.Code}`,
          RETRY_AFTER_SECONDS,
        );
      }
    }
  }

  async *list(prefix: string): AsyncIterable<string> {
    if (prefix) checkObjectKey(prefix);
    const s3Prefix = this.#prefix + (prefix ? `${prefix}/` : "");
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.#client.send(
          new ListObjectsV2Command({
            Bucket: this.#bucket,
            Prefix: s3Prefix,
            ContinuationToken: token,
          }),
        );
      } catch (error) {
        throw unavailable("list", prefix, error);
      }
      for (const entry of page.Contents ?? []) {
        if (entry.Key) yield entry.Key.slice(this.#prefix.length);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** A presigned GET of `key`, valid for `expiresInSeconds`: S3 serves the bytes itself. */
  signedUrl(key: string, expiresInSeconds: number): Promise<string> {
    return getSignedUrl(
      this.#client,
      new GetObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) }),
      { expiresIn: expiresInSeconds },
    );
  }

  async ping(): Promise<void> {
    try {
      await this.#client.send(new HeadBucketCommand({ Bucket: this.#bucket }));
    } catch (error) {
      throw new Error(`Bucket "${this.#bucket}" cannot be reached: ${nameOf(error)}`);
    }
  }

  close(): Promise<void> {
    this.#client.destroy();
    this.#once.destroy();
    return Promise.resolve();
  }
}

function objectOf(
  key: string,
  size: number,
  contentType: string | undefined,
  metadata: Record<string, string> | undefined,
  s3Etag: string | undefined,
): StoredObject {
  // An object this store did not write has no digest: it matches no writer's (a conflict).
  const sha256 = metadata?.sha256 ?? "";
  return {
    key,
    size,
    contentType: contentType ?? "application/octet-stream",
    sha256,
    etag: sha256 ? etagOf(sha256) : s3Etag ?? '""',
  };
}

/**
 * The body of a put of declared `size`, checked as it is read: its prefix first, then its
 * chunks. It fails (recording why in `refused` and aborting the request) when the body fails, is
 * longer or shorter than declared, or is not of the claimed digest. Each chunk is handed on only
 * once the next one arrived, and the last only once the whole body is checked: S3 never receives
 * the bytes of a refused body whole, so their checksum can never match.
 */
async function* checked(
  key: string,
  body: ReadableStream<Uint8Array>,
  { prefix, sha256: claimed }: PutOptions,
  size: number,
  refused: { error?: Error; abort(): void },
): AsyncGenerator<Uint8Array> {
  const hash = createHash("sha256");
  const reader = body.getReader();
  let received = 0;
  let finished = false;
  const fail = (error: Error): never => {
    refused.error = error;
    refused.abort();
    throw error;
  };
  try {
    let held: Uint8Array | undefined;
    let chunk: Uint8Array | undefined = prefix?.byteLength ? prefix : undefined;
    while (true) {
      if (!chunk) {
        try {
          const { done, value } = await reader.read();
          if (done) break;
          chunk = value;
        } catch (error) {
          fail(new IncompleteBodyError(key, received, size, { cause: error }));
        }
      }
      received += chunk!.byteLength;
      if (received > size) fail(new IncompleteBodyError(key, received, size));
      hash.update(chunk!);
      if (held) yield held;
      held = chunk;
      chunk = undefined;
    }
    finished = true;
    if (received !== size) fail(new IncompleteBodyError(key, received, size));
    const actual = hash.digest("base64");
    if (actual !== claimed) fail(new DigestMismatchError(key, actual));
    if (held) yield held;
  } finally {
    // Refused, or the request to S3 failed: the rest of the body is not wanted.
    if (!finished) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

/** A body of unknown length, whole, refused once longer than `maxBytes`. */
async function gather(
  key: string,
  body: ReadableStream<Uint8Array>,
  { prefix, maxBytes }: PutOptions,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = prefix?.byteLength ? [prefix] : [];
  let received = prefix?.byteLength ?? 0;
  if (received > maxBytes) {
    await body.cancel().catch(() => {});
    throw new BodyTooLargeError(key, maxBytes);
  }
  const reader = body.getReader();
  while (true) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch (error) {
      throw new IncompleteBodyError(key, received, undefined, { cause: error });
    }
    if (chunk.done) break;
    received += chunk.value.byteLength;
    if (received > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new BodyTooLargeError(key, maxBytes);
    }
    chunks.push(chunk.value);
  }
  const whole = new Uint8Array(received);
  let at = 0;
  for (const chunk of chunks) {
    whole.set(chunk, at);
    at += chunk.byteLength;
  }
  return whole;
}

/** Checks that `body` has nothing after the `size` bytes the caller already read. */
async function expectEnd(key: string, body: ReadableStream<Uint8Array>, size: number) {
  const reader = body.getReader();
  let extra = 0;
  try {
    const { done, value } = await reader.read();
    extra = done ? 0 : value.byteLength;
  } catch (error) {
    throw new IncompleteBodyError(key, size, size, { cause: error });
  }
  if (extra > 0) {
    await reader.cancel().catch(() => {});
    throw new IncompleteBodyError(key, size + extra, size);
  }
}

async function sha256Of(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  let binary = "";
  for (const byte of digest) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** The HTTP status S3 answered with; undefined when no answer came (network, timeout). */
function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

/** A short name of what went wrong: S3's error code, or the network error's. */
function nameOf(error: unknown): string {
  const e = error as { name?: string; code?: string; message?: string };
  const status = statusOf(error);
  const what = e?.code ?? e?.name ?? "Error";
  return status ? `${what} (${status})` : `${what}: ${e?.message ?? String(error)}`.slice(0, 200);
}

/** S3 could not do what was asked: 503 with `Retry-After` for the client. */
function unavailable(action: string, key: string, error: unknown): UnavailableError {
  const unavailableError = new UnavailableError(
    `Cannot ${action} "${key}" now: the object store is unavailable (${
      nameOf(error)
    }); retry later`,
    RETRY_AFTER_SECONDS,
  );
  unavailableError.cause = error;
  return unavailableError;
}
