/**
 * Real CMAF files for the media and playlist tests: ffmpeg's HLS muxer cuts a synthetic test
 * pattern into an init segment and ~2 s fMP4 segments in a temporary folder.
 */

/** A folder of ffmpeg-made CMAF: `init.mp4`, then `out0.m4s`, `out1.m4s`, … */
export interface CmafFolder extends AsyncDisposable {
  dir: string;
  init: string;
  segments: string[];
}

/** ffmpeg's output (decoded) or a clear error with its stderr. */
export async function run(command: string, args: string[], cwd?: string): Promise<string> {
  const output = await new Deno.Command(command, { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  if (!output.success) {
    throw new Error(
      `${command} ${args.join(" ")} failed: ${new TextDecoder().decode(output.stderr)}`,
    );
  }
  return new TextDecoder().decode(output.stdout);
}

/**
 * Encodes `seconds` (default 6) of `testsrc2` at 640x360, 25 fps, a keyframe every 2 s, into
 * fMP4 HLS segments of 2 s: H.264 with exactly the command of the brief, or H.265 (`hvc1`).
 */
export async function makeCmaf(
  options: { seconds?: number; codec?: "h264" | "h265" } = {},
): Promise<CmafFolder> {
  const dir = await Deno.makeTempDir({ prefix: "motorcade-cmaf-" });
  const codec = options.codec === "h265"
    ? ["-c:v", "libx265", "-tag:v", "hvc1", "-x265-params", "log-level=error"]
    : ["-c:v", "libx264"];
  // deno-fmt-ignore
  await run("ffmpeg", [
    "-hide_banner", "-loglevel", "error",
    "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-t", String(options.seconds ?? 6),
    ...codec, "-g", "50", "-keyint_min", "50", "-sc_threshold", "0",
    "-f", "hls", "-hls_segment_type", "fmp4", "-hls_time", "2", "-hls_list_size", "0",
    "-hls_fmp4_init_filename", "init.mp4", "out.m3u8",
  ], dir);
  const playlist = await Deno.readTextFile(`${dir}/out.m3u8`);
  const segments = playlist.split("\n").filter((line) => line.endsWith(".m4s"));
  return {
    dir,
    init: `${dir}/init.mp4`,
    segments: segments.map((name) => `${dir}/${name}`),
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}
