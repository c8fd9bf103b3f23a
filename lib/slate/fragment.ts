/**
 * Filler segments cut from a slate: the slate's one keyframe in a fragment of its own, whose
 * decode time (`tfdt`) and sample duration (`trun`) say where in a hole the piece lies and how
 * long it lasts. Some hundred bytes of boxes written per request around the stored sample: no
 * encoding per request.
 */
import { readBoxes } from "../media/box.ts";
import { MediaFormatError, parseInitSegment, parseMediaSegment } from "../media/mod.ts";
import { gapPiece } from "../playlist/mod.ts";

/** A slate made for one encoding: its init segment and its single keyframe. */
export interface Slate {
  /** The encoding key it was made for (see `encodingKey`). */
  key: string;
  /** RFC 6381 codecs string of the slate itself. */
  codec: string;
  width: number;
  height: number;
  trackId: number;
  timescale: number;
  /** ftyp + moov. */
  init: Uint8Array;
  /** The keyframe's bytes (the mdat payload). */
  sample: Uint8Array;
  /** Short digest of init and sample: ETags change when a slate is made anew. */
  digest: string;
}

/**
 * Reads ffmpeg's fragmented MP4 of one frame (ftyp, moov, moof, mdat) into a slate; throws
 * MediaFormatError when it is not that.
 */
export async function readSlate(key: string, file: Uint8Array): Promise<Slate> {
  const boxes = readBoxes(file, "slate");
  const moofAt = boxes.findIndex((box) => box.type === "moof");
  const mdat = boxes.find((box) => box.type === "mdat");
  if (moofAt < 1 || !mdat) throw new MediaFormatError("Cannot use slate: no fragment");
  const init = file.slice(0, boxes[moofAt].offset);
  const info = parseInitSegment(init);
  const media = parseMediaSegment(file.subarray(boxes[moofAt].offset), info);
  if (media.sampleCount !== 1 || !media.startsWithKeyframe || mdat.body.byteLength === 0) {
    throw new MediaFormatError("Cannot use slate: its fragment is not one keyframe");
  }
  const sample = mdat.body.slice();
  const hash = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new Uint8Array([...init, ...sample])),
  );
  const digest = Array.from(hash.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
  return {
    key,
    codec: info.codec,
    width: info.width,
    height: info.height,
    trackId: info.trackId,
    timescale: info.timescale,
    init,
    sample,
    digest,
  };
}

/**
 * Piece `index` of a hole of `totalMs` cut into `count` pieces (see `gapPiece`): one fragment
 * (`moof` + `mdat`) holding the slate's keyframe, decode time the piece's start from the hole's
 * start and duration the piece's, both in the slate's timescale; the fragment's sequence number
 * is `index + 1`. RangeError when there is no such piece.
 */
export function slateSegment(slate: Slate, totalMs: number, count: number, index: number) {
  const piece = gapPiece(totalMs, count, index);
  const ticks = (ms: number) => Math.round((ms * slate.timescale) / 1000);
  const start = ticks(piece.startMs);
  const duration = ticks(piece.startMs + piece.durationMs) - start;
  const mfhd = box("mfhd", u32(0), u32(index + 1));
  const tfhd = box("tfhd", u32(0x020000), u32(slate.trackId)); // default-base-is-moof
  const tfdt = box("tfdt", u32(0x01000000), u64(start));
  const trunSize = 8 + 4 + 4 + 4 + 12;
  const moofSize = 8 + mfhd.length + 8 + tfhd.length + tfdt.length + trunSize;
  const trun = box(
    "trun",
    u32(0x000701), // data offset, sample duration, size and flags present
    u32(1),
    u32(moofSize + 8),
    u32(duration),
    u32(slate.sample.byteLength),
    u32(0x02000000), // depends on no other sample: a sync sample
  );
  const moof = box("moof", mfhd, box("traf", tfhd, tfdt, trun));
  const mdat = box("mdat", slate.sample);
  const bytes = new Uint8Array(moof.length + mdat.length);
  bytes.set(moof);
  bytes.set(mdat, moof.length);
  return bytes;
}

function box(type: string, ...parts: Uint8Array[]): Uint8Array {
  const size = 8 + parts.reduce((n, part) => n + part.length, 0);
  const bytes = new Uint8Array(size);
  new DataView(bytes.buffer).setUint32(0, size);
  for (let i = 0; i < 4; i++) bytes[4 + i] = type.charCodeAt(i);
  let at = 8;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return bytes;
}

function u32(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value);
  return bytes;
}

function u64(value: number): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(value));
  return bytes;
}
