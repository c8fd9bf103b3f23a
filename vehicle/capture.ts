/**
 * Capture: one ffmpeg per camera, encoding to CMAF (fMP4) HLS in the spool's capture folder, with
 * keyframes forced on the segment grid so that every segment starts with one. The capture watches
 * ffmpeg's playlist and hands each finished segment to the spool; when ffmpeg dies it is started
 * again (with backoff), always as a new recording.
 */
import type { Logger } from "../lib/log/mod.ts";
import { readLines, stopProcess } from "../lib/process/mod.ts";
import { sleep } from "./backoff.ts";
import type { CaptureClockReport } from "./capture_clock.ts";
import type { CameraConfig } from "./config.ts";
import { parseCapturePlaylist } from "./playlist.ts";
import type { Harvest, Spool } from "./spool.ts";

/** What a camera's capture is doing, for heartbeats. */
export interface CaptureStatus {
  recordingId: string | null;
  capturing: boolean;
  captureClock: CaptureClockReport;
}

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
}

const STOP_GRACE_MS = 10_000;
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

/** ffmpeg's command line for `camera`, writing into `dir`. */
export function ffmpegArgs(
  camera: CameraConfig,
  options: {
    dir: string;
    segmentSeconds: number;
    font: string;
    listSize?: number;
    /** The recording's capture epoch (see {@linkcode captureClockFilter}). */
    captureEpochMs: number;
  },
): string[] {
  const { bitrate } = camera.video;
  const seconds = String(options.segmentSeconds);
  const { input, filter } = ffmpegInput(camera, options.font, {
    captureEpochMs: options.captureEpochMs,
  });
  return [
    "-hide_banner",
    "-nostdin",
    "-nostats",
    "-loglevel",
    "level+warning",
    ...input,
    "-map",
    "0:v:0",
    "-an",
    "-vf",
    filter,
    // Frames keep their capture times: the HLS muxer is not variable-rate, so by default ffmpeg
    // would duplicate frames to fill the time a starved encoder lost, starving it further.
    "-fps_mode",
    "vfr",
    // Capture times to the millisecond: in slots of one frame, frames that a starved encoder
    // takes in a burst would be pushed to later slots (later times than they were captured).
    "-enc_time_base",
    "1/1000",
    "-c:v",
    "libx264",
    "-preset",
    "veryfast",
    "-pix_fmt",
    "yuv420p",
    "-b:v",
    String(bitrate),
    "-maxrate",
    String(bitrate),
    "-bufsize",
    String(bitrate * 2),
    "-force_key_frames",
    `expr:gte(t,n_forced*${seconds})`,
    "-sc_threshold",
    "0",
    "-f",
    "hls",
    "-hls_segment_type",
    "fmp4",
    "-hls_time",
    seconds,
    "-hls_list_size",
    String(options.listSize ?? Math.ceil(600 / options.segmentSeconds)),
    "-start_number",
    "0",
    "-hls_flags",
    "+temp_file+independent_segments+program_date_time",
    "-hls_fmp4_init_filename",
    "init.mp4",
    "-hls_segment_filename",
    `${options.dir}/%010d.m4s`,
    `${options.dir}/index.m3u8`,
  ];
}

/** Records one camera, restarting ffmpeg whenever it stops. */
export class CameraCapture {
  readonly #log: Logger;
  readonly #wake = new AbortController();
  #closed = false;
  #running: Promise<void> | undefined;
  #child: Deno.ChildProcess | undefined;
  #recordingId: string | null = null;
  #restartRequested: string | undefined;
  #lastProgress = 0;
  #lastSegmentAt = -Infinity;
  /** The recording being harvested (its capture clock), and re-anchors of earlier recordings. */
  #current: Harvest | undefined;
  #earlierReanchors = 0;
  #lastReanchorAt: string | null = null;

  constructor(private readonly options: CaptureOptions) {
    this.#log = options.logger.child({ camera: options.camera.name });
  }

  get name(): string {
    return this.options.camera.name;
  }

  /** Starts recording (in the background). */
  start(): void {
    this.#running ??= this.#supervise();
  }

  /** Ends the current recording and starts a new one at once (e.g. after a clock jump). */
  restart(reason: string): void {
    if (this.#closed || !this.#child) return;
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
    const fresh = this.options.segmentSeconds * 2_000 + 2_000;
    return {
      recordingId: this.#recordingId,
      capturing: this.#child !== undefined && performance.now() - this.#lastSegmentAt < fresh,
      captureClock: this.#captureClock(),
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
    return this.options.stallMs ?? Math.max(30_000, this.options.segmentSeconds * 5_000);
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
  }

  /** Runs one ffmpeg — one recording — until it exits; harvests and ends the recording. */
  async #record(): Promise<{ code: number; lines: string[] }> {
    const { camera, spool, segmentSeconds } = this.options;
    const recordingId = newRecordingId(this.options.wall?.() ?? Date.now());
    // Frames of generated and file sources are stamped with the system clock minus this epoch.
    const stamped = camera.source.kind === "testsrc" || camera.source.kind === "file";
    const captureEpochMs = Date.now();
    const harvest = await spool.begin(
      camera.name,
      recordingId,
      stamped ? captureEpochMs : undefined,
    );
    this.#retire();
    this.#current = harvest;
    const args = ffmpegArgs(camera, {
      dir: harvest.dir,
      segmentSeconds,
      font: this.options.font ?? "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
      captureEpochMs,
    });
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(this.options.ffmpeg ?? "ffmpeg", {
        args,
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
    } catch (error) {
      await spool.end(harvest, undefined);
      throw error;
    }
    this.#child = child;
    this.#recordingId = recordingId;
    this.#lastProgress = performance.now();
    this.#lastSegmentAt = -Infinity;
    this.#log.info("recording started", {
      recordingId,
      pid: child.pid,
      source: camera.source.kind,
    });
    if (this.#closed) this.#stopChild();

    const lines: string[] = [];
    const stderr = this.#pumpStderr(child.stderr, recordingId, lines);
    const exited = new AbortController();
    const watching = this.#watch(harvest, exited.signal);
    const status = await child.status;
    exited.abort();
    await watching;
    await stderr;
    this.#child = undefined;
    await this.#harvest(harvest, true);
    await spool.end(harvest, harvest.lastSequence >= 0 ? harvest.lastEndMs : undefined);
    this.#log.info("recording ended", {
      recordingId,
      code: status.code,
      segments: harvest.lastSequence + 1,
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

  /** Harvests whenever the playlist changes; restarts a stalled ffmpeg. */
  async #watch(harvest: Harvest, exited: AbortSignal): Promise<void> {
    const pollMs = this.options.pollMs ??
      Math.min(500, Math.max(100, this.options.segmentSeconds * 250));
    let stopping = false;
    while (!exited.aborted) {
      await sleep(pollMs, exited);
      if (exited.aborted) break;
      if (await this.#harvest(harvest, false)) {
        this.#lastProgress = this.#lastSegmentAt = performance.now();
      }
      if (!stopping && performance.now() - this.#lastProgress > this.#stallMs()) {
        stopping = true;
        this.#log.warn("ffmpeg made no segment for too long; stopping it", {
          recordingId: harvest.recordingId,
          stallMs: this.#stallMs(),
        });
        this.#stopChild();
      }
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
