/**
 * Receiving a put's body into its temporary object file: header and bytes written, the digest
 * checked, the size limits enforced as the bytes arrive. Nothing here fsyncs or publishes.
 */
import { createHash } from "node:crypto";
import { BodyTooLargeError, DigestMismatchError, IncompleteBodyError } from "./errors.ts";
import { HEADER_BYTES, headerOf, type Meta } from "./fs_header.ts";
import type { PutOptions } from "./types.ts";

/** Largest piece of a streamed body read at once. */
const CHUNK_BYTES = 65_536;
/** Bodies of a declared size up to this are received whole and hashed off the main thread. */
const WHOLE_MAX_BYTES = 4 * 1024 * 1024;

/**
 * Receives `body` (after `options.prefix`) into the file `opening` resolves to, header first,
 * and returns its metadata once its digest is the claimed one. A prefix that is the whole body is
 * hashed by WebCrypto and written as it is. A body of declared size (up to
 * 4 MiB) is received into memory, read straight from the connection into one buffer, hashed by
 * WebCrypto off the main thread and written at once; a larger or chunked one is streamed, hashed
 * chunk by chunk. Writes are synchronous: a write to the page cache copies memory and does not
 * wait for the disk (the fsync after it does), and costs less than a hand-off to a thread.
 * Throws BodyTooLargeError, IncompleteBodyError or DigestMismatchError.
 */
export async function receiveInto(
  opening: Promise<Deno.FsFile>,
  key: string,
  body: ReadableStream<Uint8Array>,
  options: PutOptions,
): Promise<Meta> {
  const { size, maxBytes, sha256: claimed, contentType } = options;
  if (size !== undefined && size > maxBytes) {
    await body.cancel().catch(() => {});
    throw new BodyTooLargeError(key, maxBytes);
  }
  if (size !== undefined && options.prefix?.byteLength === size) {
    // The caller holds the whole body already (ingest reads it to check the media): no copy.
    const whole = options.prefix;
    await expectEnd(key, body, size);
    const sha256 = base64(
      new Uint8Array(await crypto.subtle.digest("SHA-256", whole as BufferSource)),
    );
    if (sha256 !== claimed) throw new DigestMismatchError(key, sha256);
    const meta = { size, contentType, sha256 };
    const file = await opening;
    writeAllSync(file, headerOf(meta));
    writeAllSync(file, whole);
    return meta;
  }
  if (size !== undefined && size <= WHOLE_MAX_BYTES) {
    const whole = await receiveWhole(key, body, { ...options, size });
    if (whole.sha256 !== claimed) throw new DigestMismatchError(key, whole.sha256);
    const meta = { size, contentType, sha256: whole.sha256 };
    whole.bytes.set(headerOf(meta));
    writeAllSync(await opening, whole.bytes);
    return meta;
  }
  const file = await opening;
  file.seekSync(HEADER_BYTES, Deno.SeekMode.Start); // the header is written last
  const streamed = await receiveStreamed(key, body, file, options);
  if (streamed.sha256 !== claimed) throw new DigestMismatchError(key, streamed.sha256);
  const meta = { size: streamed.size, contentType, sha256: streamed.sha256 };
  file.seekSync(0, Deno.SeekMode.Start);
  writeAllSync(file, headerOf(meta));
  return meta;
}

/**
 * Receives a body of known `size` into a buffer after room for its header, reading straight into
 * it when the stream is a byte stream, then hashes it with WebCrypto.
 */
