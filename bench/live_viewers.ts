/**
 * Benchmark: viewers per Janus at 720p. One vehicle publishes testsrc 1280x720 25 fps at
 * 2 Mbit/s (the agent's live part, `LiveLink`, without its recording encoder, to leave the CPU to
 * the viewers); werift viewers join in steps (each its own signaling connection and watch), spread
 * over several viewer processes. At each step, over a window, every viewer's frames per second
 * and RTP loss (sequence gaps) are counted; the run stops at the first step where a viewer gets
 * fewer than 90 % of the source's frames or loses more than 0.1 % of its packets. Figures: viewers
 * sustained, Janus's CPU (from /proc), the bit rate delivered, and the CPU of everything else.
 * With the ladder off Janus forwards the vehicle's stream; with it on (default ladder), viewers
 * watch layer 1 (`quality: "medium"`), transcoded by the server's ffmpeg.
 *
 * Baseline, in the same run: what a perfect forwarder would deliver, the source rate times the
 * viewers (source rate = what Janus received from the vehicle, from its Admin API, ladder off;
 * layer 1's rate per viewer at the first step, ladder on). The efficiency ratio is Janus's sent
 * bytes over that; a direct werift-to-werift fan-out would measure werift, not Janus.
 *
 * The viewers run on the same machine (2 cores here) and werift is CPU-heavy: when the machine
 * is saturated and the viewer processes use more CPU than Janus, the output says the viewer side
 * is the limit — the figure is then a lower bound for Janus.
 *
 *   bash scripts/netns.sh deno run -A bench/live_viewers.ts [--steps 5,10,20,40,80] [--processes 4]
 *     [--window 10] [--ladder off|on|both]
 */
import { parseArgs } from "node:util";
import type { CameraConfig } from "../vehicle/config.ts";
import { setUpVehicle } from "../tests/support/fleet_api.ts";
import { liveServerEnv, requireLiveNamespace } from "../tests/support/live.ts";
import { startServer } from "../tests/support/server.ts";
import { JanusCounters } from "./support/live_janus.ts";
import {
  childrenOf,
  commandLine,
  CpuMeter,
  janusPid,
  MachineMeter,
  serverPid,
  sleep,
} from "./support/live_procs.ts";
import { type LiveWorker, startWorker } from "./support/live_worker.ts";
import { machineLine, num, row } from "./support/report.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    steps: { type: "string", default: "5,10,20,40,60,80,100,120,160" },
    processes: { type: "string", default: "4" },
    window: { type: "string", default: "10" },
    ladder: { type: "string", default: "both" },
  },
});
const STEPS = values.steps.split(",").map(Number);
const WINDOW_S = Number(values.window);
const FPS = 25;
const CAMERA: CameraConfig = {
  name: "front",
  source: { kind: "testsrc" },
  video: { width: 1280, height: 720, fps: FPS, bitrate: 2_000_000 },
};
const DEFAULT_LADDER = "480:600k,720:1500k,1080:3m";

requireLiveNamespace();
const machine = machineLine();

interface ViewerCount {
  frames: number;
  bytes: number;
  expected: number;
  received: number;
}

interface Step {
  viewers: number;
  fpsMin: number;
  fpsMean: number;
  lossPercent: number;
  receivedMbps: number;
  sentMbps: number;
  sourceMbps: number;
  janusCpu: number;
  viewersCpu: number;
  restCpu: number;
  machineBusy: number;
  ok: boolean;
}

async function counts(workers: LiveWorker[]): Promise<ViewerCount[]> {
  const replies = await Promise.all(workers.map(async (w) => {
    await w.send({ type: "stats" });
    return await w.next((m) => m.type === "stats");
  }));
  return replies.flatMap((r) => r.viewers as ViewerCount[]);
}

