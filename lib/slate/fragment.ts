/**
 * Filler segments cut from a slate: the slate's keyframe in a fragment of its own (and, for a
 * piece played under a recording's init, the still frames that follow it), whose decode time
 * (`tfdt`) and sample durations (`trun`) say where in a hole the piece lies and how long it
 * lasts. Some hundred bytes of boxes written per request around the stored samples: no encoding
 * per request.
 */
import { childrenOf, findBox, readBoxes } from "../media/box.ts";
import type { Box } from "../media/box.ts";
import { MediaFormatError, parseInitSegment, parseMediaSegment } from "../media/mod.ts";
import { gapPiece } from "../playlist/mod.ts";
import { SLATE_FPS } from "./encoding.ts";

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
  /** The keyframe's bytes. */
  sample: Uint8Array;
  /**
   * The keyframe, then the still frames that repeat it (a few bytes each) at `SLATE_FPS`: a
   * piece holds as many as its length takes (see `slateSegment`).
   */
  samples: Uint8Array[];
  /** Short digest of init and sample: ETags change when a slate is made anew. */
  digest: string;
}

/**
 * Reads ffmpeg's fragmented MP4 of a still (ftyp, moov, one moof and mdat opening on a keyframe)
 * into a slate; throws MediaFormatError when it is not that.
 */
export async function readSlate(key: string, file: Uint8Array): Promise<Slate> {
  const boxes = readBoxes(file, "slate");
  const moofAt = boxes.findIndex((box) => box.type === "moof");
  const mdat = boxes.find((box) => box.type === "mdat");
  if (moofAt < 1 || !mdat) throw new MediaFormatError("Cannot use slate: no fragment");
  const init = file.slice(0, boxes[moofAt].offset);
  const info = parseInitSegment(init);
  const media = parseMediaSegment(file.subarray(boxes[moofAt].offset), info);
  if (media.sampleCount < 1 || !media.startsWithKeyframe || mdat.body.byteLength === 0) {
    throw new MediaFormatError("Cannot use slate: its fragment does not open on a keyframe");
  }
  const sizes = sampleSizes(boxes[moofAt], info.defaultSampleSize);
  const samples: Uint8Array[] = [];
  let at = 0;
  for (const size of sizes) {
    if (size <= 0 || at + size > mdat.body.byteLength) {
      throw new MediaFormatError("Cannot use slate: its samples do not fit its mdat");
    }
    samples.push(mdat.body.slice(at, at + size));
    at += size;
  }
  const sample = samples[0];
  const hash = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new Uint8Array([...init, ...mdat.body])),
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
    samples,
    digest,
  };
}

/** The sizes of the samples of a `moof`'s first `trun` (else the defaults of tfhd, trex). */
function sampleSizes(moof: Box, trexSize: number): number[] {
  const traf = findBox(childrenOf(moof), "traf");
  const children = traf ? childrenOf(traf) : [];
  const tfhd = findBox(children, "tfhd");
  const trun = findBox(children, "trun");
  if (!tfhd || !trun) throw new MediaFormatError("Cannot use slate: no tfhd or trun");
  const h = new DataView(tfhd.body.buffer, tfhd.body.byteOffset, tfhd.body.byteLength);
  const hFlags = h.getUint32(0) & 0xffffff;
  let at = 8 + (hFlags & 1 ? 8 : 0) + (hFlags & 2 ? 4 : 0) + (hFlags & 8 ? 4 : 0);
  const defaultSize = hFlags & 0x10 ? h.getUint32(at) : trexSize;
  const r = new DataView(trun.body.buffer, trun.body.byteOffset, trun.body.byteLength);
  const flags = r.getUint32(0) & 0xffffff;
  const count = r.getUint32(4);
  at = 8 + (flags & 1 ? 4 : 0) + (flags & 4 ? 4 : 0);
  const entry = [0x100, 0x200, 0x400, 0x800].filter((bit) => flags & bit).length * 4;
  const sizeAt = flags & 0x100 ? 4 : 0;
  const sizes: number[] = [];
  for (let i = 0; i < count; i++) {
    if (at + entry > trun.body.byteLength) {
      throw new MediaFormatError("Cannot use slate: short trun");
    }
    sizes.push(flags & 0x200 ? r.getUint32(at + sizeAt) : defaultSize);
    at += entry;
  }
  return sizes;
}

/**
 * Piece `index` of a hole of `totalMs` cut into `count` pieces (see `gapPiece`): one fragment
 * (`moof` + `mdat`) holding the slate's keyframe and still frames, decode time the piece's start from the hole's
 * start and duration the piece's, both in the slate's timescale; the fragment's sequence number
 * is `index + 1`. RangeError when there is no such piece.
 *
 * With `at`, the piece is made to play under a recording's own init segment (an H.264 slate
 * carries its parameter sets in the frame, under ids the recording does not use): its decode time
 * is `at.decodeTime` (ticks on the recording's stretch), and its sample is presented
 * `at.compositionOffset` ticks after it, as the recording's edit list expects of its own frames.
 */
export function slateSegment(
  slate: Slate,
  totalMs: number,
  count: number,
  index: number,
  at?: { decodeTime: number; compositionOffset?: number },
) {
  const piece = gapPiece(totalMs, count, index);
  const ticks = (ms: number) => Math.round((ms * slate.timescale) / 1000);
  const start = at ? at.decodeTime : ticks(piece.startMs);
  const duration = ticks(piece.startMs + piece.durationMs) - ticks(piece.startMs);
  const offset = at?.compositionOffset ?? 0;
  // The keyframe, then still frames at the slate's frame rate (the last takes what is left);
  // at least 25 while the piece has the ticks for them (see `slateArguments`).
  const frameTicks = Math.max(1, Math.round(slate.timescale / SLATE_FPS));
  const wanted = Math.max(Math.round(duration / frameTicks), Math.min(25, duration));
  const frames = slate.samples.slice(0, Math.max(1, wanted));
  const each = Math.min(frameTicks, Math.floor(duration / frames.length));
  const mfhd = box("mfhd", u32(0), u32(index + 1));
  const tfhd = box("tfhd", u32(0x020000), u32(slate.trackId)); // default-base-is-moof
  const tfdt = box("tfdt", u32(0x01000000), u64(start));
  const entrySize = 12 + (offset ? 4 : 0);
  const trunSize = 8 + 4 + 4 + 4 + entrySize * frames.length;
  const moofSize = 8 + mfhd.length + 8 + tfhd.length + tfdt.length + trunSize;
  const entries = frames.flatMap((frame, i) => [
    u32(i === frames.length - 1 ? duration - each * i : each),
    u32(frame.byteLength),
    // The keyframe depends on no other sample (a sync sample); the still frames on it.
    u32(i === 0 ? 0x02000000 : 0x01010000),
    ...(offset ? [u32(offset)] : []),
  ]);
  const trun = box(
    "trun",
    // Data offset, sample duration, size and flags present (and composition offset).
    u32(offset ? 0x000f01 : 0x000701),
    u32(frames.length),
    u32(moofSize + 8),
    ...entries,
  );
  const moof = box("moof", mfhd, box("traf", tfhd, tfdt, trun));
  const mdat = box("mdat", ...frames);
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
