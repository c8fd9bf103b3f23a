/** The metadata of an object file: a fixed-size header before the object's own bytes. */

/** What the store knows of an object besides its bytes. */
export interface Meta {
  size: number;
  contentType: string;
  /** SHA-256 of the bytes, base64. */
  sha256: string;
}

/** Bytes before an object's own: the magic line, the metadata as JSON, spaces, a newline. */
export const HEADER_BYTES = 512;
const MAGIC = "motorcade-object 1\n";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The header of an object with `meta`. Throws TypeError when the content type is too long for it.
 *
 * @example file.writeSync(headerOf({ size: 3, contentType: "video/mp4", sha256 }))
 */
export function headerOf(meta: Meta): Uint8Array<ArrayBuffer> {
  const { size, contentType, sha256 } = meta;
  const text = MAGIC + JSON.stringify({ size, contentType, sha256 });
  const header = new Uint8Array(HEADER_BYTES).fill(0x20);
  const { written } = encoder.encodeInto(text, header);
  if (written < text.length || text.length >= HEADER_BYTES) {
    throw new TypeError(
      `Content type "${meta.contentType.slice(0, 40)}…" is too long to store with an object`,
    );
  }
  header[HEADER_BYTES - 1] = 0x0a;
  return header;
}

/** The metadata in the first bytes of an object file, or undefined when they are no header. */
export function parseHeader(bytes: Uint8Array): Meta | undefined {
  if (bytes.byteLength < HEADER_BYTES) return undefined;
  const text = decoder.decode(bytes.subarray(0, HEADER_BYTES));
  if (!text.startsWith(MAGIC)) return undefined;
  try {
    const meta = JSON.parse(text.slice(MAGIC.length));
    return isMeta(meta) ? meta : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The metadata of an object of the first layout (raw bytes, metadata in a `.meta` file beside
 * them), or undefined when there is no such file.
 */
export async function readLegacyMeta(path: string): Promise<Meta | undefined> {
  try {
    const meta = JSON.parse(await Deno.readTextFile(`${path}.meta`));
    return isMeta(meta) ? meta : undefined;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof SyntaxError) return undefined;
    throw error;
  }
}

function isMeta(value: unknown): value is Meta {
  const meta = value as Meta;
  return typeof meta === "object" && meta !== null && Number.isSafeInteger(meta.size) &&
    meta.size >= 0 && typeof meta.contentType === "string" && typeof meta.sha256 === "string";
}
