/**
 * The transcoding ladder: one ffmpeg per watched camera that decodes the vehicle's stream (a
 * VideoRoom `rtp_forward` to a local port) and encodes it again as three simulcast layers, lowest
 * first, each sent as RTP to a port of the camera's Streaming mountpoint. Short GOPs (0.5 s),
 * because a viewer's join and layer switch wait for a keyframe of the layer.
 */
import type { Logger } from "../log/mod.ts";
import { readLines } from "../process/mod.ts";
import { FORWARD_PT } from "./janus_plugins.ts";

/** One rung: the picture height and the bit rate. */
export interface Rung {
  height: number;
  bitrate: number;
}

/** The seed's 1080p/720p/480p, as substreams 2, 1 and 0 (`LIVE_LADDER=480:600k,720:1500k,1080:3m`). */
export const DEFAULT_RUNGS: Rung[] = [
  { height: 480, bitrate: 600_000 },
  { height: 720, bitrate: 1_500_000 },
  { height: 1080, bitrate: 3_000_000 },
];

/** What a ladder setting says: rungs derived from each source (`auto`), or three given rungs. */
export type LadderSpec = "auto" | Rung[];

/** Height of the cellular floor: links around 300 kbit/s get this rung. */
export const FLOOR_HEIGHT = 240;
/** Bit rate of the floor; the other rungs scale from it (see {@linkcode rungBitrate}). */
export const FLOOR_BITRATE = 200_000;
/** Tallest rung a derived ladder makes (a taller source is scaled down to it). */
export const TOP_HEIGHT_CAP = 1080;
/** Source height assumed when the vehicle does not say (older agents, WHIP encoders). */
export const DEFAULT_SOURCE_HEIGHT = 720;
/** The middle rung is made to fit a 1 Mbit/s link with 30 % to spare. */
const MIDDLE_MAX_BITRATE = 700_000;
/** Heights the middle rung is picked from. */
const MIDDLE_HEIGHTS = [288, 360, 480, 540];

/**
 * The bit rate of a rung `height` lines tall: bits per pixel falling with size, rate ∝ pixels^0.75
 * (so ∝ height^1.5 at one aspect ratio), 200 kbit/s at 240p, rounded to 10 kbit/s (1 under 100).
 *
 * @example rungBitrate(720) // 1_040_000
 */
export function rungBitrate(height: number): number {
  const rate = FLOOR_BITRATE * (height / FLOOR_HEIGHT) ** 1.5;
  const step = rate >= 100_000 ? 10_000 : 1_000;
  return Math.max(1_000, Math.round(rate / step) * step);
}

/**
 * Three rungs for a source `sourceHeight` lines tall, lowest first, no two of the same height: the
 * top at the source's height (even, at most 1080), the floor at 240p, the middle the tallest of
 * 288/360/480/540 at most 80 % of the top whose rate fits a 1 Mbit/s link with 30 % to spare. A source under
 * 360 lines gets half its height, the geometric mean and itself.
 *
 * @example deriveRungs(720) // 240p 200k, 540p 680k, 720p 1.04m
 */
export function deriveRungs(sourceHeight: number): Rung[] {
  if (!Number.isFinite(sourceHeight) || sourceHeight < 16) {
    throw new RangeError(`Cannot derive a ladder from source height ${sourceHeight}: under 16`);
  }
  const even = (n: number) => Math.max(2, Math.floor(n / 2) * 2);
  const top = even(Math.min(sourceHeight, TOP_HEIGHT_CAP));
  let heights: number[];
  if (top < 360) {
    const floor = even(top / 2);
    heights = [floor, even(Math.sqrt(floor * top)), top];
  } else {
    const middle = MIDDLE_HEIGHTS.filter((h) =>
      h > FLOOR_HEIGHT && h <= top * 0.8 && rungBitrate(h) <= MIDDLE_MAX_BITRATE
    ).at(-1) ?? even(Math.sqrt(FLOOR_HEIGHT * top));
    heights = [FLOOR_HEIGHT, middle, top];
  }
  return heights.map((height) => ({ height, bitrate: rungBitrate(height) }));
}

/** Parses a ladder setting: `auto`, or three rungs in {@linkcode parseRungs}'s syntax. */
export function parseLadder(text: string): LadderSpec {
  return /^\s*auto\s*$/i.test(text) ? "auto" : parseRungs(text);
}

/** The rungs of a stream: `spec`'s own, or derived from `sourceHeight` (720 when unknown). */
export function ladderRungs(spec: LadderSpec, sourceHeight?: number): Rung[] {
  if (spec !== "auto") return spec;
  const height = sourceHeight !== undefined && sourceHeight >= 16
    ? sourceHeight
    : DEFAULT_SOURCE_HEIGHT;
  return deriveRungs(height);
}

