/**
 * Benchmark: time to first frame of a live watch — from the viewer sending `watch` on the
 * signaling WebSocket to the first complete keyframe (first packet through the marker bit) at a
 * werift viewer. The real server (LIVE on, Janus), a real vehicle agent (`vehicle/main.ts record
 * --live on`, testsrc at 1280x720 25 fps 2 Mbit/s, recording at the same time) and viewers in
 * this process, all inside the test network namespace:
 *
 * - on demand: the vehicle is online but not publishing; the watch makes the server ask it to
 *   publish (its live encoder starts, it offers, Janus answers, the stream is forwarded or
 *   transcoded). After each round the benchmark waits until the vehicle stopped publishing
 *   (LIVE_IDLE_GRACE after the viewer left).
 * - already publishing: a first viewer keeps watching; a second one watches and measures.
 *
 * Both with the ladder off (Janus forwards the vehicle's stream) and on (the default ladder,
 * `480:600k,720:1500k,1080:3m`; the viewer starts on layer 1). Goals: <= 1 s already publishing,
 * <= 2.5 s on demand.
 *
 * Baseline in the same run: the same publisher (`LivePublisher`, same testsrc, in a process of its
 * own) connected straight to a werift viewer, no server or Janus: from starting it to the first
 * complete keyframe, while the agent keeps recording (same load on the machine).
 *
 *   bash scripts/netns.sh deno run -A bench/live_first_frame.ts [--rounds 5] [--size 1280x720]
 */
import { parseArgs } from "node:util";
import type { CameraConfig } from "../vehicle/config.ts";
import { startAgent, type TestAgent } from "../tests/support/agent.ts";
import { setUpVehicle } from "../tests/support/fleet_api.ts";
import { liveServerEnv, requireLiveNamespace, SignalingClient } from "../tests/support/live.ts";
import { startServer } from "../tests/support/server.ts";
import { sleep } from "./support/live_procs.ts";
import { type LiveTarget, TimedViewer, type WatchTimes } from "./support/live_viewer.ts";
import { startWorker } from "./support/live_worker.ts";
import { machineLine, ms, percentile, row, verdict } from "./support/report.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "5" },
    size: { type: "string", default: "1280x720" },
    ladder: { type: "string", default: "480:600k,720:1500k,1080:3m" },
  },
});
const ROUNDS = Number(values.rounds);
const GRACE_S = 2;
const [WIDTH, HEIGHT] = values.size.split("x").map(Number);
const CAMERA: CameraConfig = {
  name: "front",
  source: { kind: "testsrc" },
  video: { width: WIDTH, height: HEIGHT, fps: 25, bitrate: 2_000_000 },
};
const AGENT_ARGS = ["--video-size", values.size, "--fps", "25", "--bitrate", "2000k"];
const GOAL_PUBLISHING_MS = 1_000;
const GOAL_ON_DEMAND_MS = 2_500;

requireLiveNamespace();
const machine = machineLine();

const count = (agent: TestAgent, text: string) => agent.logs.filter((l) => l.includes(text)).length;
/** True while the agent publishes (it logs each start and stop). */
const publishing = (agent: TestAgent) =>
  count(agent, '"publishing"') > count(agent, '"stopped publishing"');

