/**
 * Benchmark: the vehicle agent's own footprint (RSS and CPU of the Deno process, ffmpeg
 * excluded) while it records and uploads one camera at 2 Mbit/s to a real server on loopback.
 * Baselines in the same run: an idle Deno process (the runtime's floor) and the agent's ffmpeg
 * encoder (the work the vehicle cannot avoid).
 *
 *   deno task bench:agent [--seconds 60] [--live]
 *
 * `--live` keeps the agent's live link open (idle: nobody watches, werift loaded) against a server
 * with live streaming on; run it inside the test namespace: `bash scripts/netns.sh deno task
 * bench:agent --live`.
 */
import { parseArgs } from "node:util";
import { machineLine, percentile } from "./support/report.ts";
import { startAgent } from "../tests/support/agent.ts";
import { setUpVehicle } from "../tests/support/fleet_api.ts";
import { startServer } from "../tests/support/server.ts";
import { liveServerEnv } from "../tests/support/live.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "60" },
    live: { type: "boolean", default: false },
  },
});
const seconds = Number(values.seconds);
const TICKS = 100; // clock ticks per second on Linux (getconf CLK_TCK)

/** CPU seconds (user + system) and resident bytes of a process, from /proc. */
function sample(pid: number): { cpuS: number; rss: number } | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { cpuS: (Number(fields[11]) + Number(fields[12])) / TICKS, rss: rssKb * 1024 };
  } catch {
    return undefined;
  }
}

function childrenOf(pid: number): number[] {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`).trim().split(/\s+/)
      .filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function agentPid(): number | undefined {
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmd = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`).split("\0");
      if (cmd.some((a) => a.endsWith("vehicle/main.ts")) && cmd.includes("record")) {
        return Number(entry.name);
      }
    } catch { /* gone */ }
  }
}

async function measure(pid: () => number[], durationS: number) {
  const rss: number[] = [];
  const first = pid().map(sample);
  const start = performance.now();
  for (let i = 0; i < durationS; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    rss.push(pid().map(sample).reduce((n, s) => n + (s?.rss ?? 0), 0));
  }
  const last = pid().map(sample);
  const wallS = (performance.now() - start) / 1000;
  const cpu = last.reduce((n, s) => n + (s?.cpuS ?? 0), 0) -
    first.reduce((n, s) => n + (s?.cpuS ?? 0), 0);
  return { cpuPercent: (cpu / wallS) * 100, rssP50: percentile(rss, 50), rssMax: Math.max(...rss) };
}

await using server = await startServer(values.live ? liveServerEnv() : {});
const vehicle = await setUpVehicle(server.url);
const spoolDir = await Deno.makeTempDir({ prefix: "motorcade-bench-spool-" });
const idle = new Deno.Command(Deno.execPath(), {
  args: ["eval", "setInterval(() => {}, 1000)"],
}).spawn();
await using agent = startAgent({
  server: server.url,
  stateDir: vehicle.stateDir,
  spoolDir,
  cameras: { front: "testsrc" },
  live: values.live,
  args: ["--video-size", "1280x720", "--bitrate", "2000000", "--log-level", "warn"],
});
try {
  await new Promise((r) => setTimeout(r, 8_000)); // ffmpeg up, first uploads done
  const pid = agentPid();
  if (!pid) throw new Error("agent process not found");
  const [agentFigures, ffmpegFigures, idleFigures] = await Promise.all([
    measure(() => [pid], seconds),
    measure(() => childrenOf(pid), seconds),
    measure(() => [idle.pid], seconds),
  ]);
  const mb = (bytes: number) => (bytes / 1_048_576).toFixed(1).padStart(6);
  console.log(machineLine());
  console.log(
    `load: 1 camera, testsrc 1280x720 25 fps at 2 Mbit/s, 2 s segments, ${seconds} s` +
      (values.live ? ", live link open (idle)" : ""),
  );
  console.log("                          CPU (% of one core)   RSS p50    RSS max");
  const line = (name: string, f: typeof agentFigures) =>
    console.log(
      `${name.padEnd(26)}${f.cpuPercent.toFixed(2).padStart(10)} %        ${mb(f.rssP50)} MB ${
        mb(f.rssMax)
      } MB`,
    );
  line("agent (Deno)", agentFigures);
  line("its ffmpeg encoder", ffmpegFigures);
  line("idle Deno (baseline)", idleFigures);
  console.log(
    `agent CPU vs its encoder: ${
      (agentFigures.cpuPercent / ffmpegFigures.cpuPercent).toFixed(3)
    }x; ` +
      `agent RSS above an idle Deno: ${mb(agentFigures.rssP50 - idleFigures.rssP50)} MB`,
  );
  console.log(
    `goals: RSS <= 80 MB: ${agentFigures.rssMax <= 80 * 1_048_576 ? "met" : "MISSED"}; ` +
      `CPU <= 3%: ${agentFigures.cpuPercent <= 3 ? "met" : "MISSED"}`,
  );
} finally {
  idle.kill();
  await idle.status;
  await agent.stop();
  await Deno.remove(spoolDir, { recursive: true });
  await Deno.remove(vehicle.stateDir, { recursive: true });
}
