/**
 * Capture: one ffmpeg per camera, encoding to CMAF (fMP4) HLS in the spool's capture folder, with
 * keyframes forced on the segment grid so that every segment starts with one. The capture watches
 * ffmpeg's playlist and hands each finished segment to the spool; when ffmpeg dies it is started
 * again (with backoff), always as a new recording.
 *
 * A camera records one or two renditions: the full quality and, when the upload policy asks for
 * it, a low-bitrate proxy — a recording of its own (the full one's id + `-p`) made by the same
 * ffmpeg from the same frames, with keyframes at the same times, so that their segments align. A
 * camera that already delivers H.264 (an RTSP IP camera) is passed through: its stream is cut on
 * its own keyframes without re-encoding, and only the proxy is encoded.
 */
import type { Logger } from "../lib/log/mod.ts";
import { readLines, stopProcess } from "../lib/process/mod.ts";
import { sleep } from "./backoff.ts";
import type { CaptureClockReport } from "./capture_clock.ts";
import { readSegmentTimes, readTrackTimeline } from "./cmaf_times.ts";
import type { CameraConfig } from "./config.ts";
import { parseCapturePlaylist } from "./playlist.ts";
import type { Harvest, Rendition, Spool } from "./spool.ts";

/** What a camera's capture is doing, for heartbeats. */
export interface CaptureStatus {
  /** The full rendition's recording. */
  recordingId: string | null;
  capturing: boolean;
  captureClock: CaptureClockReport;
}

/** What a camera's capture makes: its renditions and how. */
export interface CaptureOutput {
  /** The renditions asked for (those of the current recording once it runs). */
  renditions: Rendition[];
  /** The full rendition's recording. */
  recordingId: string | null;
  /** The proxy rendition's recording, while one is made. */
  proxyRecordingId: string | null;
  /** The camera's own H.264 is cut without re-encoding; null before the first recording. */
  passthrough: boolean | null;
}

/** The low-bitrate rendition's size and rate. */
export interface ProxySettings {
  /** Picture height in pixels (the width follows the camera's aspect ratio). */
  height: number;
  bitrateKbps: number;
}

/** The proxy rendition the upload policy uses unless it says otherwise. */
export const DEFAULT_PROXY: ProxySettings = { height: 320, bitrateKbps: 150 };

/** Options of {@linkcode CameraCapture}. */
export interface CaptureOptions {
  camera: CameraConfig;
  segmentSeconds: number;
  spool: Spool;
  logger: Logger;
  ffmpeg?: string;
  font?: string;
  /** How often the playlist is looked at; a quarter of a segment, at most 500 ms, by default. */
  pollMs?: number;
  /** Time without a new segment after which ffmpeg is restarted. */
  stallMs?: number;
  /** Restart delays: doubling from `baseMs` to `capMs`. */
  restart?: { baseMs: number; capMs: number };
  /** Wall clock for recording ids. */
  wall?: () => number;
  /** Renditions recorded from the start; `["full"]` by default (see `setRenditions`). */
  renditions?: readonly Rendition[];
  /** The proxy rendition's settings; {@linkcode DEFAULT_PROXY} by default. */
  proxy?: ProxySettings;
}

const STOP_GRACE_MS = 10_000;
const PROBE_TIMEOUT_MS = 20_000;

/** A passed-through recording's wall-clock anchor: found yet, and the first estimate of it. */
interface Anchor {
  done: boolean;
  estimateMs: number;
}

/** The renditions to record: always the full one, first; then the proxy if asked for. */
function normalRenditions(renditions: readonly Rendition[]): Rendition[] {
  for (const rendition of renditions) {
    if (rendition !== "full" && rendition !== "proxy") {
      throw new RangeError(`Cannot record rendition "${rendition}": must be full or proxy`);
    }
  }
  if (!renditions.includes("full")) {
    throw new RangeError(
      `Cannot record renditions "${renditions.join(", ")}": the full one is always recorded`,
    );
  }
  return renditions.includes("proxy") ? ["full", "proxy"] : ["full"];
}

