/**
 * Slates: what players are shown in a hole of a recording. One frame per encoding (codec, size,
 * timescale of the recordings around the hole), drawn once by ffmpeg and kept; a hole's pieces
 * are that frame in fragments timed to the piece (`slateSegment`), so HLS and DASH can list
 * holes as real segments every player plays.
 *
 * @example
 * const slates = new Slates({ dir: `${dataDir}/slates` });
 * const slate = await slates.get(slateEncoding(parseInitSegment(init)));
 * if (slate) await Deno.writeFile("0.m4s", slateSegment(slate, 9000, 5, 0));
 */
export {
  encodingKey,
  isSlateEncoding,
  parseEncodingKey,
  SLATE_FPS,
  SLATE_FRAMES,
  slateArguments,
  type SlateEncoding,
  slateEncoding,
} from "./encoding.ts";
export { readSlate, type Slate, slateSegment } from "./fragment.ts";
export { Slates, type SlatesOptions } from "./slates.ts";