async function receiveWhole(
  key: string,
  body: ReadableStream<Uint8Array>,
  { size, prefix = new Uint8Array(0) }: PutOptions & { size: number },
): Promise<{ bytes: Uint8Array<ArrayBuffer>; sha256: string }> {
  const end = HEADER_BYTES + size;
  let buffer = new ArrayBuffer(end + 1); // a byte more, to see a body longer than declared
  const first = prefix.subarray(0, size + 1);
  new Uint8Array(buffer, HEADER_BYTES).set(first);
  let filled = HEADER_BYTES + first.byteLength;
  const room = () => end + 1 - filled;
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = body.getReader({ mode: "byob" });
  } catch { /* not a byte stream */ }
  const reader = byob ?? body.getReader();
  try {
    while (filled <= end) {
      if (byob) {
        const { done, value } = await byob.read(new Uint8Array(buffer, filled, room()));
        if (value) buffer = value.buffer as ArrayBuffer; // the read took it over, even at the end
        if (done || !value) break;
        filled += value.byteLength;
      } else {
        const { done, value } = await (reader as ReadableStreamDefaultReader<Uint8Array>).read();
        if (done) break;
        const taken = value.subarray(0, room());
        new Uint8Array(buffer, filled).set(taken);
        filled += taken.byteLength;
      }
    }
  } catch (error) {
    await reader.cancel().catch(() => {});
    throw new IncompleteBodyError(key, filled - HEADER_BYTES, size, { cause: error });
  } // The reader is not released: the stream is over, and a release costs an error object.
  if (filled !== end) {
    await reader.cancel().catch(() => {});
    throw new IncompleteBodyError(key, filled - HEADER_BYTES, size);
  }
  const bytes = new Uint8Array(buffer, 0, end);
  const digest = await crypto.subtle.digest("SHA-256", bytes.subarray(HEADER_BYTES));
  return { bytes, sha256: base64(new Uint8Array(digest)) };
}

/** Checks that `body` has nothing after the `size` bytes already received. */
async function expectEnd(
  key: string,
  body: ReadableStream<Uint8Array>,
  size: number,
): Promise<void> {
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

/**
 * Streams a body into `file` at its position, hashing it on the way, reading into one reused
 * buffer when the stream is a byte stream. Refuses it once it is over `maxBytes`.
 */
async function receiveStreamed(
  key: string,
  body: ReadableStream<Uint8Array>,
  file: Deno.FsFile,
  { maxBytes, size: declared, prefix }: PutOptions,
): Promise<{ size: number; sha256: string }> {
  const hash = createHash("sha256");
  const chunks = chunksOf(body);
  let size = 0;
  try {
    let chunk = prefix?.byteLength ? prefix : undefined;
    while (true) {
      if (!chunk) {
        try {
          chunk = await chunks.next();
        } catch (error) {
          throw new IncompleteBodyError(key, size, declared, { cause: error });
        }
        if (!chunk) break;
      }
      size += chunk.byteLength;
      if (size > maxBytes) throw new BodyTooLargeError(key, maxBytes);
      hash.update(chunk);
      writeAllSync(file, chunk);
      chunk = undefined;
    }
  } catch (error) {
    await chunks.cancel();
    throw error;
  }
  if (declared !== undefined && size !== declared) {
    throw new IncompleteBodyError(key, size, declared);
  }
  return { size, sha256: hash.digest("base64") };
}

/**
 * Reads `stream` chunk by chunk: with a BYOB reader into one buffer reused for every chunk (each
 * chunk is valid until the next call) when it is a byte stream, else with a default reader.
 */
function chunksOf(stream: ReadableStream<Uint8Array>): {
  next(): Promise<Uint8Array | undefined>;
  cancel(): Promise<void>;
} {
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = stream.getReader({ mode: "byob" });
  } catch { /* not a byte stream */ }
  const reader = byob ?? stream.getReader();
  let buffer = new ArrayBuffer(CHUNK_BYTES);
  return {
    async next() {
      if (!byob) {
        const { done, value } = await (reader as ReadableStreamDefaultReader<Uint8Array>).read();
        return done ? undefined : value;
      }
      const { done, value } = await byob.read(new Uint8Array(buffer));
      if (value) buffer = value.buffer as ArrayBuffer; // the read took it over
      return done ? undefined : value;
    },
    cancel: () => reader.cancel().catch(() => {}),
  };
}

function writeAllSync(file: Deno.FsFile, bytes: Uint8Array): void {
  let written = 0;
  while (written < bytes.byteLength) written += file.writeSync(bytes.subarray(written));
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}
