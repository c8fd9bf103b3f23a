/**
 * Benchmark: vehicle CPU for an RTSP IP camera's H.264 passed through (cut on its own keyframes,
 * only the 320p proxy encoded) against re-encoding its full stream, as today: the capture's Deno
 * process and its ffmpeg, CPU read from /proc, the same camera stream (gst-rtsp-server serving a
 * 1280x720 25 fps 2 Mbit/s H.264 file, GOP 2 s) for each mode in turn.
 *
 *   deno task bench:passthrough [--seconds 60]
 *
 * CPU is compared per second of video made (the full rendition's segments), not per second of
 * wall time: an encoder starved of CPU on a busy machine makes less video, and its share of a core
 * would flatter it. Goal: passthrough + proxy ≤ 0.5× re-encoding the full stream.
 */
import { parseArgs } from "node:util";
import { readLines } from "../lib/process/mod.ts";
import { machineLine, num, row, verdict } from "./support/report.ts";
import { makeCameraFile, startRtspCamera } from "../tests/support/rtsp_camera.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { seconds: { type: "string", default: "60" } },
});
const seconds = Number(values.seconds);
const TICKS = 100; // clock ticks per second on Linux (getconf CLK_TCK)
const WARM_UP_MS = 4_000;
const MAIN = new URL("./support/capture_main.ts", import.meta.url).pathname;

/** CPU seconds (user + system) a process has used, from /proc; 0 once it is gone. */
function cpuSeconds(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return 0;
  }
}

/** The process's descendants (ffmpeg under the capture), depth first. */
function descendants(pid: number): number[] {
  let children: number[] = [];
  try {
    children = Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`).trim().split(/\s+/)
      .filter(Boolean).map(Number);
  } catch { /* gone */ }
  return children.flatMap((child) => [child, ...descendants(child)]);
}

interface Mode {
  name: string;
  passthrough: "on" | "off";
  proxy: "on" | "off";
}

const MODES: Mode[] = [
  { name: "re-encode full (today)", passthrough: "off", proxy: "off" },
  { name: "passthrough + 320p proxy", passthrough: "on", proxy: "on" },
  { name: "passthrough alone", passthrough: "on", proxy: "off" },
  { name: "re-encode full + 320p proxy", passthrough: "off", proxy: "on" },
];

/** Runs one mode's capture against the camera; CPU % of one core of Deno and of its ffmpeg. */
async function run(mode: Mode, url: string, dir: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      MAIN,
      "--source",
      url,
      "--dir",
      `${dir}/${mode.proxy}${mode.passthrough}`,
    ]
      .concat(["--passthrough", mode.passthrough, "--proxy", mode.proxy]),
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let videoS = 0;
  let segments = 0;
  const reading = readLines(child.stdout, (line) => {
    const match = /^segment ([\d.]+)$/.exec(line);
    if (match) videoS += Number(match[1]), segments++;
  }, 100);
  try {
    const until = Date.now() + 30_000;
    while (segments === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    if (segments === 0) throw new Error(`${mode.name}: no segment within 30 s`);
    await new Promise((r) => setTimeout(r, WARM_UP_MS));
    const videoBefore = videoS;
    const ffmpeg = descendants(child.pid);
    const before = { deno: cpuSeconds(child.pid), ffmpeg: ffmpeg.map(cpuSeconds) };
    const start = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const wallS = (performance.now() - start) / 1000;
    const after = { deno: cpuSeconds(child.pid), ffmpeg: ffmpeg.map(cpuSeconds) };
    const video = videoS - videoBefore;
    if (descendants(child.pid).join() !== ffmpeg.join()) {
      throw new Error(`${mode.name}: ffmpeg restarted`);
    }
    const ffmpegS = after.ffmpeg.reduce((n, s, i) => n + s - before.ffmpeg[i], 0);
    const denoS = after.deno - before.deno;
    return {
      deno: (denoS / wallS) * 100,
      ffmpeg: (ffmpegS / wallS) * 100,
      realTime: video / wallS,
      perVideoSecond: (denoS + ffmpegS) / video,
    };
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await reading;
  }
}

const dir = await Deno.makeTempDir({ prefix: "motorcade-bench-passthrough-" });
try {
  const file = `${dir}/camera.mp4`;
  await makeCameraFile(file, {
    seconds: seconds + 40,
    size: "1280x720",
    gopSeconds: 2,
    bitrate: "2M",
  });
  await using camera = await startRtspCamera(file);
  const results: Array<{ mode: Mode } & Awaited<ReturnType<typeof run>>> = [];
  for (const mode of MODES) results.push({ mode, ...(await run(mode, camera.url, dir)) });
  console.log(machineLine());
  console.log(
    `source: RTSP (gst-rtsp-server, TCP) 1280x720 25 fps H.264 2 Mbit/s, GOP 2 s; 2 s segments; ` +
      `proxy 320p 150 kbit/s; ${seconds} s per mode`,
  );
  row("CPU, % of one core", "  Deno", "  ffmpeg", "   total", "video/real", "CPU s/video s");
  for (const r of results) {
    row(
      r.mode.name,
      num(r.deno, 2, 6),
      num(r.ffmpeg, 2, 8),
      num(r.deno + r.ffmpeg, 2, 8),
      num(r.realTime, 2, 10),
      num(r.perVideoSecond, 4, 13),
    );
  }
  const total = (name: string) => results.find((r) => r.mode.name === name)!.perVideoSecond;
  const ratio = total("passthrough + 320p proxy") / total("re-encode full (today)");
  console.log(
    `CPU per second of video, passthrough + proxy vs re-encoding the full stream: ${
      ratio.toFixed(3)
    }x`,
  );
  console.log(`goal <= 0.5x: ${verdict(ratio <= 0.5)}`);
} finally {
  await Deno.remove(dir, { recursive: true });
}
