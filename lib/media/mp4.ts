/**
 * What the platform needs to know of CMAF (fragmented MP4) bytes: which container an upload is,
 * what an init segment carries (codec, size, timescale) and how long a media segment lasts and
 * whether it opens on a keyframe. Reads only the boxes it needs; never decodes media.
 */
import { childrenOf, FieldReader, readBoxes, readBoxHeader, requireBox } from "./box.ts";
import type { Box } from "./box.ts";
import { avcCodec, hevcCodec } from "./codec.ts";
import { MediaFormatError } from "./errors.ts";

/** The container of an uploaded segment. */
export type MediaType = "fmp4" | "mpegts";

/** What an init segment says about its video track. */
export interface InitSegmentInfo {
  trackId: number;
  /** Ticks per second of the track's media timeline (`mdhd`). */
  timescale: number;
  width: number;
  height: number;
  /** RFC 6381 codecs string, e.g. `avc1.64001f` or `hvc1.1.6.L93.B0`. */
  codec: string;
  /** `trex` default sample duration, in timescale ticks (0 when the encoder left it unset). */
  defaultSampleDuration: number;
  /** `trex` default sample flags. */
  defaultSampleFlags: number;
  /** `trex` default sample size, in bytes (0 when the encoder left it unset). */
  defaultSampleSize: number;
  /** Bytes of the length before each NAL unit of a sample (1, 2 or 4; `avcC`/`hvcC`). */
  nalLengthSize: number;
}

/** What a media segment's fragments say about its video track. */
export interface MediaSegmentInfo {
  trackId: number;
  /** Decode time of the first sample (`tfdt`), in timescale ticks. */
  baseMediaDecodeTime: number;
  /** Sum of the sample durations of every fragment, in timescale ticks. */
  durationInTimescale: number;
  sampleCount: number;
  /** Whether the first sample is a sync sample (a keyframe the segment can be decoded from). */
  startsWithKeyframe: boolean;
}

const FMP4_FIRST_BOXES = new Set(["ftyp", "styp", "moof", "sidx", "emsg", "prft", "moov"]);
const TS_PACKET = 188;
const TS_SYNC = 0x47;

/**
 * Tells an fMP4 file (a box of a type that can open one, with a plausible size) from an MPEG-TS
 * one (sync bytes every 188 bytes), from its first bytes.
 *
 * @example sniffMediaType(await Deno.readFile("0000000042.m4s")) // "fmp4"
 */
export function sniffMediaType(bytes: Uint8Array): MediaType | undefined {
  const header = readBoxHeader(bytes);
  if (header && FMP4_FIRST_BOXES.has(header.type) && header.size >= header.headerSize) {
    const brandBox = header.type === "ftyp" || header.type === "styp";
    // A brand box holds a major brand, a version and a few compatible brands.
    if (!brandBox || (header.size >= 16 && header.size <= 1024)) return "fmp4";
  }
  if (bytes.length >= TS_PACKET) {
    let sync = true;
    for (let at = 0; at < bytes.length && at <= 2 * TS_PACKET; at += TS_PACKET) {
      if (bytes[at] !== TS_SYNC) sync = false;
    }
    if (sync) return "mpegts";
  }
  return undefined;
}

/**
 * Reads an init segment's first video track: id, timescale, coded size and codecs string.
 * Throws MediaFormatError when the bytes are not a fragmented MP4 init segment with an H.264
 * or H.265 video track.
 */
export function parseInitSegment(bytes: Uint8Array): InitSegmentInfo {
  const moov = childrenOf(requireBox(readBoxes(bytes, "init segment"), "moov", "init segment"));
  const mvex = moov.find((box) => box.type === "mvex");
  if (!mvex) {
    throw new MediaFormatError('Cannot use init segment: no "mvex" box, so it is not fragmented');
  }
  for (const trak of moov.filter((box) => box.type === "trak")) {
    const trakChildren = childrenOf(trak);
    const mdia = childrenOf(requireBox(trakChildren, "mdia", "trak"));
    if (handlerType(requireBox(mdia, "hdlr", "mdia")) !== "vide") continue;
    const trackId = tkhdTrackId(requireBox(trakChildren, "tkhd", "trak"));
    const timescale = mdhdTimescale(requireBox(mdia, "mdhd", "mdia"));
    const minf = childrenOf(requireBox(mdia, "minf", "mdia"));
    const stbl = childrenOf(requireBox(minf, "stbl", "minf"));
    const entry = firstSampleEntry(requireBox(stbl, "stsd", "stbl"));
    const trex = childrenOf(mvex).find((box) =>
      box.type === "trex" && trexTrackId(box) === trackId
    );
    const defaults = trex ? trexDefaults(trex) : { duration: 0, size: 0, flags: 0 };
    return {
      trackId,
      timescale,
      ...visualSampleEntry(entry),
      defaultSampleDuration: defaults.duration,
      defaultSampleFlags: defaults.flags,
      defaultSampleSize: defaults.size,
    };
  }
  throw new MediaFormatError("Cannot use init segment: it has no video track");
}

