/**
 * Media: just enough ISO BMFF to check uploads and describe them. `sniffMediaType` tells fMP4
 * from MPEG-TS; `parseInitSegment` and `parseMediaSegment` read a CMAF track's codec, size,
 * timescale and the timing of each segment; `checkMediaSegment` and `checkTransportStream` tell
 * whether a segment can be played back at all.
 */
export {
  frameRate,
  type InitSegmentInfo,
  type MediaSegmentInfo,
  type MediaType,
  parseInitSegment,
  parseMediaSegment,
  sniffMediaType,
} from "./mp4.ts";
export { checkMediaSegment, type SegmentExpectation } from "./segment_check.ts";
export { checkTransportStream } from "./ts_check.ts";
export { avcCodec, hevcCodec } from "./codec.ts";
export { MediaFormatError } from "./errors.ts";
