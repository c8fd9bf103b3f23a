import { PayloadTooLargeError, ValidationError } from "../errors/mod.ts";

/** An upload's body as it arrives, with what the vehicle declared about it. */
export interface Upload {
  /** The bytes, read once, as they arrive. */
  body: ReadableStream<Uint8Array>;
  /** The `Content-Digest` header. */
  digest: string | undefined;
  /** The `Content-Length` header, when the body was not chunked. */
  size?: number;
  /** Largest body accepted. */
  maxBytes: number;
}

/**
 * Reads the first bytes of a body, at least `bytes` of them unless it is shorter, and leaves the
 * rest in `stream` (unlocked) for whoever reads on. With a byte stream (request bodies are), it
 * reads exactly `bytes`; with another it may read a whole chunk more.
 *
 * @example const head = await readHead(request.body!, 512); // then store(head, request.body!)
 */
export async function readHead(
  stream: ReadableStream<Uint8Array>,
  bytes: number,
): Promise<Uint8Array> {
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = stream.getReader({ mode: "byob" });
  } catch { /* not a byte stream */ }
  const reader = byob ?? stream.getReader();
  let head: Uint8Array = new Uint8Array(0);
  try {
    while (head.byteLength < bytes) {
      const { done, value } = byob
        ? await byob.read(new Uint8Array(bytes - head.byteLength))
        : await (reader as ReadableStreamDefaultReader<Uint8Array>).read();
      if (done || !value) break;
      head = head.byteLength ? concat(head, value) : value;
    }
  } catch {
    await reader.cancel().catch(() => {});
    throw new ValidationError("Request body is truncated: the connection ended early");
  } finally {
    reader.releaseLock();
  }
  return head;
}

/** First buffer of a body of undeclared size; it doubles as the bytes arrive. */
const FIRST_BUFFER_BYTES = 1024 * 1024;

/**
 * Reads the rest of an upload after `head` (its first bytes, already read) into one buffer and
 * returns the whole body, held to its declared size and to `maxBytes`: ingest checks the media
 * before anything is stored. With a byte stream (request bodies are) the bytes are read straight
 * into the buffer; a declared size is allocated once.
 *
 * @example const body = await readBody(upload, await readHead(upload.body, 377));
 */
export async function readBody(upload: Upload, head: Uint8Array): Promise<Uint8Array> {
  const { body, size, maxBytes } = upload;
  const limit = size ?? maxBytes;
  if (limit > maxBytes || head.byteLength > limit) {
    await body.cancel().catch(() => {});
    throw tooLong(upload);
  }
  // A byte more than allowed, to see a body longer than it may be.
  let buffer = new ArrayBuffer(
    size !== undefined ? size + 1 : Math.min(maxBytes + 1, FIRST_BUFFER_BYTES),
  );
  new Uint8Array(buffer).set(head);
  let filled = head.byteLength;
  const grow = (needed: number) => {
    if (needed <= buffer.byteLength || buffer.byteLength > limit) return;
    const larger = new ArrayBuffer(Math.min(limit + 1, Math.max(needed, buffer.byteLength * 2)));
    new Uint8Array(larger).set(new Uint8Array(buffer, 0, filled));
    buffer = larger;
  };
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = body.getReader({ mode: "byob" });
  } catch { /* not a byte stream */ }
  const reader = byob ?? body.getReader();
  try {
    while (filled <= limit) {
      if (byob) {
        grow(filled + 1);
        const room = new Uint8Array(buffer, filled, buffer.byteLength - filled);
        const { done, value } = await byob.read(room);
        if (value) buffer = value.buffer as ArrayBuffer; // the read took it over, even at the end
        if (done || !value) break;
        filled += value.byteLength;
      } else {
        const { done, value } = await (reader as ReadableStreamDefaultReader<Uint8Array>).read();
        if (done) break;
        grow(filled + value.byteLength);
        const taken = value.subarray(0, buffer.byteLength - filled);
        new Uint8Array(buffer, filled).set(taken);
        filled += taken.byteLength;
      }
    }
  } catch {
    await reader.cancel().catch(() => {});
    throw new ValidationError("Request body is truncated: the connection ended early");
  } // The reader is not released: the stream is over, and a release costs an error object.
  if (filled > limit) {
    await reader.cancel().catch(() => {});
    throw tooLong(upload);
  }
  if (size !== undefined && filled < size) {
    throw new ValidationError(`Request body is truncated: ${filled} of ${size} bytes arrived`);
  }
  return new Uint8Array(buffer, 0, filled);
}

/** The error for a body longer than its declared size or than the limit. */
function tooLong({ size, maxBytes }: Upload): Error {
  return size === undefined || size > maxBytes
    ? new PayloadTooLargeError(maxBytes)
    : new ValidationError(`Request body is longer than its Content-Length of ${size} bytes`);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}
