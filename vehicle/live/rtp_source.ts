/**
 * The live encoder of one camera: an ffmpeg of its own, started on demand next to the recording
 * one, encoding H.264 for WebRTC (constrained baseline, no B-frames, a keyframe every second,
 * x264's zero-latency tuning) and sending RTP to a UDP socket on 127.0.0.1 that this module
 * listens on. Each RTP packet is handed to `onPacket`; RTCP sender reports ffmpeg sends are
 * dropped. When ffmpeg stops on its own (a camera that went away) it is started again with
 * backoff; the new process has a new SSRC, sequence numbers and timestamps, which the consumer
 * must smooth over.
 */
import dgram from "node:dgram";
import type { Logger } from "../../lib/log/mod.ts";
import { readLines, stopProcess } from "../../lib/process/mod.ts";
import { sleep } from "../backoff.ts";
import { ffmpegInput } from "../capture.ts";
import type { CameraConfig } from "../config.ts";

/** Largest RTP packet ffmpeg writes (header included), well under a 1,400-byte path MTU once
 * SRTP, header extensions and UDP/IP are added. */
export const RTP_PACKET_SIZE = 1200;

/** Options of {@linkcode RtpSource}. */
export interface RtpSourceOptions {
  camera: CameraConfig;
  logger: Logger;
  /** Receives every RTP packet, in arrival order. */
  onPacket: (packet: Uint8Array) => void;
  ffmpeg?: string;
  /** TrueType font for the test pattern's burned-in clock. */
  font?: string;
  /** Keyframe interval; 1 s by default. */
  gopSeconds?: number;
  /** RTP payload type ffmpeg writes; 96 by default. */
  payloadType?: number;
  /**
   * 3 for simulcast: one ffmpeg encodes three sizes (see {@linkcode simulcastLayers}), each with
   * its own SSRC, whose two low bits are the layer (0 lowest). 1 by default.
   */
  layers?: 1 | 3;
  /** Restart delays after ffmpeg stops on its own: doubling from `baseMs` to `capMs`. */
  restart?: { baseMs: number; capMs: number };
}

const DEFAULT_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
const STOP_GRACE_MS = 3_000;
const STDERR_LINES_KEPT = 20;

/**
 * ffmpeg's command line for the live encoding of `camera`, sending RTP to `port` on 127.0.0.1.
 * RTCP goes to the same port (`rtcpport`) so that nothing else on the machine receives it.
 *
 * @example liveFfmpegArgs(camera, { port: 40_000, font: "/f.ttf", gopSeconds: 1, payloadType: 96 })
 */
export function liveFfmpegArgs(
  camera: CameraConfig,
  options: {
    port: number;
    font: string;
    gopSeconds: number;
    payloadType: number;
    layers?: 1 | 3;
    ssrcBase?: number;
  },
): string[] {
  const { input, filter } = ffmpegInput(camera, options.font);
  const head = ["-hide_banner", "-nostdin", "-nostats", "-loglevel", "level+warning", ...input];
  if ((options.layers ?? 1) === 1) {
    return [...head, "-map", "0:v:0", "-an", "-vf", filter, ...encoderArgs(camera.video, options)];
  }
  // Simulcast: one decode, three scaled encodes, each to the same port with its own SSRC.
  const layers = simulcastLayers(camera.video);
  const base = options.ssrcBase ?? 0x4d430000;
  const graph = `[0:v:0]${filter},split=3[a][b][c];` +
    layers.map((l, i) => `[${"abc"[i]}]scale=-2:${l.height}[v${i}]`).join(";");
  return [
    ...head,
    "-an",
    "-filter_complex",
    graph,
    ...layers.flatMap((layer, i) => [
      "-map",
      `[v${i}]`,
      ...encoderArgs({ ...camera.video, bitrate: layer.bitrate }, options, base + i),
    ]),
  ];
}

/** The three simulcast layers of a camera: full, two-thirds and four-ninths of its height. */
export function simulcastLayers(
  video: CameraConfig["video"],
): { height: number; bitrate: number }[] {
  const even = (n: number) => Math.max(2, Math.round(n / 2) * 2);
  return [
    { height: even(video.height * 4 / 9), bitrate: Math.round(video.bitrate * 0.2) },
    { height: even(video.height * 2 / 3), bitrate: Math.round(video.bitrate * 0.45) },
    { height: video.height, bitrate: video.bitrate },
  ];
}

/** x264 and RTP output arguments of one encoding. */
function encoderArgs(
  video: CameraConfig["video"],
  options: { port: number; gopSeconds: number; payloadType: number },
  ssrc?: number,
): string[] {
  const { fps, bitrate } = video;
  const keyint = String(Math.max(1, Math.round(fps * options.gopSeconds)));
  return [
    "-c:v",
    "libx264",
    "-preset",
    "veryfast",
    "-tune",
    "zerolatency",
    // Constrained baseline, level 3.1: what the SDP announces as profile-level-id=42e01f.
    "-profile:v",
    "baseline",
    "-level:v",
    "3.1",
    "-pix_fmt",
    "yuv420p",
    "-bf",
    "0",
    "-g",
    keyint,
    "-keyint_min",
    keyint,
    "-sc_threshold",
    "0",
    "-b:v",
    String(bitrate),
    "-maxrate",
    String(bitrate),
    "-bufsize",
    String(bitrate),
    // libx264 writes Annex B with SPS/PPS before every IDR (no global header for RTP), which is
    // what the RTP packetizer and a joining viewer need; no bitstream filter is required.
    "-payload_type",
    String(options.payloadType),
    ...(ssrc === undefined ? [] : ["-ssrc", String(ssrc)]),
    "-pkt_size",
    String(RTP_PACKET_SIZE),
    "-f",
    "rtp",
    `rtp://127.0.0.1:${options.port}?rtcpport=${options.port}&pkt_size=${RTP_PACKET_SIZE}`,
  ];
}

