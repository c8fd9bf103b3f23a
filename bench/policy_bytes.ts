/**
 * Benchmark: cellular bytes per camera-hour under each upload policy, and how long a 1-minute
 * full-quality recall takes over a 5 Mbit/s uplink. The real agent records one camera (test
 * pattern, 1280x720 25 fps at 2 Mbit/s) to a real server through a link on loopback that counts
 * every byte both ways (headers, TLS-less HTTP/1.1, heartbeats, long polls, tokens).
 *
 *   deno task bench:policy-bytes [--seconds 120] [--recall-seconds 60] [--recall-only]
 *
 * Run it inside the test namespace: `bash scripts/netns.sh deno task bench:policy-bytes`.
 */
import { parseArgs } from "node:util";
import { machineLine } from "./support/report.ts";
import { startAgent, type TestAgent } from "../tests/support/agent.ts";
import { apiCall, setUpVehicle } from "../tests/support/fleet_api.ts";
import { startVehicleLink, type VehicleLink } from "../tests/support/link.ts";
import { OWNER } from "../tests/support/platform.ts";
import { startServer } from "../tests/support/server.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "120" },
    "recall-seconds": { type: "string", default: "60" },
    "recall-only": { type: "boolean", default: false },
  },
});
const seconds = Number(values.seconds);
const recallSeconds = Number(values["recall-seconds"]);
const UPLINK_BPS = 5_000_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

await using server = await startServer();
const vehicle = await setUpVehicle(server.url);
const base = `/api/v1/fleets/${vehicle.fleetId}/vehicles/${vehicle.vehicleId}`;
const port = Number(new URL(server.url).port);

/** A fresh owner's token (they expire within minutes; the benchmark runs longer). */
async function owner(): Promise<string> {
  return (await apiCall(server.url, "POST", "/api/v1/auth/login", undefined, OWNER)).accessToken;
}

/** Waits until the agent logged that it applies `mode`. */
async function applied(agent: TestAgent, mode: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    for (const line of agent.logs) {
      try {
        const record = JSON.parse(line);
        if (record.msg === "instructions applied" && record.cameras?.front === mode) return;
      } catch { /* not JSON */ }
    }
    await sleep(200);
  }
  throw new Error(`the agent did not apply ${mode}:\n${agent.logs.slice(-20).join("\n")}`);
}

/** Starts an agent under `mode` behind `link`, with its own spool. */
async function agentUnder(mode: string, link: VehicleLink) {
  await apiCall(server.url, "PUT", `${base}/upload-policy`, await owner(), { mode });
  const spoolDir = await Deno.makeTempDir({ prefix: "motorcade-bench-spool-" });
  const agent = startAgent({
    server: link.url,
    stateDir: vehicle.stateDir,
    spoolDir,
    cameras: { front: "testsrc" },
    args: ["--video-size", "1280x720", "--bitrate", "2000000", "--log-level", "info"],
  });
  await applied(agent, mode);
  return {
    agent,
    async [Symbol.asyncDispose]() {
      await agent.stop();
      await Deno.remove(spoolDir, { recursive: true });
    },
  };
}

console.log(machineLine());
console.log(
  `load: 1 camera, testsrc 1280x720 25 fps at 2 Mbit/s, 2 s segments, heartbeat 30 s; ` +
    `${seconds} s per policy after a 12 s settling time`,
);
const perHour: Record<string, number> = {};
for (const mode of values["recall-only"] ? [] : ["continuous", "proxy", "on-request"]) {
  await using link = startVehicleLink(port);
  await using _run = await agentUnder(mode, link);
  await sleep(12_000); // the recording restarted with its renditions, uploads under way
  const before = { ...link.bytes };
  await sleep(seconds * 1000);
  const up = link.bytes.up - before.up;
  const down = link.bytes.down - before.down;
  perHour[mode] = ((up + down) * 3600) / seconds;
  console.log(
    `${mode.padEnd(11)} ${(perHour[mode] / 1e6).toFixed(2).padStart(9)} MB per camera-hour ` +
      `(${(up / 1e3).toFixed(0)} kB up, ${(down / 1e3).toFixed(0)} kB down in ${seconds} s)`,
  );
}
if (!values["recall-only"]) {
  console.log(
    `proxy vs continuous: ${(perHour.proxy / perHour.continuous).toFixed(3)}x; ` +
      `on-request vs continuous: ${(perHour["on-request"] / perHour.continuous).toFixed(4)}x`,
  );
  console.log(
    `goals: proxy <= 80 MB: ${perHour.proxy <= 80e6 ? "met" : "MISSED"}; ` +
      `on-request <= 2 MB: ${perHour["on-request"] <= 2e6 ? "met" : "MISSED"}`,
  );
}

// A 1-minute recall of full quality over an uplink shaped to 5 Mbit/s.
{
  await using link = startVehicleLink(port, { upBytesPerSecond: UPLINK_BPS / 8 });
  await using _run = await agentUnder("on-request", link);
  await sleep((recallSeconds + 15) * 1000);
  const to = Date.now() - 10_000;
  const filedAt = performance.now();
  const recall = await apiCall(
    server.url,
    "POST",
    `${base}/cameras/${vehicle.cameras.front}/recalls`,
    await owner(),
    { from: new Date(to - recallSeconds * 1000).toISOString(), to: new Date(to).toISOString() },
  );
  const token = await owner();
  let state = recall.state;
  let progress = recall.progress;
  while (["queued", "uploading"].includes(state) && performance.now() - filedAt < 600_000) {
    await sleep(100);
    ({ state, progress } = await apiCall(
      server.url,
      "GET",
      `/api/v1/fleets/${vehicle.fleetId}/recalls/${recall.id}`,
      token,
    ));
  }
  const tookS = (performance.now() - filedAt) / 1000;
  const transferS = (progress.bytesTotal * 8) / UPLINK_BPS;
  console.log(
    `recall of ${recallSeconds} s full quality over ${UPLINK_BPS / 1e6} Mbit/s: ${state}, ` +
      `${progress.segmentsTotal} segments, ${(progress.bytesTotal / 1e6).toFixed(2)} MB; ` +
      `filed to ${state} ${tookS.toFixed(1)} s, the bytes' transfer time ${
        transferS.toFixed(1)
      } s: ` +
      `${(tookS / transferS).toFixed(2)}x (goal <= 1.5x: ${
        tookS <= 1.5 * transferS ? "met" : "MISSED"
      })`,
  );
}
await Deno.remove(vehicle.stateDir, { recursive: true });
