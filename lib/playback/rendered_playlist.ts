import { createHash } from "node:crypto";
import { crc32, gzipSync } from "node:zlib";

const encoder = new TextEncoder();
/** Size of the slices {@linkcode RenderedPlaylist.stream} hands over: measured best for 10 MB. */
const SLICE_BYTES = 256 * 1024;

/**
 * A rendered playlist, ready to send as often as asked: its text as UTF-8 bytes, encoded once,
 * and gzip-compressed once when a client first accepts that.
 */
export class RenderedPlaylist {
  #gzipped?: Uint8Array<ArrayBuffer>;

  constructor(
    /** The playlist text as UTF-8. */
    readonly body: Uint8Array<ArrayBuffer>,
    /** Strong validator of `body` (the gzip'd body's is {@linkcode gzipEtag}). */
    readonly etag: string,
    readonly contentType: string,
    /** VOD playlists can be cached longer than growing ones. */
    readonly final: boolean,
  ) {}

  /**
   * `body` gzip-compressed, made on first use and kept. Level 1: playlists repeat themselves so
   * much that a day (10 MB) still shrinks about 45-fold, in a few milliseconds.
   */
  get gzipped(): Uint8Array<ArrayBuffer> {
    if (!this.#gzipped) {
      const compressed = gzipSync(this.body, { level: 1 });
      this.#gzipped = new Uint8Array(
        compressed.buffer as ArrayBuffer, // node:zlib never returns a shared buffer
        compressed.byteOffset,
        compressed.byteLength,
      );
    }
    return this.#gzipped;
  }

  /**
   * The body, or its gzip, as a stream of slices of the bytes kept here, for a response. Deno
   * sends a stream's chunks as they are, where it copies a Uint8Array body first: for a day's
   * playlist that is 10 MB allocated and copied per response, most of what a response costs.
   */
  stream(gzip = false): ReadableStream<Uint8Array<ArrayBuffer>> {
    const bytes = gzip ? this.gzipped : this.body;
    let at = 0;
    return new ReadableStream({
      pull(controller) {
        const end = Math.min(at + SLICE_BYTES, bytes.byteLength);
        if (end > at) controller.enqueue(bytes.subarray(at, end));
        at = end;
        if (at === bytes.byteLength) controller.close();
      },
    });
  }

  /** The validator of the gzip'd body: another representation, so another strong ETag. */
  get gzipEtag(): string {
    return `${this.etag.slice(0, -1)}-gz"`;
  }
}

/**
 * The text a playlist writer hands to its sink, as UTF-8 in one buffer: each chunk is encoded
 * straight into place, without first joining the chunks into one string.
 *
 * @example const body = utf8Text((write) => writeHlsMediaPlaylist(timeline, options, write));
 */
export function utf8Text(
  writeAll: (write: (chunk: string) => void) => void,
): Uint8Array<ArrayBuffer> {
  const chunks: string[] = [];
  let chars = 0;
  writeAll((chunk) => {
    chunks.push(chunk);
    chars += chunk.length;
  });
  let buffer = new Uint8Array(chars); // exact for ASCII, which playlists are unless a URL is not
  let at = 0;
  for (const chunk of chunks) {
    let rest = chunk;
    while (true) {
      const { read, written } = encoder.encodeInto(rest, buffer.subarray(at));
      at += written;
      if (read === rest.length) break;
      rest = rest.slice(read);
      const grown = new Uint8Array(buffer.byteLength * 2 + 16);
      grown.set(buffer.subarray(0, at));
      buffer = grown;
    }
  }
  return at === buffer.byteLength ? buffer : buffer.slice(0, at);
}

/**
 * A strong ETag for `body`, rendered from `source` (what it was made of): a hash of both and of
 * the body's length and CRC-32, which takes a millisecond where a digest of 10 MB takes ten.
 */
export function playlistEtag(source: string, body: Uint8Array): string {
  const digest = createHash("sha256")
    .update(`${source}\n${body.byteLength}\n${crc32(body)}`)
    .digest("base64url");
  return `"${digest.slice(0, 32)}"`;
}