/**
 * Reads a media segment's fragments (`moof`: `tfhd`, `tfdt`, `trun`) for one track: the decode
 * time it starts at, its duration, its sample count and whether it opens on a keyframe. Pass
 * the init segment's info so defaults from `trex` apply and the right track is read; without it
 * the first track fragment of each `moof` is read.
 */
export function parseMediaSegment(
  bytes: Uint8Array,
  init?: Pick<InitSegmentInfo, "trackId" | "defaultSampleDuration" | "defaultSampleFlags">,
): MediaSegmentInfo {
  const moofs = readBoxes(bytes, "media segment").filter((box) => box.type === "moof");
  if (moofs.length === 0) throw new MediaFormatError('Cannot use media segment: no "moof" box');
  let result: MediaSegmentInfo | undefined;
  for (const moof of moofs) {
    const trafs = childrenOf(moof).filter((box) => box.type === "traf");
    const fragment = trafs.map(readTrackFragment).find((traf) =>
      init === undefined || traf.trackId === init.trackId
    );
    if (!fragment) {
      throw new MediaFormatError(
        `Cannot use media segment: a "moof" has no fragment of track ${init?.trackId ?? "any"}`,
      );
    }
    const durations = fragmentDuration(fragment, init);
    if (!result) {
      if (fragment.baseMediaDecodeTime === undefined) {
        throw new MediaFormatError('Cannot use media segment: its first fragment has no "tfdt"');
      }
      const firstFlags = fragment.firstSampleFlags ?? fragment.defaultSampleFlags ??
        init?.defaultSampleFlags ?? 0;
      result = {
        trackId: fragment.trackId,
        baseMediaDecodeTime: fragment.baseMediaDecodeTime,
        durationInTimescale: 0,
        sampleCount: 0,
        startsWithKeyframe: fragment.sampleCount > 0 && isSyncSample(firstFlags),
      };
    }
    result.durationInTimescale += durations;
    result.sampleCount += fragment.sampleCount;
  }
  return result!;
}

/**
 * A frame rate as DASH and HLS write it: an integer (`"25"`) or a reduced fraction
 * (`"30000/1001"`), from a sample count over a duration in timescale ticks.
 */
export function frameRate(sampleCount: number, durationInTimescale: number, timescale: number) {
  if (sampleCount <= 0 || durationInTimescale <= 0 || timescale <= 0) {
    throw new RangeError(`Cannot tell a frame rate from ${sampleCount} samples`);
  }
  let numerator = sampleCount * timescale;
  let denominator = durationInTimescale;
  const divisor = gcd(numerator, denominator);
  numerator /= divisor;
  denominator /= divisor;
  return denominator === 1 ? String(numerator) : `${numerator}/${denominator}`;
}

/** A track fragment's fields, with its sample durations summed where they are explicit. */
interface TrackFragment {
  trackId: number;
  baseMediaDecodeTime?: number;
  defaultSampleDuration?: number;
  defaultSampleFlags?: number;
  sampleCount: number;
  /** Samples whose duration the `trun` gave, and the sum of those durations. */
  explicitDurationSamples: number;
  explicitDuration: number;
  firstSampleFlags?: number;
}

function readTrackFragment(traf: Box): TrackFragment {
  const children = childrenOf(traf);
  const tfhd = new FieldReader(requireBox(children, "tfhd", "traf").body, 'box "tfhd"');
  const { flags } = tfhd.versionAndFlags();
  const fragment: TrackFragment = {
    trackId: tfhd.u32(),
    sampleCount: 0,
    explicitDurationSamples: 0,
    explicitDuration: 0,
  };
  if (flags & 0x1) tfhd.skip(8); // base_data_offset
  if (flags & 0x2) tfhd.skip(4); // sample_description_index
  if (flags & 0x8) fragment.defaultSampleDuration = tfhd.u32();
  if (flags & 0x10) tfhd.skip(4); // default_sample_size
  if (flags & 0x20) fragment.defaultSampleFlags = tfhd.u32();

  const tfdt = children.find((box) => box.type === "tfdt");
  if (tfdt) {
    const reader = new FieldReader(tfdt.body, 'box "tfdt"');
    fragment.baseMediaDecodeTime = reader.versionAndFlags().version === 1
      ? reader.u64()
      : reader.u32();
  }
  for (const trun of children.filter((box) => box.type === "trun")) {
    const reader = new FieldReader(trun.body, 'box "trun"');
    const { flags } = reader.versionAndFlags();
    const count = reader.u32();
    if (flags & 0x1) reader.skip(4); // data_offset
    const firstSampleFlags = flags & 0x4 ? reader.u32() : undefined;
    const perSample = [0x100, 0x200, 0x400, 0x800].filter((bit) => flags & bit).length * 4;
    if (reader.offset + count * perSample > reader.bytes.length) {
      throw new MediaFormatError(`Cannot read box "trun": ${count} samples do not fit`);
    }
    for (let i = 0; i < count; i++) {
      if (flags & 0x100) {
        fragment.explicitDuration += reader.u32();
        fragment.explicitDurationSamples++;
      }
      if (flags & 0x200) reader.skip(4);
      const sampleFlags = flags & 0x400 ? reader.u32() : undefined;
      if (flags & 0x800) reader.skip(4);
      if (fragment.sampleCount === 0 && i === 0) {
        fragment.firstSampleFlags = firstSampleFlags ?? sampleFlags;
      }
    }
    fragment.sampleCount += count;
  }
  return fragment;
}