async function runMode(ladder: string): Promise<Step[]> {
  const env = liveServerEnv({ ladder, graceSeconds: 30 });
  // Every viewer signals with the owner's token: the per-user socket cap is lifted here.
  await using server = await startServer(
    { ...env, ACCESS_TOKEN_TTL: "1h", LIVE_SOCKETS_PER_USER: "1000000" },
    { timeoutMs: 60_000 },
  );
  const vehicle = await setUpVehicle(server.url, ["front"]);
  await using publisher = startWorker("live_vehicle_main.ts", [
    JSON.stringify({ stateDir: vehicle.stateDir, camera: CAMERA }),
  ]);
  await publisher.next((m) => m.type === "ready");
  const workers = Array.from(
    { length: Number(values.processes) },
    () => startWorker("live_viewers_main.ts"),
  );
  const janus = new JanusCounters(server.dataDir, Number(env.JANUS_PORT));
  const janusMeter = new CpuMeter(() => [janusPid(server.dataDir)]);
  const viewersMeter = new CpuMeter(() => workers.map((w) => w.pid));
  const server_ = serverPid();
  const restMeter = new CpuMeter(() => [
    server_,
    ...childrenOf(server_).filter((pid) => commandLine(pid)[0]?.endsWith("ffmpeg")), // ladder
    publisher.pid,
    ...childrenOf(publisher.pid), // the vehicle's live encoder
  ]);
  const machineMeter = new MachineMeter();
  const target = { fleetId: vehicle.fleetId, vehicleId: vehicle.vehicleId, camera: "front" };
  const steps: Step[] = [];
  let layerRate = NaN; // ladder on: layer 1's rate per viewer at the first step
  try {
    let viewers = 0;
    for (const wanted of STEPS) {
      const adds = workers.map((_, i) =>
        Math.floor((wanted - viewers) / workers.length) +
        (i < (wanted - viewers) % workers.length ? 1 : 0)
      );
      const added = await Promise.all(workers.map(async (w, i) => {
        if (!adds[i]) return { ok: 0, failed: 0 };
        await w.send({
          type: "add",
          server: server.url,
          token: vehicle.ownerToken,
          target,
          quality: ladder === "off" ? "auto" : "medium",
          count: adds[i],
          prefix: `v${wanted}-${i}`,
        });
        return await w.next((m) => m.type === "added", 300_000);
      }));
      const failed = added.reduce((n, a) => n + Number(a.failed), 0);
      viewers = wanted;
      if (failed) console.log(`  ${failed} of ${wanted} viewers could not start watching`);
      await sleep(3_000);
      const before = await counts(workers);
      const janusBefore = await janus.totals();
      for (const meter of [janusMeter, viewersMeter, restMeter, machineMeter]) meter.start();
      const startedAt = performance.now();
      await sleep(WINDOW_S * 1000);
      const after = await counts(workers);
      const seconds = (performance.now() - startedAt) / 1000;
      const janusAfter = await janus.totals();
      const fps = after.map((a, i) => (a.frames - (before[i]?.frames ?? 0)) / seconds);
      const expected = after.reduce((n, a, i) => n + a.expected - (before[i]?.expected ?? 0), 0);
      const received = after.reduce((n, a, i) => n + a.received - (before[i]?.received ?? 0), 0);
      const bytes = after.reduce((n, a, i) => n + a.bytes - (before[i]?.bytes ?? 0), 0);
      const mbps = (b: number) => (b * 8) / seconds / 1e6;
      if (ladder !== "off" && steps.length === 0) layerRate = mbps(bytes) / after.length;
      const step: Step = {
        viewers: after.length,
        fpsMin: Math.min(...fps),
        fpsMean: fps.reduce((n, f) => n + f, 0) / fps.length,
        lossPercent: expected ? (Math.max(0, expected - received) / expected) * 100 : 100,
        receivedMbps: mbps(bytes),
        sentMbps: mbps(janusAfter.sentBytes - janusBefore.sentBytes),
        sourceMbps: ladder === "off"
          ? mbps(janusAfter.publishedBytes - janusBefore.publishedBytes)
          : layerRate,
        janusCpu: janusMeter.stop(),
        viewersCpu: viewersMeter.stop(),
        restCpu: restMeter.stop(),
        machineBusy: machineMeter.stop(),
        ok: false,
      };
      step.ok = failed === 0 && step.fpsMin >= 0.9 * FPS && step.lossPercent <= 0.1;
      steps.push(step);
      print(step);
      if (!step.ok) break;
    }
    return steps;
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await Deno.remove(vehicle.stateDir, { recursive: true }).catch(() => {});
  }
}

