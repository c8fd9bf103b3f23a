/**
 * Players that are programs, run on a URL the way their users run them: ffmpeg, ffprobe,
 * GStreamer's gst-launch-1.0 (playbin, playbin3), VLC (cvlc) and mpv. Each runner decodes the
 * whole presentation as fast as it can and says what it saw: the frames it decoded, where they
 * sat on its timeline, the duration it reported or wrote, and its error lines.
 */

/** What a player did with a URL. */
export interface NativePlayback {
  /** Video frames decoded. */
  frames: number;
  /** Presentation times of the decoded frames (seconds, the player's timeline), if it says. */
  times?: number[];
  /** Duration the player reported, or of the file it wrote. */
  durationS?: number;
  /** Error (and warning) lines the player printed. */
  errors: string[];
}

/** A runner: plays `url`, may write files into `work`, gives up after `timeoutMs`. */
export type NativeRunner = (
  url: string,
  work: string,
  timeoutMs: number,
) => Promise<NativePlayback>;

const decoder = new TextDecoder();

/** Runs `command` (killed after `timeoutMs`); a timeout or a bad exit becomes an error line. */
async function run(command: string, args: string[], timeoutMs: number) {
  const child = new Deno.Command(command, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }, timeoutMs);
  const output = await child.output().finally(() => clearTimeout(timer));
  const problems: string[] = [];
  if (timedOut) problems.push(`${command}: still running after ${timeoutMs} ms, killed`);
  else if (!output.success) problems.push(`${command}: exited with ${output.code}`);
  return { stdout: decoder.decode(output.stdout), stderr: decoder.decode(output.stderr), problems };
}

const lines = (text: string) => text.split("\n").map((l) => l.trim()).filter((l) => l !== "");

/** Container duration, packet times and count of a file's first video stream (ffprobe). */
async function probeFile(path: string, timeoutMs: number) {
  const { stdout, problems } = await run("ffprobe", [
    "-v",
    "error",
    "-select_streams",
    "v:0",
    "-show_entries",
    "format=duration:packet=pts_time",
    "-of",
    "json",
    path,
  ], timeoutMs);
  if (problems.length) return { frames: 0, times: [], durationS: undefined, problems };
  const json = JSON.parse(stdout) as {
    packets?: Array<{ pts_time?: string }>;
    format?: { duration?: string };
  };
  const times = (json.packets ?? []).map((p) => Number(p.pts_time)).sort((x, y) => x - y);
  return { frames: times.length, times, durationS: Number(json.format?.duration), problems };
}

/** `ffmpeg -i URL -f framecrc -`: decodes every frame, one line with its time each. */
export const ffmpegDecode: NativeRunner = async (url, _work, timeoutMs) => {
  const { stdout, stderr, problems } = await run("ffmpeg", [
    "-nostdin",
    "-v",
    "warning",
    "-i",
    url,
    "-map",
    "0:v:0",
    "-fps_mode",
    "passthrough",
    "-f",
    "framecrc",
    "-",
  ], timeoutMs);
  const timeBase = /^#tb 0: (\d+)\/(\d+)$/m.exec(stdout);
  const unit = timeBase ? Number(timeBase[1]) / Number(timeBase[2]) : NaN;
  const times = lines(stdout).filter((l) => !l.startsWith("#"))
    .map((l) => Number(l.split(",")[2]) * unit);
  return { frames: times.length, times, errors: [...lines(stderr), ...problems] };
};

/** `ffmpeg -i URL -c copy out.mp4`: the file a user saves, probed for frames and duration. */
export const ffmpegSave: NativeRunner = async (url, work, timeoutMs) => {
  const out = `${work}/ffmpeg-${crypto.randomUUID()}.mp4`;
  const saved = await run(
    "ffmpeg",
    ["-nostdin", "-v", "warning", "-i", url, "-map", "0:v:0", "-c", "copy", out],
    timeoutMs,
  );
  const file = await probeFile(out, timeoutMs);
  return {
    frames: file.frames,
    times: file.times,
    durationS: file.durationS,
    errors: [...lines(saved.stderr), ...saved.problems, ...file.problems],
  };
};

/** `ffprobe URL`: the duration it reports and every frame it decodes. */
export const ffprobePlay: NativeRunner = async (url, _work, timeoutMs) => {
  const { stdout, stderr, problems } = await run("ffprobe", [
    "-v",
    "warning",
    "-select_streams",
    "v:0",
    "-show_entries",
    "format=duration:frame=pts_time",
    "-of",
    "json",
    url,
  ], timeoutMs);
  let json: { frames?: Array<{ pts_time?: string }>; format?: { duration?: string } } = {};
  try {
    json = JSON.parse(stdout);
  } catch { /* reported through stderr and the exit status */ }
  const times = (json.frames ?? []).map((f) => Number(f.pts_time));
  return {
    frames: times.length,
    times,
    durationS: json.format?.duration === undefined ? undefined : Number(json.format.duration),
    errors: [...lines(stderr), ...problems],
  };
};

const clockTime = (text: string) => {
  const m = /(\d+):(\d+):([\d.]+)/.exec(text);
  return m ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) : NaN;
};

/**
 * `gst-launch-1.0 -v ELEMENT uri=URL` into a fakesink that does not wait for the clock and
 * announces every event and buffer it gets. A frame's place on the player's timeline is its
 * running time: the segment's base plus how far its pts is past the segment's start (a new
 * segment comes with each DASH Period or HLS discontinuity).
 */