/** One camera's live encoder: a supervised ffmpeg and the socket receiving its RTP. */
export class RtpSource {
  readonly #options: RtpSourceOptions;
  readonly #log: Logger;
  readonly #socket: dgram.Socket;
  readonly #stop = new AbortController();
  #child: Deno.ChildProcess | undefined;
  #running: Promise<void> | undefined;
  #packets = 0;

  private constructor(options: RtpSourceOptions, socket: dgram.Socket) {
    this.#options = options;
    this.#log = options.logger.child({ camera: options.camera.name, part: "live-encoder" });
    this.#socket = socket;
  }

  /**
   * Opens the socket and starts ffmpeg; packets flow to `onPacket` about 0.3 s later. Throws when
   * ffmpeg cannot be started at all (missing, or not allowed by `--allow-run`).
   */
  static async start(options: RtpSourceOptions): Promise<RtpSource> {
    const socket = dgram.createSocket("udp4");
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(0, "127.0.0.1", () => {
        socket.off("error", reject);
        resolve();
      });
    });
    const source = new RtpSource(options, socket);
    socket.on("message", (packet: Uint8Array) => source.#receive(packet));
    socket.on("error", (error: Error) => source.#log.warn("live RTP socket error", { error }));
    let first: Deno.ChildProcess;
    try {
      first = source.#spawn();
    } catch (error) {
      socket.close();
      throw new Error(
        `Cannot start the live encoder "${options.ffmpeg ?? "ffmpeg"}": ${
          (error as Error).message
        }`,
        { cause: error },
      );
    }
    source.#running = source.#supervise(first);
    return source;
  }

  /** UDP port (on 127.0.0.1) ffmpeg sends to. */
  get port(): number {
    return (this.#socket.address() as { port: number }).port;
  }

  /** Process id of the running ffmpeg, if one runs. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** RTP packets received so far, across ffmpeg restarts. */
  get packets(): number {
    return this.#packets;
  }

  /** Stops ffmpeg (SIGTERM, then SIGKILL after 3 s) and closes the socket; idempotent. */
  async close(): Promise<void> {
    if (!this.#stop.signal.aborted) {
      this.#stop.abort();
      this.#stopChild();
    }
    await this.#running;
    try {
      this.#socket.close();
    } catch { /* already closed */ }
  }

  #receive(packet: Uint8Array): void {
    // RFC 5761: second byte 192-223 is RTCP (ffmpeg's sender reports); version must be 2.
    if (packet.length < 12 || packet[0] >> 6 !== 2 || (packet[1] >= 192 && packet[1] <= 223)) {
      return;
    }
    this.#packets++;
    this.#options.onPacket(packet);
  }

  #stopChild(): void {
    if (this.#child) stopProcess(this.#child, "SIGTERM", STOP_GRACE_MS);
  }

  async #supervise(first: Deno.ChildProcess): Promise<void> {
    const { baseMs, capMs } = this.#options.restart ?? { baseMs: 1_000, capMs: 30_000 };
    let failures = 0;
    let child: Deno.ChildProcess | undefined = first;
    while (!this.#stop.signal.aborted) {
      const started = performance.now();
      let outcome: { code: number; lines: string[] };
      try {
        outcome = await this.#run(child ?? this.#spawn());
      } catch (error) {
        this.#log.error("live encoder cannot start", { error });
        outcome = { code: -1, lines: [] };
      }
      if (this.#stop.signal.aborted) break;
      if (performance.now() - started > 60_000) failures = 0;
      const delay = Math.min(capMs, baseMs * 2 ** failures++);
      this.#log.warn("live encoder stopped; restarting", {
        code: outcome.code,
        retryInMs: delay,
        stderr: outcome.lines,
      });
      await sleep(delay, this.#stop.signal);
      child = undefined;
    }
  }

  /** Starts one ffmpeg. */
  #spawn(): Deno.ChildProcess {
    const options = this.#options;
    const args = liveFfmpegArgs(options.camera, {
      port: this.port,
      font: options.font ?? DEFAULT_FONT,
      gopSeconds: options.gopSeconds ?? 1,
      payloadType: options.payloadType ?? 96,
      layers: options.layers,
      // A new SSRC per process (low two bits: the layer), so the consumer sees the restart.
      ssrcBase: (crypto.getRandomValues(new Uint32Array(1))[0] & ~3) >>> 0,
    });
    const child = new Deno.Command(options.ffmpeg ?? "ffmpeg", {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    this.#log.info("live encoder started", { pid: child.pid, port: this.port });
    return child;
  }

  /** Waits for `child` to exit, logging what it says. */
  async #run(child: Deno.ChildProcess): Promise<{ code: number; lines: string[] }> {
    if (this.#stop.signal.aborted) this.#stopChild();
    const lines: string[] = [];
    const [status] = await Promise.all([child.status, this.#pumpStderr(child.stderr, lines)]);
    this.#child = undefined;
    this.#log.info("live encoder ended", { pid: child.pid, code: status.code });
    return { code: status.code, lines };
  }

  /** Logs ffmpeg's stderr at debug level, keeping the last lines for the exit message. */
  #pumpStderr(stream: ReadableStream<Uint8Array>, lines: string[]): Promise<void> {
    return readLines(stream, (line) => {
      lines.push(line);
      if (lines.length > STDERR_LINES_KEPT) lines.shift();
      this.#log.debug("ffmpeg", { line });
    }, 500);
  }
}
