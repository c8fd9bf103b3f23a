/**
 * Benchmark: cold watch with the vehicle starved of CPU, and how often Janus hangs up its
 * publisher on a "DTLS alert". A real server (LIVE on, Janus), a fresh vehicle agent per round
 * (testsrc 1280x720 25 fps 2 Mbit/s, recording too, live publisher warmed up) held by `cpulimit` to
 * `--limit` % of a core, `--burners` busy loops besides, and a werift viewer watching through WHEP.
 * Prints each round's click-to-first-keyframe time and whether the publisher was hung up, then
 * p50 / p90 and the hang-ups.
 *
 *   bash scripts/netns.sh deno run -A bench/live_starved.ts [--rounds 12] [--limit 40] [--burners 2]
 */
import { parseArgs } from "node:util";
import { startAgent } from "../tests/support/agent.ts";
import { setUpVehicle } from "../tests/support/fleet_api.ts";
import { liveServerEnv, requireLiveNamespace } from "../tests/support/live.ts";
import { startServer } from "../tests/support/server.ts";
import { WebrtcViewer } from "../tests/support/webrtc_viewer.ts";
import { findProcesses, sleep } from "./support/live_procs.ts";
import { machineLine, percentile } from "./support/report.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "12" },
    limit: { type: "string", default: "40" },
    burners: { type: "string", default: "2" },
  },
});
const ROUNDS = Number(values.rounds);

requireLiveNamespace();
const machine = machineLine();

async function until(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

const burners = Array.from(
  { length: Number(values.burners) },
  () => new Deno.Command("sh", { args: ["-c", "while :; do :; done"] }).spawn(),
);
const times: number[] = [];
let hangUps = 0;
try {
  await using server = await startServer(liveServerEnv({ graceSeconds: 1 }));
  const vehicle = await setUpVehicle(server.url, ["front"]);
  const response = await fetch(
    `${server.url}/api/v1/fleets/${vehicle.fleetId}/vehicles/${vehicle.vehicleId}/cameras/${vehicle.cameras.front}/live-links`,
    {
      method: "POST",
      headers: {
        authorization: `Bearer ${vehicle.ownerToken}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ ttlSeconds: 3600 }),
    },
  );
  const link = await response.json() as { whepUrl: string; token: string };
  for (let round = 0; round < ROUNDS; round++) {
    const spoolDir = await Deno.makeTempDir({ prefix: "motorcade-bench-spool-" });
    const agent = startAgent({
      server: server.url,
      stateDir: vehicle.stateDir,
      spoolDir,
      cameras: { front: "testsrc" },
      live: true,
      args: ["--video-size", "1280x720", "--fps", "25", "--bitrate", "2000k"],
    });
    let limiter: Deno.ChildProcess | undefined;
    const viewer = new WebrtcViewer();
    const from = server.logs.length;
    let frame: number | null = null;
    try {
      await until(() => agent.logs.some((line) => line.includes('"live publisher warm"')), 30_000);
      const [pid] = findProcesses((args) => args.includes(spoolDir) && args.includes("record"));
      if (pid) {
        limiter = new Deno.Command("cpulimit", {
          args: ["-q", "-l", values.limit!, "-p", String(pid)],
          stdout: "null",
          stderr: "null",
        }).spawn();
      }
      const started = performance.now();
      const answered = await fetch(link.whepUrl, {
        method: "POST",
        headers: { "content-type": "application/sdp", authorization: `Bearer ${link.token}` },
        body: await viewer.offer(),
      });
      if (answered.status !== 201) throw new Error(`WHEP answered ${answered.status}`);
      await viewer.accept(await answered.text());
      await viewer.waitFor((c) => c.keyframes >= 1 && c.frames >= 1, 30_000);
      frame = performance.now() - started;
      times.push(frame);
    } catch (error) {
      console.log(`round ${round}: ${(error as Error).message}`);
    } finally {
      await viewer.close();
      try {
        limiter?.kill();
      } catch { /* already gone */ }
      await agent.stop();
      await Deno.remove(spoolDir, { recursive: true }).catch(() => {});
    }
    const hungUp = server.logs.slice(from).some((line) =>
      line.includes('"publisher gone"') && line.includes("DTLS alert")
    );
    if (hungUp) hangUps++;
    const time = frame === null ? "none" : `${Math.round(frame)} ms`;
    console.log(
      `round ${round}: first frame ${time}${hungUp ? " (publisher hung up: DTLS alert)" : ""}`,
    );
  }
} finally {
  for (const burner of burners) {
    try {
      burner.kill("SIGKILL");
    } catch { /* already gone */ }
    await burner.status;
  }
}
console.log(machine);
console.log(
  `agent held to ${values.limit} % of a core, ${values.burners} busy loops; ${ROUNDS} cold rounds`,
);
console.log(
  `first frame p50 ${Math.round(percentile(times, 50))} ms / p90 ${
    Math.round(percentile(times, 90))
  } ms over ${times.length} rounds; publisher hung up on a DTLS alert in ${hangUps} of ${ROUNDS}`,
);