export const gstreamer =
  (element: "playbin" | "playbin3"): NativeRunner => async (url, _work, timeoutMs) => {
    const { stdout, stderr, problems } = await run("gst-launch-1.0", [
      "-v",
      element,
      `uri=${url}`,
      "video-sink=fakesink sync=false silent=false",
      "audio-sink=fakesink sync=false",
    ], timeoutMs);
    const all = lines(`${stdout}\n${stderr}`);
    const times: number[] = [];
    let segment = { base: 0, start: 0 };
    for (const line of all) {
      if (!line.includes("(fakesink0:sink)") && !line.includes("fakesink0: last-message")) continue;
      const base = /base=\(guint64\)(\d+)/.exec(line);
      const start = /start=\(guint64\)(\d+)/.exec(line);
      if (line.includes("type: segment") && base && start) {
        segment = { base: Number(base[1]) / 1e9, start: Number(start[1]) / 1e9 };
      } else if (line.includes("last-message = chain")) {
        const pts = clockTime(/pts: ([\d:.]+)/.exec(line)?.[1] ?? "");
        if (Number.isFinite(pts)) times.push(segment.base + pts - segment.start);
      }
    }
    const errors = all.filter((l) => /^(ERROR|WARNING)/.test(l) || l.startsWith("Error on stream"));
    return { frames: times.length, times, errors: [...errors, ...problems] };
  };

/**
 * Lines VLC prints at error level on any machine without a display, a sound server or a GPU:
 * the extra interfaces it tries, the audio output, and the converter search it runs after
 * probing VA-API decoding. Nothing to do with the stream; everything else counts.
 */
const VLC_ENVIRONMENT = [
  /main libvlc error: interface "globalhotkeys,none" initialization failed/,
  /main interface error: no suitable interface module/,
  /audio output error: PulseAudio server connection failure/,
  /filter error: Failed to create video converter/,
  /chain filter error: Too high level of recursion/,
  /main stream out error: Failed to create video converter/,
];

/**
 * `cvlc URL --sout '#transcode{…}:std{…}'`: VLC decodes every frame (counted by the encoder it
 * feeds) and writes the file a user converting the stream gets, probed for its duration (MPEG-TS:
 * it takes the new stream VLC opens at a DASH Period, which MP4 refuses). VLC refuses to run as
 * root: as root it runs in a new user namespace, as nobody.
 */
export const vlc: NativeRunner = async (url, work, timeoutMs) => {
  const out = `${work}/vlc-${crypto.randomUUID()}.ts`;
  const args = [
    "--intf",
    "dummy",
    "--no-dbus",
    "--no-audio",
    "--play-and-exit",
    "--verbose=0",
    url,
    "--sout",
    `#transcode{vcodec=h264,venc=x264{preset=ultrafast}}:std{access=file,mux=ts,dst=${out}}`,
  ];
  const played = Deno.uid() === 0
    ? await run("unshare", ["--user", "cvlc", ...args], timeoutMs)
    : await run("cvlc", args, timeoutMs);
  const all = lines(`${played.stdout}\n${played.stderr}`);
  // x264 sums up what it was given: "frame I:1 …", "frame P:244 …".
  const frames = all.map((l) => /x264 encoder: frame [IPB]:(\d+)/.exec(l))
    .reduce((n, m) => n + (m ? Number(m[1]) : 0), 0);
  // VLC's own error lines, and libavcodec's, which VLC passes on only at error level.
  const errors = all.filter((l) =>
    / (error|warning): /.test(l) || /^\[\w+ @ 0x[0-9a-f]+\] /.test(l)
  )
    .filter((l) => !VLC_ENVIRONMENT.some((pattern) => pattern.test(l)));
  const file = await probeFile(out, timeoutMs);
  return {
    frames,
    times: file.times,
    durationS: file.durationS,
    errors: [...errors, ...played.problems, ...file.problems],
  };
};

/**
 * `mpv --vo=null --untimed URL` with an ffmpeg `showinfo` filter logging every decoded frame
 * and its time; errors are the log's error and fatal lines; the duration is mpv's own.
 */
export const mpv: NativeRunner = async (url, work, timeoutMs) => {
  const log = `${work}/mpv-${crypto.randomUUID()}.log`;
  const played = await run("mpv", [
    "--no-config",
    "--vo=null",
    "--ao=null",
    "--no-audio",
    "--untimed",
    "--framedrop=no",
    "--vf=lavfi=[showinfo]",
    `--log-file=${log}`,
    "--term-playing-msg=duration=${=duration}",
    url,
  ], timeoutMs);
  const all = lines(await Deno.readTextFile(log).catch(() => ""));
  const times = all.filter((l) => l.includes("Parsed_showinfo") && l.includes("pts_time:"))
    .map((l) => Number(/pts_time:(-?[\d.]+)/.exec(l)![1]));
  const duration = /^duration=([\d.]+)$/m.exec(played.stdout);
  const errors = all.filter((l) => /^\[\s*[\d.]+\]\[[ef]\]/.test(l));
  return {
    frames: times.length,
    times,
    durationS: duration ? Number(duration[1]) : undefined,
    errors: [...errors, ...played.problems],
  };
};
