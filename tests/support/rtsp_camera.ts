/**
 * An RTSP IP camera for tests: gst-rtsp-server (Debian's gir1.2-gst-rtsp-server-1.0, driven by
 * python3-gi) serving an H.264 file's video in real time with its packets untouched, as a fleet's
 * IP camera delivers H.264. See rtsp_camera.py.
 */
import { followChild, type StopChild } from "./child.ts";
import { freePort } from "./ports.ts";

/** A running test camera. */
export interface RtspCamera extends AsyncDisposable {
  url: string;
  /** When each client started playing (epoch ms, the camera's clock: this machine's). */
  plays: number[];
  stop(): Promise<void>;
}

/** The Python that has GStreamer's bindings (Debian's, not a version manager's shim). */
const PYTHON = "/usr/bin/python3";

/**
 * Makes an H.264 MP4 of a test pattern like an IP camera's stream: constant GOP, no B-frames.
 *
 * @example await makeCameraFile(`${dir}/cam.mp4`, { seconds: 30 });
 */
export async function makeCameraFile(
  path: string,
  options: { seconds: number; size?: string; fps?: number; gopSeconds?: number; bitrate?: string },
): Promise<void> {
  const fps = options.fps ?? 25;
  const gop = String(Math.round(fps * (options.gopSeconds ?? 1)));
  const output = await new Deno.Command("ffmpeg", {
    args: [
      "-hide_banner",
      "-loglevel",
      "error",
      "-y",
      "-f",
      "lavfi",
      "-i",
      `testsrc2=size=${options.size ?? "640x360"}:rate=${fps}`,
      "-t",
      String(options.seconds),
      "-c:v",
      "libx264",
      "-preset",
      "ultrafast",
      "-profile:v",
      "main",
      "-bf",
      "0",
      "-g",
      gop,
      "-keyint_min",
      gop,
      "-sc_threshold",
      "0",
      "-b:v",
      options.bitrate ?? "1M",
      "-pix_fmt",
      "yuv420p",
      path,
    ], // deno-fmt-ignore
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(`ffmpeg failed: ${new TextDecoder().decode(output.stderr)}`);
  }
}

/**
 * Serves `file` at `rtsp://127.0.0.1:PORT/cam`; `delayMs` holds each DESCRIBE answer that long.
 *
 * @example await using camera = await startRtspCamera(`${dir}/cam.mp4`);
 */
export async function startRtspCamera(
  file: string,
  options: { delayMs?: number } = {},
): Promise<RtspCamera> {
  const port = freePort();
  const script = new URL("./rtsp_camera.py", import.meta.url).pathname;
  const child = new Deno.Command(PYTHON, {
    args: [script, file, String(port), String(options.delayMs ?? 0)],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const plays: number[] = [];
  const lines: string[] = [];
  const { promise: ready, resolve } = Promise.withResolvers<boolean>();
  const stopChild: StopChild = followChild(child, (line) => {
    lines.push(line);
    if (line.startsWith("ready ")) resolve(true);
    const play = /^play (\d+)$/.exec(line);
    if (play) plays.push(Number(play[1]));
  });
  child.status.then(() => resolve(false));
  const timer = setTimeout(() => resolve(false), 15_000);
  const up = await ready;
  clearTimeout(timer);
  const stop = async () => {
    await stopChild("SIGTERM");
  };
  if (!up) {
    await stop();
    throw new Error(`The RTSP test camera did not start: ${lines.join("\n")}`);
  }
  return { url: `rtsp://127.0.0.1:${port}/cam`, plays, stop, [Symbol.asyncDispose]: stop };
}
