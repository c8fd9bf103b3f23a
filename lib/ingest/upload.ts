import { ValidationError } from "../errors/mod.ts";

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

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}