function fragmentDuration(
  fragment: TrackFragment,
  init?: Pick<InitSegmentInfo, "defaultSampleDuration">,
): number {
  const implicit = fragment.sampleCount - fragment.explicitDurationSamples;
  if (implicit === 0) return fragment.explicitDuration;
  const fallback = fragment.defaultSampleDuration || init?.defaultSampleDuration;
  if (!fallback) {
    throw new MediaFormatError(
      `Cannot tell the duration of ${implicit} samples of track ${fragment.trackId}: ` +
        "no duration in trun, tfhd or trex",
    );
  }
  return fragment.explicitDuration + implicit * fallback;
}

/** ISO/IEC 14496-12 8.8.3.1 sample flags: not a non-sync sample, and not dependent on others. */
function isSyncSample(flags: number): boolean {
  const nonSync = (flags >>> 16) & 1;
  const dependsOn = (flags >>> 24) & 3;
  return nonSync === 0 && dependsOn !== 1;
}

function handlerType(hdlr: Box): string {
  const reader = new FieldReader(hdlr.body, 'box "hdlr"');
  reader.skip(8); // version, flags, pre_defined
  return String.fromCharCode(...reader.take(4));
}

function tkhdTrackId(tkhd: Box): number {
  const reader = new FieldReader(tkhd.body, 'box "tkhd"');
  reader.skip(reader.versionAndFlags().version === 1 ? 16 : 8);
  return reader.u32();
}

function mdhdTimescale(mdhd: Box): number {
  const reader = new FieldReader(mdhd.body, 'box "mdhd"');
  reader.skip(reader.versionAndFlags().version === 1 ? 16 : 8);
  const timescale = reader.u32();
  if (timescale === 0) throw new MediaFormatError('Cannot use box "mdhd": timescale is 0');
  return timescale;
}

function trexTrackId(trex: Box): number {
  const reader = new FieldReader(trex.body, 'box "trex"');
  reader.skip(4);
  return reader.u32();
}

function trexDefaults(trex: Box): { duration: number; size: number; flags: number } {
  const reader = new FieldReader(trex.body, 'box "trex"');
  reader.skip(12); // version, flags, track_ID, default_sample_description_index
  const duration = reader.u32();
  const size = reader.u32();
  return { duration, size, flags: reader.u32() };
}

function firstSampleEntry(stsd: Box): Box {
  const reader = new FieldReader(stsd.body, 'box "stsd"');
  reader.skip(4);
  if (reader.u32() === 0) throw new MediaFormatError('Cannot use box "stsd": it has no entry');
  const [entry] = readBoxes(stsd.body.subarray(8), 'box "stsd"');
  return entry;
}

/**
 * VisualSampleEntry (ISO/IEC 14496-12 12.1.3): size at byte 24, child boxes from byte 78; the NAL
 * length size is `lengthSizeMinusOne` + 1, at byte 4 of `avcC` and byte 21 of `hvcC`.
 */
function visualSampleEntry(
  entry: Box,
): { width: number; height: number; codec: string; nalLengthSize: number } {
  const reader = new FieldReader(entry.body, `sample entry "${entry.type}"`);
  reader.skip(24);
  const width = reader.u16();
  const height = reader.u16();
  reader.skip(50);
  const children = readBoxes(entry.body.subarray(78), `sample entry "${entry.type}"`);
  switch (entry.type) {
    case "avc1":
    case "avc3": {
      const avcC = requireBox(children, "avcC", "avc1").body;
      return {
        width,
        height,
        codec: avcCodec(entry.type, avcC),
        nalLengthSize: lengthSize(avcC, 4),
      };
    }
    case "hvc1":
    case "hev1": {
      const hvcC = requireBox(children, "hvcC", "hvc1").body;
      return {
        width,
        height,
        codec: hevcCodec(entry.type, hvcC),
        nalLengthSize: lengthSize(hvcC, 21),
      };
    }
    default:
      throw new MediaFormatError(
        `Cannot use video track: sample entry "${entry.type}" is not H.264 or H.265`,
      );
  }
}

/** A decoder configuration record's `lengthSizeMinusOne` (its low two bits at `at`) plus one. */
function lengthSize(record: Uint8Array, at: number): number {
  if (record.length <= at) {
    throw new MediaFormatError("Cannot read the NAL unit length size: decoder record is truncated");
  }
  const size = (record[at] & 3) + 1;
  if (size === 3) throw new MediaFormatError("Cannot use a NAL unit length size of 3 bytes");
  return size;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}
