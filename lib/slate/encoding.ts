/**
 * The encoding a slate must share with the recordings it stands in for: codec family and
 * profile/level (so players keep their decoder), picture size, and the track timescale (so
 * decode times line up with the recording's). Its key names the slate in URLs and on disk.
 */
import type { InitSegmentInfo } from "../media/mod.ts";

/** What a slate is made to match. */
export interface SlateEncoding {
  /** RFC 6381 codecs string of the recording, e.g. `avc1.64001f` or `hvc1.1.6.L93.B0`. */
  codec: string;
  width: number;
  height: number;
  /** The recording's `mdhd` timescale. */
  timescale: number;
}

const CODEC =
  /^(avc1|avc3)\.[0-9a-f]{6}$|^(hvc1|hev1)\.[A-C]?\d{1,2}\.[0-9A-F]{1,8}\.[LH]\d{1,3}(\.[0-9A-F]{2}){0,6}$/;
const KEY = /^([A-Za-z0-9.]+)_(\d{1,4})x(\d{1,4})_(\d{1,7})$/;
/** Frames per second of a slate. */
export const SLATE_FPS = 25;
/** Frames in a slate (10 s): its keyframe and the still frames after it. */
export const SLATE_FRAMES = 250;
/** Largest picture side a slate is made for. */
const MAX_SIDE = 4096;

/** The encoding of a recording, from its init segment. */
export function slateEncoding(info: InitSegmentInfo): SlateEncoding {
  return { codec: info.codec, width: info.width, height: info.height, timescale: info.timescale };
}

/** The name of an encoding in URLs and file names: `avc1.64001f_1280x720_90000`. */
export function encodingKey(encoding: SlateEncoding): string {
  return `${encoding.codec}_${encoding.width}x${encoding.height}_${encoding.timescale}`;
}

/**
 * The encoding an {@linkcode encodingKey} names, or undefined when it names none a slate can be
 * made for (another codec, a side of 0 or beyond 4096, a timescale of 0).
 */
export function parseEncodingKey(key: string): SlateEncoding | undefined {
  const match = KEY.exec(key);
  if (!match || !CODEC.test(match[1])) return undefined;
  const [width, height, timescale] = [Number(match[2]), Number(match[3]), Number(match[4])];
  if (!width || !height || width > MAX_SIDE || height > MAX_SIDE || !timescale) return undefined;
  return { codec: match[1], width, height, timescale };
}

/** Whether a slate can be made for `encoding` (see {@linkcode parseEncodingKey}). */
export function isSlateEncoding(encoding: SlateEncoding): boolean {
  return parseEncodingKey(encodingKey(encoding)) !== undefined;
}

/**
 * ffmpeg's arguments for one frame of slate in `encoding`, written to `output` as fragmented
 * MP4 (an init segment, then one fragment of one keyframe): black, with `text` in grey when a
 * font file is given.
 */
export function slateArguments(
  encoding: SlateEncoding,
  output: string,
  font?: { file: string; text: string },
): string[] {
  const { width, height, timescale } = encoding;
  // A keyframe, then still frames repeating it (some bytes each) at SLATE_FPS: a piece holds as
  // many as its length takes, so the frame rate its parameter sets state (which libavformat's
  // H.264 parser times frames by) is the pieces' own, and libavformat's DASH reader, which
  // probes every segment anew and ends the stream at one of 21 frames or fewer, finds enough.
  let filter = `color=c=black:s=${width}x${height}:r=${SLATE_FPS}`;
  if (font) {
    const escape = (value: string) => value.replace(/[\\':,;=\[\]]/g, (c) => `\\${c}`);
    filter += `,drawtext=fontfile=${escape(font.file)}:text=${escape(font.text)}` +
      `:fontcolor=0x9a9a9a:fontsize=h/16:x=(w-text_w)/2:y=(h-text_h)/2`;
  }
  return [
    "-hide_banner",
    "-loglevel",
    "error",
    "-y",
    "-f",
    "lavfi",
    "-i",
    filter,
    "-frames:v",
    String(SLATE_FRAMES),
    "-g",
    String(SLATE_FRAMES * 2), // one keyframe
    ...codecArguments(encoding.codec),
    "-bf",
    "0",
    "-video_track_timescale",
    String(timescale),
    "-use_editlist",
    "0",
    "-movflags",
    "+frag_keyframe+empty_moov+default_base_moof",
    "-f",
    "mp4",
    output,
  ];
}

/** Encoder, profile and level matching an RFC 6381 codecs string. */
function codecArguments(codec: string): string[] {
  const [family, ...fields] = codec.split(".");
  if (family === "avc1" || family === "avc3") {
    const profileIdc = parseInt(fields[0].slice(0, 2), 16);
    const levelIdc = parseInt(fields[0].slice(4, 6), 16);
    const profile = profileIdc === 66 ? "baseline" : profileIdc === 77 ? "main" : "high";
    return [
      "-c:v",
      "libx264",
      // Parameter sets in the frame too, under ids the recording does not use (x264 uses 0):
      // a decoder that never sees the slate's init segment (libavformat's HLS reader skips
      // every init after the first) still decodes the slate, and the recording after it.
      "-x264-params",
      "sps-id=1:repeat-headers=1",
      "-profile:v",
      profile,
      "-level:v",
      (levelIdc / 10).toFixed(1),
      "-pix_fmt",
      "yuv420p",
    ];
  }
  const main10 = fields[0].replace(/^[A-C]/, "") === "2";
  const levelIdc = Number(fields[2].slice(1));
  return [
    "-c:v",
    "libx265",
    "-tag:v",
    family,
    "-x265-params",
    `log-level=error:level-idc=${(levelIdc / 30).toFixed(1)}`,
    "-pix_fmt",
    main10 ? "yuv420p10le" : "yuv420p",
  ];
}