/** Proxy settings within what an encoder can make of a camera. */
function checkedProxy(proxy: ProxySettings): ProxySettings {
  const { height, bitrateKbps } = proxy;
  if (!Number.isInteger(height) || height < 64 || height > 2160 || height % 2) {
    throw new RangeError(`Cannot make a proxy of height ${height}: must be even, 64 to 2160`);
  }
  if (!Number.isFinite(bitrateKbps) || bitrateKbps < 20 || bitrateKbps > 20_000) {
    throw new RangeError(
      `Cannot make a proxy of ${bitrateKbps} kbit/s: must be 20 to 20000 kbit/s`,
    );
  }
  return { height, bitrateKbps };
}
const STDERR_LINES_KEPT = 20;

/**
 * A new recording id: `r` + the UTC start time + a random suffix, e.g. `r20261124T034825Z-k3f9qa`.
 */
export function newRecordingId(now: number = Date.now()): string {
  const stamp = new Date(now).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  const random = crypto.getRandomValues(new Uint8Array(6));
  const suffix = Array.from(random, (b) => "0123456789abcdefghijklmnopqrstuvwxyz"[b % 36]).join("");
  return `r${stamp}-${suffix}`;
}

/** Escapes a value for a filtergraph option (`:`, `'` and `\` are special there). */
function filterValue(value: string): string {
  return value.replace(/[\\':]/g, (c) => `\\${c}`);
}

/**
 * Stamps each frame with the wall clock at capture: its time is milliseconds since `epochMs`
 * (the recording's capture epoch), so that media time is real time even when the encoder falls
 * behind, and a frame's wall clock is `epochMs` + its presentation time.
 */
export function captureClockFilter(epochMs: number): string {
  return `settb=1/1000,setpts=(RTCTIME-${Math.round(epochMs) * 1000})/(TB*1000000)`;
}

/**
 * ffmpeg's input arguments and video filter for `camera`; the test pattern burns in the clock.
 *
 * With `captureEpochMs`, a generated or file source is paced by the `realtime` filter instead of
 * `-re` and its frames are stamped with the capture clock ({@linkcode captureClockFilter}): an
 * encoder starved of CPU then makes fewer frames over the same real time, instead of media time
 * falling behind the wall clock. Cameras (v4l2, RTSP) carry their own capture timestamps.
 */
export function ffmpegInput(
  camera: CameraConfig,
  font: string,
  options: { captureEpochMs?: number } = {},
): { input: string[]; filter: string } {
  const { width, height, fps } = camera.video;
  const input: string[] = [];
  const epoch = options.captureEpochMs;
  const rate = epoch === undefined ? ["-re"] : [];
  let filter =
    `fps=${fps},scale=w=${width}:h=${height}:force_original_aspect_ratio=decrease:force_divisible_by=2`;
  const source = camera.source;
  switch (source.kind) {
    case "testsrc": {
      input.push(...rate, "-f", "lavfi", "-i", `testsrc2=size=${width}x${height}:rate=${fps}`);
      const clock = String.raw`%{gmtime\:%Y-%m-%d %H\\\:%M\\\:%S} UTC  ${camera.name}`;
      const size = Math.max(12, Math.round(height / 18));
      filter = (epoch === undefined ? "" : `realtime,${captureClockFilter(epoch)},`) +
        `drawtext=fontfile=${filterValue(font)}:text='${clock}':x=${size}:y=${size}` +
        `:fontsize=${size}:fontcolor=white:box=1:boxcolor=black:boxborderw=${size >> 2}`;
      break;
    }
    case "file":
      input.push(...rate, "-stream_loop", "-1", "-i", source.path);
      if (epoch !== undefined) filter = `realtime,${filter},${captureClockFilter(epoch)}`;
      break;
    case "v4l2":
      input.push(
        "-f",
        "v4l2",
        "-framerate",
        String(fps),
        "-video_size",
        `${width}x${height}`,
        "-i",
        source.device,
      );
      break;
    case "url":
      if (source.url.startsWith("rtsp")) {
        input.push("-rtsp_transport", "tcp", "-timeout", "10000000", "-i", source.url);
      } else input.push("-rw_timeout", "10000000", "-i", source.url);
      break;
  }
  return { input, filter };
}

/** Where and how ffmpeg writes the proxy rendition. */
export interface ProxyOutput extends ProxySettings {
  /** The proxy recording's capture folder. */
  dir: string;
}

/**
 * ffmpeg's command line for `camera`, writing into `dir` (and the proxy into `proxy.dir`).
 *
 * Both renditions come from the same frames: encoded, one filter chain (and its capture clock) is
 * split in two, and both encoders force keyframes on the same grid; passed through
 * (`passthrough`), the camera's packets are copied with their own timestamps (`-copyts`: media
 * time 0 is the first packet received) and the proxy is encoded with keyframes where the camera
 * put them (`-force_key_frames source`). Either way the HLS muxers cut both at the same times.
 */
export function ffmpegArgs(
  camera: CameraConfig,
  options: {
    dir: string;
    segmentSeconds: number;
    font: string;
    listSize?: number;
    /** The recording's capture epoch (see {@linkcode captureClockFilter}). */
    captureEpochMs: number;
    /** Also write the proxy rendition. */
    proxy?: ProxyOutput;
    /** Copy the camera's H.264 instead of encoding it (only the proxy is encoded). */
    passthrough?: boolean;
  },
): string[] {
  const { bitrate } = camera.video;
  const seconds = String(options.segmentSeconds);
  const listSize = String(options.listSize ?? Math.ceil(600 / options.segmentSeconds));
  const hls = (dir: string) => [
    "-f",
    "hls",
    "-hls_segment_type",
    "fmp4",
    "-hls_time",
    seconds,
    "-hls_list_size",
    listSize,
    "-start_number",
    "0",
    "-hls_flags",
    "+temp_file+independent_segments+program_date_time",
    "-hls_fmp4_init_filename",
    "init.mp4",
    "-hls_segment_filename",
    `${dir}/%010d.m4s`,
    `${dir}/index.m3u8`,
  ];
  const encode = (bitsPerSecond: number, keyframes: string, extra: string[] = []) => [
    "-c:v",
    "libx264",
    "-preset",
    "veryfast",
    ...extra,
    "-pix_fmt",
    "yuv420p",
    "-b:v",
    String(bitsPerSecond),
    "-maxrate",
    String(bitsPerSecond),
    "-bufsize",
    String(bitsPerSecond * 2),
    "-force_key_frames",
    keyframes,
    "-sc_threshold",
    "0",
  ];
  const { input, filter } = ffmpegInput(camera, options.font, {
    captureEpochMs: options.captureEpochMs,
  });
  const head = ["-hide_banner", "-nostdin", "-nostats", "-loglevel", "level+warning"];
  const proxy = options.proxy;
  const proxyRate = (proxy?.bitrateKbps ?? 0) * 1000;
  if (options.passthrough) {
    const args = [...head, "-copyts", ...input, "-map", "0:v:0", "-an", "-c:v", "copy"];
    args.push(...hls(options.dir));
    if (!proxy) return args;
    return [
      ...args,
      "-map",
      "0:v:0",
      "-an",
      "-vf",
      `scale=w=-2:h=min(${proxy.height}\\,ih),format=yuv420p`,
      // The camera's timestamps, untouched: the same as the copied packets'.
      "-fps_mode",
      "passthrough",
      // Keyframes only where the camera put them: none of x264's own every 250 frames, which a
      // camera with a longer GOP would not have at the same time.
      ...encode(proxyRate, "source", ["-bf", "0", "-g", "1000000"]),
      ...hls(proxy.dir),
    ];
  }
  // Frames keep their capture times: the HLS muxer is not variable-rate, so by default ffmpeg
  // would duplicate frames to fill the time a starved encoder lost, starving it further. Capture
  // times to the millisecond: in slots of one frame, frames that a starved encoder takes in a
  // burst would be pushed to later slots (later times than they were captured).
  const timing = ["-fps_mode", "vfr", "-enc_time_base", "1/1000"];
  const grid = `expr:gte(t,n_forced*${seconds})`;
  if (!proxy) {
    return [
      ...head,
      ...input,
      "-map",
      "0:v:0",
      "-an",
      "-vf",
      filter,
      ...timing,
      ...encode(bitrate, grid),
      ...hls(options.dir),
    ];
  }
  const height = Math.min(proxy.height, camera.video.height);
  return [
    ...head,
    ...input,
    "-filter_complex",
    `[0:v:0]${filter},split=2[full][low];[low]scale=w=-2:h=${height}[proxy]`,
    "-map",
    "[full]",
    "-an",
    ...timing,
    ...encode(bitrate, grid),
    ...hls(options.dir),
    "-map",
    "[proxy]",
    "-an",
    ...timing,
    ...encode(proxyRate, grid, ["-bf", "0"]),
    ...hls(proxy.dir),
  ];
}

/** The video codec ffmpeg finds in a camera's stream (e.g. "h264"), from its stream listing. */
export function probedVideoCodec(stderr: string): string | undefined {
  return /Stream #\d+:\d+[^:\n]*: Video: (\w+)/.exec(stderr)?.[1];
}

/** Records one camera, restarting ffmpeg whenever it stops. */
export class CameraCapture {
  readonly #log: Logger;
  readonly #wake = new AbortController();
  #closed = false;
  #running: Promise<void> | undefined;
  #child: Deno.ChildProcess | undefined;
  #recordingId: string | null = null;
  #proxyRecordingId: string | null = null;
  #renditions: Rendition[];
  #proxy: ProxySettings;
  /** The segment length of the next recording (the fleet's setting may change it). */
  #segmentSeconds: number;
  /** Whether the current (or last) recording passes the camera's H.264 through. */
  #passthrough: boolean | null = null;
  /** The camera's codec, once probed (`passthrough: "auto"`). */
  #codec: string | undefined;
  #restartRequested: string | undefined;
  #lastProgress = 0;
  #lastSegmentAt = -Infinity;
  /** The recording being harvested (its capture clock), and re-anchors of earlier recordings. */
  #current: Harvest | undefined;
  #earlierReanchors = 0;
  #lastReanchorAt: string | null = null;

  constructor(private readonly options: CaptureOptions) {
    this.#log = options.logger.child({ camera: options.camera.name });
    this.#renditions = normalRenditions(options.renditions ?? ["full"]);
    this.#proxy = checkedProxy(options.proxy ?? DEFAULT_PROXY);
    this.#segmentSeconds = checkedSegmentSeconds(options.segmentSeconds);
  }

  get name(): string {
    return this.options.camera.name;
  }

  /** Starts recording (in the background). */
  start(): void {
    this.#running ??= this.#supervise();
  }

  /**
   * Records `renditions` from now on (the full one always; the proxy with `proxy`'s settings).
   * When that differs from what is being recorded, the recording ends and a new one starts at
   * once with the new set. Returns whether anything changed.
   *
   * @example capture.setRenditions(["full", "proxy"], { height: 320, bitrateKbps: 150 });
   */
  setRenditions(renditions: readonly Rendition[], proxy?: ProxySettings): boolean {
    const wanted = normalRenditions(renditions);
    const settings = proxy ? checkedProxy(proxy) : this.#proxy;
    const withProxy = wanted.includes("proxy");
    const same = wanted.length === this.#renditions.length &&
      (!withProxy || (settings.height === this.#proxy.height &&
        settings.bitrateKbps === this.#proxy.bitrateKbps));
    if (same) return false;
    this.#renditions = wanted;
    this.#proxy = settings;
    this.restart(`renditions: ${wanted.join(", ")}`);
    return true;
  }

  /**
   * Cuts `seconds`-long segments from now on (0.5-30 s): when that differs from what is being
   * recorded, the recording ends and a new one starts at once. Returns whether anything changed.
   */
  setSegmentSeconds(seconds: number): boolean {
    const wanted = checkedSegmentSeconds(seconds);
    if (wanted === this.#segmentSeconds) return false;
    this.#segmentSeconds = wanted;
    this.restart(`segment length: ${wanted} s`);
    return true;
  }

  /** The segment length recordings are cut to from now on. */
  get segmentSeconds(): number {
    return this.#segmentSeconds;
  }

  /** Ends the current recording and starts a new one at once (e.g. after a clock jump). */
  restart(reason: string): void {
    // A restart already asked for picks up every setting changed since.
    if (this.#closed || !this.#child || this.#restartRequested !== undefined) return;
    this.#restartRequested = reason;
    this.#log.info("recording restarts", { recordingId: this.#recordingId, reason });
    this.#stopChild();
  }

  /** Stops ffmpeg (it finishes the segment it is writing) and ends the recording. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#wake.abort();
      this.#stopChild();
    }
    await this.#running;
  }

  status(): CaptureStatus {
    // Capturing means segments are coming: ffmpeg runs and made one within about two segments.
    const fresh = this.#segmentSeconds * 2_000 + 2_000;
    return {
      recordingId: this.#recordingId,
      capturing: this.#child !== undefined && performance.now() - this.#lastSegmentAt < fresh,
      captureClock: this.#captureClock(),
    };
  }

  /** The renditions being recorded, their recordings, and whether the camera is passed through. */
  get output(): CaptureOutput {
    return {
      renditions: [...this.#renditions],
      recordingId: this.#recordingId,
      proxyRecordingId: this.#proxyRecordingId,
      passthrough: this.#passthrough,
    };
  }

  /** The current recording's capture clock, with re-anchors counted over all recordings. */
  #captureClock(): CaptureClockReport {
    const report = this.#current?.clock.report() ??
      { state: "ok", reanchors: 0, driftMs: null, correctionMs: 0, lastReanchorAt: null };
    return {
      ...report,
      reanchors: this.#earlierReanchors + report.reanchors,
      lastReanchorAt: report.lastReanchorAt ?? this.#lastReanchorAt,
    };
  }

  #stallMs(): number {
    return this.options.stallMs ?? Math.max(30_000, this.#segmentSeconds * 5_000);
  }

  /** Asks ffmpeg to finish (SIGINT: it completes the segment and the playlist), then insists. */
  #stopChild(): void {
    if (this.#child) stopProcess(this.#child, "SIGINT", STOP_GRACE_MS);
  }

  async #supervise(): Promise<void> {
    const { baseMs, capMs } = this.options.restart ?? { baseMs: 1_000, capMs: 60_000 };
    let failures = 0;
    while (!this.#closed) {
      const started = performance.now();
      let outcome: { code: number; lines: string[] };
      try {
        outcome = await this.#record();
      } catch (error) {
        this.#log.error("capture failed", { error });
        outcome = { code: -1, lines: [] };
      }
      if (this.#closed) break;
      if (this.#restartRequested !== undefined) {
        this.#restartRequested = undefined;
        failures = 0;
        continue;
      }
      if (performance.now() - started > 60_000) failures = 0;
      const delay = Math.min(capMs, baseMs * 2 ** failures);
      failures++;
      this.#log.warn("ffmpeg stopped; restarting with a new recording", {
        code: outcome.code,
        retryInMs: delay,
        stderr: outcome.lines,
      });
      await sleep(delay, this.#wake.signal);
    }
    this.#recordingId = null;
    this.#proxyRecordingId = null;
  }

  /**
   * Whether this recording passes the camera's H.264 through: `passthrough` true, or "auto" and
   * the camera's stream is H.264 (probed once, by ffmpeg). Only network cameras are passed through.
   */
  async #wantsPassthrough(): Promise<boolean> {
    const { camera } = this.options;
    const setting = camera.passthrough ?? false;
    if (camera.source.kind !== "url" || setting === false) return false;
    if (setting === true) return true;
    this.#codec ??= await this.#probeCodec();
    return this.#codec === "h264";
  }

  /** The video codec of the camera's stream, from ffmpeg's listing of it (no output written). */
  async #probeCodec(): Promise<string> {
    const { input } = ffmpegInput(this.options.camera, "");
    const child = new Deno.Command(this.options.ffmpeg ?? "ffmpeg", {
      args: ["-hide_banner", "-nostdin", ...input],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stop = () => stopProcess(child, "SIGTERM", 2_000);
    const timer = setTimeout(stop, PROBE_TIMEOUT_MS);
    this.#wake.signal.addEventListener("abort", stop);
    try {
      const { stderr } = await child.output();
      const text = new TextDecoder().decode(stderr);
      const codec = probedVideoCodec(text);
      if (!codec) {
        const last = text.trim().split("\n").slice(-2).join(" / ");
        throw new Error(`Cannot find the video codec of camera "${this.name}": ${last}`);
      }
      this.#log.info("camera stream probed", { codec, passthrough: codec === "h264" });
      return codec;
    } finally {
      clearTimeout(timer);
      this.#wake.signal.removeEventListener("abort", stop);
    }
  }

  /** Runs one ffmpeg — one recording — until it exits; harvests and ends the recording. */
  async #record(): Promise<{ code: number; lines: string[] }> {
    const { camera, spool } = this.options;
    const segmentSeconds = this.#segmentSeconds;
    const passthrough = await this.#wantsPassthrough();
    if (this.#closed) return { code: 0, lines: [] };
    const renditions = this.#renditions;
    const proxySettings = this.#proxy;
    const recordingId = newRecordingId(this.options.wall?.() ?? Date.now());
    // Frames of generated and file sources are stamped with the system clock minus this epoch;
    // a passed-through camera's media time starts at its first packet, which is about now (and
    // is anchored on its first segment, see #anchor).
    const stamped = camera.source.kind === "testsrc" || camera.source.kind === "file";
    const captureEpochMs = Date.now();
    const epoch = stamped || passthrough ? captureEpochMs : undefined;
    const harvest = await spool.begin(camera.name, recordingId, epoch, "full");
    let proxy: Harvest | undefined;
    if (renditions.includes("proxy")) {
      try {
        proxy = await spool.begin(camera.name, `${recordingId}-p`, epoch, "proxy");
      } catch (error) {
        await spool.end(harvest, undefined);
        throw error;
      }
    }
    this.#retire();
    this.#current = harvest;
    const args = ffmpegArgs(camera, {
      dir: harvest.dir,
      segmentSeconds,
      font: this.options.font ?? "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
      captureEpochMs,
      proxy: proxy && { dir: proxy.dir, ...proxySettings },
      passthrough,
    });
    const harvests = proxy ? [harvest, proxy] : [harvest];
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(this.options.ffmpeg ?? "ffmpeg", {
        args,
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
    } catch (error) {
      for (const h of harvests) await spool.end(h, undefined);
      throw error;
    }
    this.#child = child;
    this.#recordingId = recordingId;
    this.#proxyRecordingId = proxy?.recordingId ?? null;
    this.#passthrough = passthrough;
    if (this.#renditions !== renditions || this.#proxy !== proxySettings) {
      this.restart("renditions changed while ffmpeg started");
    }
    const anchor = passthrough ? { done: false, estimateMs: captureEpochMs } : undefined;
    this.#lastProgress = performance.now();
    this.#lastSegmentAt = -Infinity;
    this.#log.info("recording started", {
      recordingId,
      pid: child.pid,
      source: camera.source.kind,
      renditions,
      passthrough,
      segmentSeconds,
    });
    if (this.#closed) this.#stopChild();

    const lines: string[] = [];
    const stderr = this.#pumpStderr(child.stderr, recordingId, lines);
    const exited = new AbortController();
    const watching = this.#watch(harvests, anchor, exited.signal);
    const status = await child.status;
    exited.abort();
    await watching;
    await stderr;
    this.#child = undefined;
    if (anchor && !anchor.done) await this.#anchor(harvests, anchor);
    for (const h of harvests) {
      await this.#harvest(h, true);
      await spool.end(h, h.lastSequence >= 0 ? h.lastEndMs : undefined);
    }
    this.#log.info("recording ended", {
      recordingId,
      code: status.code,
      segments: harvest.lastSequence + 1,
      proxySegments: proxy ? proxy.lastSequence + 1 : undefined,
      endedAt: harvest.lastEndMs ? new Date(harvest.lastEndMs).toISOString() : null,
    });
    return { code: status.code, lines };
  }

  /** Counts the re-anchors of the recording that ended into the camera's total. */
  #retire(): void {
    const report = this.#current?.clock.report();
    if (!report) return;
    this.#earlierReanchors += report.reanchors;
    this.#lastReanchorAt = report.lastReanchorAt ?? this.#lastReanchorAt;
    this.#current = undefined;
  }

  /**
   * Harvests whenever a playlist changes; restarts a stalled ffmpeg. The full rendition's harvest
   * is first; its progress is the camera's. A passed-through recording is harvested once anchored.
   */
  async #watch(
    harvests: Harvest[],
    anchor: Anchor | undefined,
    exited: AbortSignal,
  ): Promise<void> {
    const pollMs = this.options.pollMs ??
      Math.min(500, Math.max(100, this.#segmentSeconds * 250));
    let stopping = false;
    while (!exited.aborted) {
      await sleep(pollMs, exited);
      if (exited.aborted) break;
      if (anchor && !anchor.done) await this.#anchor(harvests, anchor);
      if (!anchor || anchor.done) {
        const [full, ...others] = harvests;
        if (await this.#harvest(full, false)) {
          this.#lastProgress = this.#lastSegmentAt = performance.now();
        }
        for (const other of others) await this.#harvest(other, false);
      }
      if (!stopping && performance.now() - this.#lastProgress > this.#stallMs()) {
        stopping = true;
        this.#log.warn("ffmpeg made no segment for too long; stopping it", {
          recordingId: harvests[0].recordingId,
          stallMs: this.#stallMs(),
        });
        this.#stopChild();
      }
    }
  }

  /**
   * Puts a passed-through recording on the wall clock: its media time starts at the first packet
   * ffmpeg received, some time after it was started. The first segment is finished (renamed into
   * place) the moment the packet that starts the next one arrives, so the recording's epoch is
   * that file's modification time minus the segment's end in media time. Both renditions share it.
   */
  async #anchor(harvests: Harvest[], anchor: Anchor): Promise<void> {
    const full = harvests[0];
    try {
      const playlist = parseCapturePlaylist(await Deno.readTextFile(`${full.dir}/index.m3u8`));
      const first = playlist.segments[0];
      if (!first || !playlist.init) return;
      const track = readTrackTimeline(await Deno.readFile(`${full.dir}/${playlist.init}`));
      const path = `${full.dir}/${first.file}`;
      const appearedMs = (await Deno.stat(path)).mtime?.getTime();
      const times = track && readSegmentTimes(await Deno.readFile(path), track);
      if (!times || appearedMs === undefined) return;
      const epochMs = Math.round(appearedMs - (times.startS + times.durationS) * 1000);
      for (const harvest of harvests) harvest.captureEpochMs = epochMs;
      anchor.done = true;
      this.#log.info("passed-through recording anchored on the camera's first segment", {
        recordingId: full.recordingId,
        firstPacketAfterStartMs: epochMs - anchor.estimateMs,
      });
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      this.#log.warn("cannot anchor the passed-through recording", { dir: full.dir, error });
    }
  }

  #playlistMtime = new WeakMap<Harvest, number>();

  /** Reads the playlist if it changed (or always when `final`) and queues what is finished. */
  async #harvest(harvest: Harvest, final: boolean): Promise<number> {
    const path = `${harvest.dir}/index.m3u8`;
    try {
      const info = await Deno.stat(path);
      const mtime = info.mtime?.getTime() ?? 0;
      if (!final && this.#playlistMtime.get(harvest) === mtime) return 0;
      const playlist = parseCapturePlaylist(await Deno.readTextFile(path));
      this.#playlistMtime.set(harvest, mtime);
      return await this.options.spool.harvest(harvest, playlist, final);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return 0;
      this.#log.warn("cannot harvest the capture folder", { dir: harvest.dir, error });
      return 0;
    }
  }

  /** Logs ffmpeg's stderr at debug level, keeping the last lines for the exit message. */
  #pumpStderr(
    stream: ReadableStream<Uint8Array>,
    recordingId: string,
    lines: string[],
  ): Promise<void> {
    return readLines(stream, (line) => {
      lines.push(line);
      if (lines.length > STDERR_LINES_KEPT) lines.shift();
      this.#log.debug("ffmpeg", { recordingId, line });
    }, 500);
  }
}

/** `seconds` when it is a segment length capture can cut (0.5-30 s); a RangeError otherwise. */
function checkedSegmentSeconds(seconds: number): number {
  if (!Number.isFinite(seconds) || seconds < 0.5 || seconds > 30) {
    throw new RangeError(`Segment length must be from 0.5 to 30 seconds, got ${seconds}`);
  }
  return seconds;
}
