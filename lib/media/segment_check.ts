/**
 * Whether a CMAF media segment can be played back, checked before it is stored: its boxes tile
 * it exactly, each `moof` has the boxes a player reads (`mfhd`, `traf` with `tfhd`, `tfdt` and
 * `trun`), every run of samples lies inside the `mdat` that follows, and, given its recording's
 * init segment, its track is that track and its samples are NAL units of that codec. Reads box
 * fields and NAL unit headers only; never decodes.
 */
import { type Box, childrenOf, FieldReader, readBoxes, requireBox } from "./box.ts";
import { MediaFormatError } from "./errors.ts";
import type { InitSegmentInfo } from "./mp4.ts";

/** What of a recording's init segment its media segments are checked against. */
export type SegmentExpectation = Pick<
  InitSegmentInfo,
  "trackId" | "codec" | "nalLengthSize" | "defaultSampleSize"
>;

/** The codec family of an RFC 6381 codecs string, for the NAL unit checks. */
type Family = "H.264" | "H.265";

/**
 * Throws MediaFormatError naming what is wrong when `bytes` is not a fragmented MP4 media segment
 * a player can read; with `init`, also when its track or codec is not the init segment's. Without
 * it (the init segment has not arrived yet) the segment is checked on its own.
 *
 * @example checkMediaSegment(segment, parseInitSegment(init)); // throws, or the segment is fine
 */
export function checkMediaSegment(bytes: Uint8Array, init?: SegmentExpectation): void {
  const boxes = readBoxes(bytes, "media segment");
  const family = init ? familyOf(init.codec) : undefined;
  let samples = 0;
  let fragments = 0;
  for (let i = 0; i < boxes.length; i++) {
    const moof = boxes[i];
    if (moof.type !== "moof") continue;
    fragments++;
    let mdat: Box | undefined;
    for (let j = i + 1; j < boxes.length && boxes[j].type !== "moof"; j++) {
      if (boxes[j].type === "mdat") {
        mdat = boxes[j];
        break;
      }
    }
    if (!mdat) fail(`box "moof" at byte ${moof.offset} has no "mdat" after it`);
    const children = childrenOf(moof);
    requireBox(children, "mfhd", 'box "moof"');
    const trafs = children.filter((box) => box.type === "traf");
    if (trafs.length === 0) fail(`box "moof" at byte ${moof.offset} has no "traf"`);
    let dataEnd: number | undefined = moof.offset;
    const tracks: number[] = [];
    for (const traf of trafs) {
      const fragment = checkTrackFragment(traf, moof, mdat, dataEnd, init);
      dataEnd = fragment.dataEnd;
      tracks.push(fragment.trackId);
      if (init && fragment.trackId !== init.trackId) continue;
      if (init && family) checkSamples(bytes, fragment.samples, init, family, samples === 0);
      samples += fragment.count;
    }
    if (init && !tracks.includes(init.trackId)) {
      fail(
        `its fragments are of track ${tracks.join(", ")}, not track ${init.trackId} of the ` +
          "recording's init segment",
      );
    }
  }
  if (fragments === 0) fail('no "moof" box');
  if (samples === 0) fail("it holds no samples");
}

/** Where a run of samples lies in the segment: start byte and size of each sample. */
interface SampleRun {
  trackId: number;
  count: number;
  samples: Array<{ start: number; size: number }>;
  /** The byte after the last sample, where a following `traf` without an offset starts. */
  dataEnd: number | undefined;
}

/**
 * Reads a track fragment's headers and runs and checks each run lies inside `mdat` (ISO/IEC
 * 14496-12 8.8.7 and 8.8.8: the base is `base_data_offset`, the `moof` with
 * default-base-is-moof, else the end of the previous fragment's data).
 */
