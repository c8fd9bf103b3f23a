/** Real CMAF material for tests, cut by ffmpeg from a synthetic source. */

/** An init segment and its media segments, as ffmpeg's HLS muxer wrote them. */
export interface CmafFixture {
  init: Uint8Array;
  segments: Array<{ bytes: Uint8Array; durationMs: number }>;
}

/**
 * Encodes `seconds` of a test pattern into ~`segmentSeconds` keyframe-aligned fMP4 segments.
 *
 * @example const { init, segments } = await makeCmaf({ seconds: 6 });
 */
export async function makeCmaf(
  options: { seconds: number; segmentSeconds?: number; size?: string; bitrate?: string },
): Promise<CmafFixture> {
  const segmentSeconds = options.segmentSeconds ?? 2;
  const dir = await Deno.makeTempDir({ prefix: "motorcade-cmaf-" });
  try {
    const output = await new Deno.Command("ffmpeg", {
      args: [
        "-hide_banner",
        "-loglevel",
        "error",
        "-f",
        "lavfi",
        "-i",
        `testsrc2=size=${options.size ?? "320x180"}:rate=25`,
        "-t",
        String(options.seconds),
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-b:v",
        options.bitrate ?? "300k",
        "-pix_fmt",
        "yuv420p",
        "-force_key_frames",
        `expr:gte(t,n_forced*${segmentSeconds})`,
        "-sc_threshold",
        "0",
        "-f",
        "hls",
        "-hls_segment_type",
        "fmp4",
        "-hls_time",
        String(segmentSeconds),
        "-hls_list_size",
        "0",
        "-hls_fmp4_init_filename",
        "init.mp4",
        "-hls_segment_filename",
        `${dir}/%010d.m4s`,
        `${dir}/index.m3u8`,
      ], // deno-fmt-ignore
      stderr: "piped",
    }).output();
    if (!output.success) {
      throw new Error(`ffmpeg failed: ${new TextDecoder().decode(output.stderr)}`);
    }
    const playlist = await Deno.readTextFile(`${dir}/index.m3u8`);
    const durations = [...playlist.matchAll(/#EXTINF:([\d.]+),/g)].map((m) =>
      Math.round(Number(m[1]) * 1000)
    );
    const names = playlist.split("\n").filter((line) => line.endsWith(".m4s"));
    return {
      init: await Deno.readFile(`${dir}/init.mp4`),
      segments: await Promise.all(names.map(async (name, i) => ({
        bytes: await Deno.readFile(`${dir}/${name}`),
        durationMs: durations[i],
      }))),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** `Content-Digest` header value for `bytes` (RFC 9530, sha-256). */
export async function contentDigest(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  return `sha-256=:${btoa(String.fromCharCode(...digest))}:`;
}