/** Parses `LIVE_LADDER`, e.g. `480:600k,720:1500k,1080:3m` (three rungs, lowest first). */
export function parseRungs(text: string): Rung[] {
  const rungs = text.split(",").map((part) => {
    const match = /^\s*(\d{2,4})\s*:\s*(\d+(?:\.\d+)?)\s*([km]?)\s*$/i.exec(part);
    if (!match) throw new RangeError(`Invalid ladder rung "${part}": expected height:bitrate`);
    const scale = { "": 1, k: 1e3, m: 1e6 }[match[3].toLowerCase() as "" | "k" | "m"];
    return { height: Number(match[1]), bitrate: Math.round(Number(match[2]) * scale) };
  });
  if (rungs.length !== 3) throw new RangeError(`Ladder must have 3 rungs, got ${rungs.length}`);
  for (let i = 1; i < 3; i++) {
    if (rungs[i].height < rungs[i - 1].height) {
      throw new RangeError(`Ladder rungs must go from lowest to highest: "${text}"`);
    }
  }
  return rungs;
}

/** The SDP ffmpeg reads the forwarded RTP with. */
export function forwardSdp(port: number): string {
  return [
    "v=0",
    "o=- 0 0 IN IP4 127.0.0.1",
    "s=motorcade-forward",
    "c=IN IP4 127.0.0.1",
    "t=0 0",
    `m=video ${port} RTP/AVP ${FORWARD_PT}`,
    `a=rtpmap:${FORWARD_PT} H264/90000`,
    `a=fmtp:${FORWARD_PT} packetization-mode=1`,
    "",
  ].join("\n");
}

/** ffmpeg's arguments: `input` (e.g. `-i forward.sdp`) to three RTP outputs on `ports`. */
export function ladderArgs(
  input: string[],
  options: { rungs: Rung[]; ports: number[]; fps: number },
): string[] {
  const { rungs, ports, fps } = options;
  // Keyframes are forced by time (any source frame rate); this only bounds the GOP.
  const gop = Math.max(1, Math.round(fps / 2));
  const split = rungs.map((_, i) => `[s${i}]`).join("");
  const scales = rungs.map((r, i) =>
    `[s${i}]scale=-2:'min(${r.height},ih)':flags=fast_bilinear,format=yuv420p[v${i}]`
  );
  const args = [
    "-hide_banner",
    "-loglevel",
    "error",
    "-fflags",
    "nobuffer",
    "-flags",
    "low_delay",
    // Start encoding with the first keyframe. Probing the stream (find_stream_info) made ffmpeg
    // drop what it read and wait for a later keyframe: its first output came ~1.05 s after its
    // first input instead of ~0.1 s. The decoder learns the picture size from the SPS anyway.
    "-nofind_stream_info",
    "-probesize",
    "32768",
    ...input,
    "-filter_complex",
    // No fps filter: it holds a frame back (40 ms at 25 fps); frames pass at the vehicle's rate.
    `[0:v]split=${rungs.length}${split};${scales.join(";")}`,
  ];
  rungs.forEach((rung, i) => {
    args.push(
      "-map",
      `[v${i}]`,
      // Keep the vehicle's own frame times (RTP clock): no frame rate is guessed or imposed.
      "-fps_mode",
      "passthrough",
      "-c:v",
      "libx264",
      "-preset",
      "ultrafast",
      "-tune",
      "zerolatency",
      "-profile:v",
      "baseline",
      // A keyframe every half second: a viewer joining, or switching layer, waits for one (Janus
      // does not buffer keyframes for simulcast mountpoints).
      "-force_key_frames",
      "expr:gte(t,n_forced*0.5)",
      "-g",
      String(gop * 4),
      "-sc_threshold",
      "0",
      "-b:v",
      String(rung.bitrate),
      "-maxrate",
      String(rung.bitrate),
      "-bufsize",
      String(Math.round(rung.bitrate / 2)),
      "-threads",
      "1",
      "-payload_type",
      String(FORWARD_PT),
      "-ssrc",
      String(0x10000 + i),
      "-f",
      "rtp",
      `rtp://127.0.0.1:${ports[i]}?pkt_size=1200`,
    );
  });
  return args;
}

/** A running ladder. */
export class Ladder {
  #child: Deno.ChildProcess;
  #closed = false;
  readonly exited: Promise<Deno.CommandStatus>;

  private constructor(child: Deno.ChildProcess, readonly logger: Logger) {
    this.#child = child;
    this.exited = child.status;
    this.#drain(child.stderr);
  }

  /** Starts ffmpeg with {@linkcode ladderArgs}. */
  static start(
    input: string[],
    options: { rungs: Rung[]; ports: number[]; fps: number; ffmpeg: string; logger: Logger },
  ): Ladder {
    const child = new Deno.Command(options.ffmpeg, {
      args: ladderArgs(input, options),
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    return new Ladder(child, options.logger);
  }

  #drain(stream: ReadableStream<Uint8Array>): Promise<void> {
    return readLines(stream, (line) => this.logger.debug("ladder ffmpeg", { line: line.trim() }));
  }

  /** Stops ffmpeg; idempotent. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
    await this.exited;
  }
}