function checkTrackFragment(
  traf: Box,
  moof: Box,
  mdat: Box,
  previousEnd: number | undefined,
  init: SegmentExpectation | undefined,
): SampleRun {
  const children = childrenOf(traf);
  const tfhd = new FieldReader(requireBox(children, "tfhd", 'box "traf"').body, 'box "tfhd"');
  const { flags } = tfhd.versionAndFlags();
  const trackId = tfhd.u32();
  const base = flags & 0x1 ? tfhd.u64() : flags & 0x20000 ? moof.offset : previousEnd;
  if (flags & 0x2) tfhd.skip(4); // sample_description_index
  if (flags & 0x8) tfhd.skip(4); // default_sample_duration
  let defaultSize: number | undefined = flags & 0x10 ? tfhd.u32() : undefined;
  if (defaultSize === undefined && init?.trackId === trackId && init.defaultSampleSize) {
    defaultSize = init.defaultSampleSize;
  }
  if (flags & 0x20) tfhd.skip(4); // default_sample_flags
  const tfdt = requireBox(children, "tfdt", `box "traf" of track ${trackId}`);
  const time = new FieldReader(tfdt.body, 'box "tfdt"');
  if (time.versionAndFlags().version === 1) time.u64();
  else time.u32();

  const truns = children.filter((box) => box.type === "trun");
  if (truns.length === 0) fail(`box "traf" of track ${trackId} has no "trun"`);
  const payloadStart = mdat.offset + mdat.size - mdat.body.length;
  const payloadEnd = mdat.offset + mdat.size;
  const samples: SampleRun["samples"] = [];
  // Undefined once a run's size is unknown: then where the next run starts is unknown too.
  let position: number | undefined = base;
  let count = 0;
  for (const trun of truns) {
    const reader = new FieldReader(trun.body, 'box "trun"');
    const { flags } = reader.versionAndFlags();
    const runCount = reader.u32();
    count += runCount;
    if (flags & 0x1) {
      const offset = reader.i32();
      position = base === undefined ? undefined : base + offset;
    }
    if (flags & 0x4) reader.skip(4); // first_sample_flags
    const perSample = [0x100, 0x200, 0x400, 0x800].filter((bit) => flags & bit).length * 4;
    if (reader.offset + runCount * perSample > reader.bytes.length) {
      fail(`box "trun" of track ${trackId} says ${runCount} samples but holds fewer`);
    }
    if (!(flags & 0x200) && defaultSize === undefined) {
      if (init?.trackId === trackId) {
        fail(`track ${trackId} has no sample size in "trun", "tfhd" or "trex"`);
      }
      position = undefined; // the sizes may be in a "trex" not at hand
      continue;
    }
    if (position === undefined) continue;
    if (position < payloadStart || position > payloadEnd) {
      fail(
        `box "trun" of track ${trackId} puts its samples at byte ${position}, outside "mdat" ` +
          `(bytes ${payloadStart} to ${payloadEnd})`,
      );
    }
    let total = 0;
    for (let i = 0; i < runCount; i++) {
      if (flags & 0x100) reader.skip(4);
      const size = flags & 0x200 ? reader.u32() : defaultSize!;
      if (flags & 0x400) reader.skip(4);
      if (flags & 0x800) reader.skip(4);
      samples.push({ start: position + total, size });
      total += size;
    }
    if (position + total > payloadEnd) {
      fail(
        `box "trun" says ${runCount} samples of ${total} bytes but "mdat" holds ${
          payloadEnd - position
        }`,
      );
    }
    position += total;
  }
  return { trackId, count, samples, dataEnd: position };
}

/**
 * Checks that each sample is a run of length-prefixed NAL units that fill it exactly, and that the
 * first sample of the segment has NAL unit headers of the init segment's codec with a slice.
 */
function checkSamples(
  bytes: Uint8Array,
  samples: SampleRun["samples"],
  init: SegmentExpectation,
  family: Family,
  firstOfSegment: boolean,
): void {
  const lengthSize = init.nalLengthSize;
  for (const [index, { start, size }] of samples.entries()) {
    const sample = bytes.subarray(start, start + size);
    const headers: number[] = [];
    let at = 0;
    while (at < sample.length) {
      if (at + lengthSize > sample.length) {
        fail(`sample ${index + 1} of track ${init.trackId} ends inside a NAL unit length`);
      }
      let length = 0;
      for (let k = 0; k < lengthSize; k++) length = length * 256 + sample[at + k];
      at += lengthSize;
      if (length > sample.length - at) {
        fail(
          `sample ${index + 1} of track ${init.trackId} has a NAL unit of ${length} bytes ` +
            `where ${sample.length - at} remain`,
        );
      }
      if (length > 0 && index === 0 && firstOfSegment) {
        headers.push(sample[at] << 8 | (length > 1 ? sample[at + 1] : 0));
      }
      at += length;
    }
    if (index === 0 && firstOfSegment) checkCodec(headers, family, init.codec);
  }
}

/** The NAL unit headers of a sample are of `family`'s syntax, and one of them is a slice. */
function checkCodec(headers: number[], family: Family, codec: string): void {
  const wrong = (why: string) =>
    fail(
      `its first sample is not ${family} as the recording's init segment ("${codec}") says: ${why}`,
    );
  let slice = false;
  for (const header of headers) {
    if (header & 0x8000) wrong("a NAL unit has its forbidden bit set");
    if (family === "H.264") {
      const type = (header >> 8) & 0x1f;
      const refIdc = (header >> 13) & 0x3;
      // SEI, access unit delimiter, end of sequence/stream and filler data are never references.
      if ([6, 9, 10, 11, 12].includes(type) && refIdc !== 0) {
        wrong(`a NAL unit of type ${type} has nal_ref_idc ${refIdc}`);
      }
      if (type >= 1 && type <= 5) slice = true;
    } else {
      const type = (header >> 9) & 0x3f;
      if ((header & 0x7) === 0) wrong(`a NAL unit of type ${type} has nuh_temporal_id_plus1 0`);
      if (type <= 9 || (type >= 16 && type <= 21)) slice = true;
    }
  }
  if (!slice) wrong("it has no slice");
}

function familyOf(codec: string): Family | undefined {
  if (/^(avc1|avc3)\./.test(codec)) return "H.264";
  if (/^(hvc1|hev1)\./.test(codec)) return "H.265";
  return undefined;
}

function fail(reason: string): never {
  throw new MediaFormatError(`Cannot use media segment: ${reason}`);
}