async function until(what: string, predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** One watch by a fresh viewer; closes it afterwards. */
async function watchOnce(client: SignalingClient, target: LiveTarget, id: string) {
  const timed = new TimedViewer();
  try {
    await timed.watch(client, target, id);
    await timed.keyframe();
    return timed.times;
  } finally {
    await timed.close(client, id);
  }
}

/** On demand: watch, leave, wait until the vehicle stopped publishing. */
async function onDemand(client: SignalingClient, agent: TestAgent, target: LiveTarget, id: string) {
  await until("the vehicle to be idle", () => !publishing(agent), 30_000);
  const stops = count(agent, '"stopped publishing"');
  const times = await watchOnce(client, target, id);
  await until(
    "the vehicle to stop publishing",
    () => count(agent, '"stopped publishing"') > stops,
    GRACE_S * 1000 + 20_000,
  );
  await sleep(500);
  return times;
}

interface ModeResult {
  onDemand: WatchTimes[];
  publishing: WatchTimes[];
  direct: WatchTimes[];
}

async function runMode(ladder: string, withDirect: boolean): Promise<ModeResult> {
  await using server = await startServer(
    { ...liveServerEnv({ ladder, graceSeconds: GRACE_S }), ACCESS_TOKEN_TTL: "1h" },
    { timeoutMs: 60_000 },
  );
  const vehicle = await setUpVehicle(server.url, ["front"]);
  const spoolDir = await Deno.makeTempDir({ prefix: "motorcade-bench-spool-" });
  const agent = startAgent({
    server: server.url,
    stateDir: vehicle.stateDir,
    spoolDir,
    cameras: { front: "testsrc" },
    live: true,
    args: [...AGENT_ARGS, "--log-level", "info"],
  });
  const client = await SignalingClient.connect(server.url, vehicle.ownerToken);
  const target = { fleetId: vehicle.fleetId, vehicleId: vehicle.vehicleId, camera: "front" };
  try {
    await until("the vehicle's live link", () => count(agent, '"live link ready"') > 0, 30_000);
    await sleep(2_000); // its recording encoder is up
    await onDemand(client, agent, target, "warm-up"); // first use of the code paths: not counted
    const result: ModeResult = { onDemand: [], publishing: [], direct: [] };
    for (let round = 0; round < ROUNDS; round++) {
      result.onDemand.push(await onDemand(client, agent, target, `demand-${round}`));
    }

    const holder = new TimedViewer();
    await holder.watch(client, target, "holder");
    await holder.keyframe();
    await sleep(2_000);
    for (let round = 0; round < ROUNDS; round++) {
      await sleep(300 + Math.random() * 1_000); // land anywhere in the GOP
      result.publishing.push(await watchOnce(client, target, `publishing-${round}`));
    }
    await holder.close(client, "holder");

    if (withDirect) {
      await until("the vehicle to be idle", () => !publishing(agent), 30_000);
      await using publisher = startWorker("live_publisher_main.ts");
      await publisher.next((m) => m.type === "ready");
      for (let round = -1; round < ROUNDS; round++) {
        const timed = new TimedViewer();
        timed.startedAt = performance.now();
        await publisher.send({ type: "start", camera: CAMERA });
        const offer = await publisher.next((m) => m.type === "offer" || m.type === "error");
        if (offer.type === "error") throw new Error(String(offer.message));
        timed.times.offer = performance.now() - timed.startedAt;
        await publisher.send({ type: "answer", sdp: await timed.viewer.answer(String(offer.sdp)) });
        await timed.keyframe();
        if (round >= 0) result.direct.push(timed.times);
        await publisher.send({ type: "stop" });
        await publisher.next((m) => m.type === "stopped");
        await timed.close();
        await sleep(1_000);
      }
    }
    return result;
  } catch (error) {
    console.error(server.logs.filter((l) => !l.includes('"debug"')).slice(-30).join("\n"));
    console.error(agent.logs.slice(-30).join("\n"));
    throw error;
  } finally {
    client.close();
    await agent.stop();
    await Deno.remove(spoolDir, { recursive: true }).catch(() => {});
    await Deno.remove(vehicle.stateDir, { recursive: true }).catch(() => {});
  }
}

const off = await runMode("off", true);
const on = await runMode(values.ladder, false);

const p50 = (samples: WatchTimes[], key: keyof WatchTimes) =>
  percentile(samples.map((s) => s[key] ?? NaN).filter(Number.isFinite), 50);
const max = (samples: WatchTimes[]) => Math.max(...samples.map((s) => s.keyframe ?? NaN));
console.log(machine);
console.log(
  `load: vehicle agent with testsrc ${values.size} 25 fps 2 Mbit/s (recording too), ` +
    `${ROUNDS} rounds each, werift viewer in the driver; times from \`watch\`; ladder on = ` +
    values.ladder,
);
console.log(
  `${"".padEnd(36)} ${"first frame p50".padStart(15)}   ${"max".padStart(10)}   ` +
    "p50 of: offer / connected / live / first packet",
);
const line = (name: string, samples: WatchTimes[]) =>
  row(
    name,
    `   ${ms(p50(samples, "keyframe"))}`,
    ms(max(samples)),
    ["offer", "connected", "live", "firstPacket"].map((k) => {
      const value = p50(samples, k as keyof WatchTimes);
      return Number.isFinite(value) ? value.toFixed(0) : "-";
    }).join(" / ") + " ms",
  );
line("direct werift -> werift (baseline)", off.direct);
line("ladder off, on demand", off.onDemand);
line("ladder off, already publishing", off.publishing);
line("ladder on, on demand", on.onDemand);
line("ladder on, already publishing", on.publishing);
const base = p50(off.direct, "keyframe");
console.log(
  `ratio on demand / direct at p50: ladder off ${
    (p50(off.onDemand, "keyframe") / base).toFixed(2)
  }, ` +
    `ladder on ${(p50(on.onDemand, "keyframe") / base).toFixed(2)}`,
);
for (const [name, result] of [["ladder off", off], ["ladder on", on]] as const) {
  console.log(
    `${name}: already publishing <= ${GOAL_PUBLISHING_MS} ms: ${
      verdict(max(result.publishing) <= GOAL_PUBLISHING_MS)
    } (max); on demand <= ${GOAL_ON_DEMAND_MS} ms: ${
      verdict(max(result.onDemand) <= GOAL_ON_DEMAND_MS)
    } (max)`,
  );
}