function print(s: Step): void {
  row(
    `  ${num(s.viewers, 0, 4)} viewers ${s.ok ? "" : "(failed)"}`,
    `${num(s.fpsMin, 1, 5)} / ${num(s.fpsMean, 1, 4)}`,
    `${num(s.lossPercent, 2, 5)} %`,
    `${num(s.receivedMbps, 1, 6)}`,
    `${num(s.sentMbps / (s.sourceMbps * s.viewers), 3, 5)}`,
    `${num(s.janusCpu, 1, 5)} %`,
    `${num(s.viewersCpu, 0, 4)} %`,
    `${num(s.restCpu, 0, 4)} %`,
    `${num(s.machineBusy, 0, 4)} %`,
  );
}

console.log(machine);
console.log(
  "load: 1 vehicle, testsrc 1280x720 25 fps 2 Mbit/s; werift viewers in " +
    `${values.processes} processes; ${WINDOW_S} s window per step; pass: every viewer >= ` +
    `${0.9 * FPS} fps and loss <= 0.1 %`,
);
console.log(
  `${"".padEnd(36)} fps min/mean  loss      Mbit/s   effic.  Janus CPU  viewers  rest  machine`,
);
const modes = values.ladder === "both" ? ["off", DEFAULT_LADDER] : [
  values.ladder === "on" ? DEFAULT_LADDER : values.ladder,
];
for (const ladder of modes) {
  console.log(
    ladder === "off"
      ? "ladder off (Janus forwards the vehicle's stream):"
      : `ladder ${ladder}, viewers on layer 1:`,
  );
  const steps = await runMode(ladder);
  const passed = steps.filter((s) => s.ok);
  const best = passed.at(-1);
  const failedStep = steps.find((s) => !s.ok);
  const sustained = best ? best.viewers : 0;
  console.log(
    `  sustained: ${sustained} viewers${
      best
        ? ` (${best.receivedMbps.toFixed(1)} Mbit/s delivered, Janus ${
          best.janusCpu.toFixed(1)
        } % of a core, ${(best.janusCpu / best.viewers).toFixed(2)} % per viewer)`
        : ""
    }`,
  );
  if (failedStep) {
    const f = failedStep;
    const cores = navigator.hardwareConcurrency * 100;
    const ours = f.janusCpu + f.viewersCpu + f.restCpu;
    const saturated = f.machineBusy >= 85;
    console.log(
      `  limit at ${f.viewers} viewers: the machine was ${f.machineBusy.toFixed(0)} % busy; ` +
        `this run used ${ours.toFixed(0)} of ${cores} % (viewers ${f.viewersCpu.toFixed(0)}, ` +
        `Janus ${f.janusCpu.toFixed(0)}, rest ${f.restCpu.toFixed(0)}), other work the remainder`,
    );
    console.log(
      saturated && f.viewersCpu > f.janusCpu
        ? "  => the viewer side (werift, and the shared machine), not Janus, is the limit: the " +
          "sustained figure is a lower bound for Janus"
        : saturated
        ? "  => the machine is saturated; Janus is its largest user here"
        : "  => the machine had CPU left: Janus (or the path to it) is the limit",
    );
  } else console.log(`  no step failed up to ${STEPS.at(-1)} viewers`);
}
console.log(
  "effic. = bytes Janus sent / (source rate x viewers), source rate = what Janus received from " +
    "the vehicle (ladder off) or layer 1 per viewer at the first step (ladder on); CPU in % of " +
    "one core (machine: busy share of all cores, other work included); rest = server process, " +
    "ladder ffmpeg, vehicle and its encoder",
);
