/**
 * ISO BMFF (ISO/IEC 14496-12) boxes: walking a run of boxes and reading their big-endian fields.
 * Nothing is copied: a box is a window onto the bytes it was read from.
 */
import { MediaFormatError } from "./errors.ts";

/** One box: its four-character type and its payload (after the header). */
export interface Box {
  type: string;
  /** Offset of the box header within the bytes handed to {@linkcode readBoxes}. */
  offset: number;
  /** Size of the whole box, header included. */
  size: number;
  /** The payload: everything after the (large)size, type and, for `uuid`, the user type. */
  body: Uint8Array;
}

/** A box header as found at some offset, before its size is checked against the bytes. */
export interface BoxHeader {
  type: string;
  size: number;
  headerSize: number;
}

/** Four printable ASCII characters (the ISO box types in use are all of this form). */
const FOURCC = /^[\x20-\x7e]{4}$/;

/** Reads the box header at `offset`, or undefined when too few bytes remain for one. */
export function readBoxHeader(bytes: Uint8Array, offset = 0): BoxHeader | undefined {
  if (bytes.length - offset < 8) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, bytes.length - offset);
  let size = view.getUint32(0);
  const type = fourcc(bytes, offset + 4);
  let headerSize = 8;
  if (size === 1) {
    if (bytes.length - offset < 16) return undefined;
    size = uint64(view, 8);
    headerSize = 16;
  } else if (size === 0) {
    size = bytes.length - offset;
  }
  if (type === "uuid") headerSize += 16;
  return { type, size, headerSize };
}

/**
 * The boxes laid end to end in `bytes` (a file, or a container's payload). Throws
 * MediaFormatError when a box is truncated or its size is impossible.
 */
export function readBoxes(bytes: Uint8Array, context = "file"): Box[] {
  const boxes: Box[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const header = readBoxHeader(bytes, offset);
    if (!header) {
      throw new MediaFormatError(`Cannot read box at byte ${offset} of ${context}: truncated`);
    }
    if (!FOURCC.test(header.type)) {
      throw new MediaFormatError(
        `Cannot read box at byte ${offset} of ${context}: type is not a four-character code`,
      );
    }
    if (header.size < header.headerSize || offset + header.size > bytes.length) {
      throw new MediaFormatError(
        `Cannot read box "${header.type}" at byte ${offset} of ${context}: size ${header.size} ` +
          `does not fit the ${bytes.length - offset} bytes left`,
      );
    }
    boxes.push({
      type: header.type,
      offset,
      size: header.size,
      body: bytes.subarray(offset + header.headerSize, offset + header.size),
    });
    offset += header.size;
  }
  return boxes;
}

/** The first child of `type`, or undefined. */
export function findBox(boxes: Box[], type: string): Box | undefined {
  return boxes.find((box) => box.type === type);
}

/** The first child of `type`; throws MediaFormatError naming `context` when there is none. */
export function requireBox(boxes: Box[], type: string, context: string): Box {
  const box = findBox(boxes, type);
  if (!box) throw new MediaFormatError(`Cannot find box "${type}" in ${context}`);
  return box;
}

/** The children of a container box (moov, trak, moof, …). */
export function childrenOf(box: Box): Box[] {
  return readBoxes(box.body, `box "${box.type}"`);
}

/** Four bytes at `offset` as a string. */
export function fourcc(bytes: Uint8Array, offset: number): string {
  return String.fromCharCode(
    bytes[offset],
    bytes[offset + 1],
    bytes[offset + 2],
    bytes[offset + 3],
  );
}

/** A 64-bit unsigned integer as a number; throws when it is beyond 2^53. */
export function uint64(view: DataView, offset: number): number {
  const high = view.getUint32(offset);
  if (high >= 0x200000) {
    throw new MediaFormatError("Cannot read a 64-bit value beyond 2^53");
  }
  return high * 0x1_0000_0000 + view.getUint32(offset + 4);
}

/**
 * A bounds-checked cursor over a box payload. Reading past the end throws MediaFormatError
 * naming the box, so a truncated box is reported instead of read as zeros.
 */
export class FieldReader {
  readonly #view: DataView;
  readonly #context: string;
  offset = 0;

  constructor(readonly bytes: Uint8Array, context: string) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#context = context;
  }

  #need(n: number): number {
    const at = this.offset;
    if (at + n > this.bytes.length) {
      throw new MediaFormatError(`Cannot read ${this.#context}: box is truncated`);
    }
    this.offset += n;
    return at;
  }

  u8(): number {
    return this.#view.getUint8(this.#need(1));
  }

  u16(): number {
    return this.#view.getUint16(this.#need(2));
  }

  u32(): number {
    return this.#view.getUint32(this.#need(4));
  }

  i32(): number {
    return this.#view.getInt32(this.#need(4));
  }

  u64(): number {
    return uint64(this.#view, this.#need(8));
  }

  skip(n: number): void {
    this.#need(n);
  }

  /** Reads a full box's version (8 bits) and flags (24 bits). */
  versionAndFlags(): { version: number; flags: number } {
    const word = this.u32();
    return { version: word >>> 24, flags: word & 0xffffff };
  }

  /** The next `n` bytes. */
  take(n: number): Uint8Array {
    const at = this.#need(n);
    return this.bytes.subarray(at, at + n);
  }
}
