/**
 * Benchmark: cellular bytes per camera-hour under each upload policy, in one run, and the time a
 * 1-minute full-quality recall takes over an uplink shaped to 5 Mbit/s.
 *
 *   deno task bench:policies [--seconds 180] [--recall-seconds 60]
 *
 * The real server and three real agents (vehicles "continuous", "proxy" and "on-request", each
 * with its own policy) record the same camera at once: an RTSP H.264 IP camera (gst-rtsp-server
 * serving a 1280x720 25 fps 2 Mbit/s file, GOP 2 s) that each agent passes through, as a fleet's
 * cameras are. Each agent reaches the server through its own TCP relay (its cellular modem), and
 * the bench counts that relay's packets with `tc` on loopback: IP bytes both ways, TCP/IP headers
 * included, at a 1500-byte MTU (loopback's set to a cellular link's). Beside them, the bytes the
 * server stored for each vehicle, from the usage API. Both over the same window, after the agents
 * applied their policies and settled, scaled to an hour.
 *
 * Then the proxy and on-request vehicles' uplinks are shaped to 5 Mbit/s (tc htb) and each is
 * asked for the last complete minute in full quality: the time from filing the recall to its
 * completion, against the time its bytes take on the link (goal ≤ 1.5×).
 *
 * tc needs a network namespace of its own: the task runs the bench through scripts/netns.sh, and
 * the bench refuses to run outside one (it would shape this machine's loopback).
 */
import { parseArgs } from "node:util";
import { enrol } from "../vehicle/identity.ts";
import { machineLine, num, row, verdict } from "./support/report.ts";
import { startAgent, type TestAgent } from "../tests/support/agent.ts";
import { apiCall } from "../tests/support/fleet_api.ts";
import { startVehicleLink, type VehicleLink } from "../tests/support/link.ts";
import { OWNER } from "../tests/support/platform.ts";
import { makeCameraFile, startRtspCamera } from "../tests/support/rtsp_camera.ts";
import { startServer } from "../tests/support/server.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "180" },
    "recall-seconds": { type: "string", default: "60" },
  },
});
const seconds = Number(values.seconds);
const recallSeconds = Number(values["recall-seconds"]);
if (!(seconds >= 10) || !(recallSeconds >= 4)) {
  throw new Error("--seconds must be at least 10 and --recall-seconds at least 4");
}
if (Deno.env.get("MOTORCADE_NETNS") !== "1") {
  throw new Error(
    "Cannot shape the link outside a network namespace: run `deno task bench:policies` " +
      "(it runs the bench through scripts/netns.sh)",
  );
}

const MODES = ["continuous", "proxy", "on-request"] as const;
type Mode = typeof MODES[number];
const UPLINK_BITS = 5_000_000;
const MTU = 1500;
const SETTLE_MS = 16_000; // the recording restarted with its renditions, first uploads done
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `tc` (or `ip`) with `args`; fails with its error output. */
async function run(program: string, ...args: string[]): Promise<string> {
  const output = await new Deno.Command(program, { args, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder();
  if (!output.success) {
    throw new Error(`${program} ${args.join(" ")}: ${text.decode(output.stderr)}`);
  }
  return text.decode(output.stdout);
}

/** Bytes each tc class on loopback has sent so far, by class id ("1:11"). */
async function classBytes(): Promise<Map<string, number>> {
  const out = await run("tc", "-s", "class", "show", "dev", "lo");
  const bytes = new Map<string, number>();
  for (const match of out.matchAll(/class htb (\S+) [^]*?Sent (\d+) bytes/g)) {
    bytes.set(match[1], Number(match[2]));
  }
  return bytes;
}

/** A rate for `tc`: the shaped uplink, or (unshaped) far more than any camera makes. */
const rate = (shaped: boolean) =>
  shaped ? ["rate", "5mbit", "ceil", "5mbit", "burst", "16k"] : [
    "rate",
    "10gbit",
    "ceil",
    "10gbit",
    "burst",
    "4m",
  ];

/** One vehicle of the bench: its policy, ids, relay and the tc classes counting it. */
interface Bench {
  mode: Mode;
  vehicleId: string;
  cameraId: string;
  stateDir: string;
  spoolDir: string;
  link: VehicleLink;
  up: string;
  down: string;
  agent?: TestAgent;
}

/** A snapshot of what a vehicle has cost so far: wire bytes and stored bytes by kind. */
interface Count {
  at: number;
  up: number;
  down: number;
  payloadUp: number;
  payloadDown: number;
  stored: Record<string, number>;
}

// Loopback as a cellular link: its MTU, and an htb root whose unclassified traffic (the operator,
// the camera, the server's own) passes unshaped; each relay gets a class each way.
await run("ip", "link", "set", "lo", "mtu", String(MTU));
await run("tc", "qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb", "r2q", "1000");

const dir = await Deno.makeTempDir({ prefix: "motorcade-bench-policies-" });
const cameraFile = `${dir}/camera.mp4`;
const madeAt = performance.now();
// Long enough for the settling, the window and both recalls.
await makeCameraFile(cameraFile, {
  seconds: seconds + 300,
  size: "1280x720",
  fps: 25,
  gopSeconds: 2,
  bitrate: "2M",
});
const makeS = (performance.now() - madeAt) / 1000;
await using camera = await startRtspCamera(cameraFile);
await using server = await startServer();
const port = Number(new URL(server.url).port);
const { accessToken: token } = await apiCall(server.url, "POST", "/api/v1/auth/login", undefined, {
  email: OWNER.email,
  password: OWNER.password,
});
const fleet = await apiCall(server.url, "POST", "/api/v1/fleets", token, { name: "Bench" });
const fleetPath = `/api/v1/fleets/${fleet.id}`;

const benches: Bench[] = [];
let classId = 10;
for (const mode of MODES) {
  const added = await apiCall(server.url, "POST", `${fleetPath}/vehicles`, token, { name: mode });
  const vehicleId = added.vehicle.id;
  const cameraPath = `${fleetPath}/vehicles/${vehicleId}/cameras`;
  const cam = await apiCall(server.url, "POST", cameraPath, token, { name: "front" });
  await apiCall(server.url, "PUT", `${fleetPath}/vehicles/${vehicleId}/upload-policy`, token, {
    mode,
  });
  const stateDir = await Deno.makeTempDir({ dir, prefix: "state-" });
  const spoolDir = await Deno.makeTempDir({ dir, prefix: "spool-" });
  await enrol(server.url, added.enrolment.code, stateDir);
  const link = startVehicleLink(port);
  const linkPort = new URL(link.url).port;
  const up = `1:${++classId}`;
  const down = `1:${++classId}`;
  for (const [id, way] of [[up, "dport"], [down, "sport"]]) {
    await run(
      "tc",
      "class",
      "add",
      "dev",
      "lo",
      "parent",
      "1:",
      "classid",
      id,
      "htb",
      ...rate(false),
    );
    await run(
      "tc",
      "filter",
      "add",
      "dev",
      "lo",
      "parent",
      "1:",
      "protocol",
      "ip",
      "prio",
      "1",
      "u32",
      "match",
      "ip",
      way,
      linkPort,
      "0xffff",
      "flowid",
      id,
    );
  }
  benches.push({ mode, vehicleId, cameraId: cam.id, stateDir, spoolDir, link, up, down });
}

/** Waits until `agent` logged that it applies `mode` to its camera. */
async function applied(agent: TestAgent, mode: Mode): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    for (const line of agent.logs) {
      try {
        const record = JSON.parse(line);
        if (record.msg === "instructions applied" && record.cameras?.front === mode) return;
      } catch { /* not JSON */ }
    }
    await sleep(200);
  }
  throw new Error(
    `The ${mode} agent did not apply its policy:\n${agent.logs.slice(-30).join("\n")}`,
  );
}

/** What `bench`'s vehicle has cost so far. */
async function count(bench: Bench, day: string): Promise<Count> {
  const [classes, usage] = await Promise.all([
    classBytes(),
    apiCall(
      server.url,
      "GET",
      `${fleetPath}/vehicles/${bench.vehicleId}/usage?from=${day}&to=${today()}`,
      token,
    ),
  ]);
  return {
    at: performance.now(),
    up: classes.get(bench.up) ?? 0,
    down: classes.get(bench.down) ?? 0,
    payloadUp: bench.link.bytes.up,
    payloadDown: bench.link.bytes.down,
    stored: usage.bytes,
  };
}
const today = () => new Date().toISOString().slice(0, 10);

try {
  for (const bench of benches) {
    bench.agent = startAgent({
      server: bench.link.url,
      stateDir: bench.stateDir,
      spoolDir: bench.spoolDir,
      cameras: { front: camera.url },
      args: ["--passthrough", "auto", "--log-level", "info"],
    });
  }
  await Promise.all(benches.map((bench) => applied(bench.agent!, bench.mode)));
  await sleep(SETTLE_MS);

  console.log(machineLine());
  console.log(
    `load: 3 vehicles at once, each 1 camera: the same RTSP H.264 camera (1280x720 25 fps ` +
      `2 Mbit/s, GOP 2 s; file made in ${makeS.toFixed(0)} s) passed through; 2 s segments, ` +
      `heartbeat 30 s, instructions long poll; ${seconds} s window after the policy applied ` +
      `and ${SETTLE_MS / 1000} s of settling; wire = IP bytes at MTU ${MTU} both ways (tc)`,
  );
  const day = today();
  const before = await Promise.all(benches.map((bench) => count(bench, day)));
  await sleep(seconds * 1000);
  const after = await Promise.all(benches.map((bench) => count(bench, day)));

  row("policy", "wire MB/cam-h", "  up MB/h", "down MB/h", "stored MB/h", "stored kinds (MB/h)");
  const wirePerHour: Record<string, number> = {};
  for (const [i, bench] of benches.entries()) {
    const s = (after[i].at - before[i].at) / 1000;
    const hour = (bytes: number) => (bytes * 3600) / s / 1e6;
    const up = after[i].up - before[i].up;
    const down = after[i].down - before[i].down;
    wirePerHour[bench.mode] = hour(up + down);
    const kinds = Object.entries(after[i].stored)
      .filter(([kind]) => kind !== "all")
      .map(([kind, bytes]) => [kind, bytes - (before[i].stored[kind] ?? 0)] as const)
      .filter(([, bytes]) => bytes > 0)
      .map(([kind, bytes]) => `${kind} ${hour(bytes).toFixed(2)}`);
    row(
      bench.mode,
      num(hour(up + down), 2, 13),
      num(hour(up), 2, 9),
      num(hour(down), 2, 9),
      num(hour(after[i].stored.all - before[i].stored.all), 2, 11),
      kinds.join(", ") || "none",
    );
    console.log(
      `${"".padEnd(36)} relay payload up ${
        hour(after[i].payloadUp - before[i].payloadUp).toFixed(2)
      }` +
        ` MB/h, down ${hour(after[i].payloadDown - before[i].payloadDown).toFixed(2)} MB/h`,
    );
  }
  console.log(
    `stored before the window (from enrolment, policy applied, settling): ${
      benches.map((bench, i) => `${bench.mode} ${(before[i].stored.all / 1e6).toFixed(2)} MB`)
        .join(", ")
    }`,
  );
  console.log(
    `proxy: ${
      (wirePerHour.proxy / wirePerHour.continuous).toFixed(3)
    }x continuous, goal <= 80 MB: ` +
      `${verdict(wirePerHour.proxy <= 80)}; on-request: ` +
      `${
        (wirePerHour["on-request"] / wirePerHour.continuous).toFixed(4)
      }x continuous, goal <= 2 MB: ` +
      `${verdict(wirePerHour["on-request"] <= 2)}`,
  );

  // The continuous vehicle leaves; the others' uplinks shrink to 5 Mbit/s and each is asked for
  // the last complete minute in full quality, at once (each over its own link).
  const continuous = benches.find((bench) => bench.mode === "continuous")!;
  await continuous.agent!.stop();
  const recalled = benches.filter((bench) => bench.mode !== "continuous");
  for (const bench of recalled) {
    await run(
      "tc",
      "class",
      "change",
      "dev",
      "lo",
      "parent",
      "1:",
      "classid",
      bench.up,
      "htb",
      ...rate(true),
    );
  }
  await sleep(2_000);
  console.log(
    `recall: the last ${recallSeconds} s before filing less 4 s, full quality, uplink shaped to ` +
      `${UPLINK_BITS / 1e6} Mbit/s (tc htb); transfer time = recall bytes x 8 / ${
        UPLINK_BITS / 1e6
      } Mbit/s`,
  );
  row("vehicle", "state", "acked s", "done s", "MB", "transfer s", "ratio", "wire up MB");
  await Promise.all(recalled.map(async (bench) => {
    const to = Date.now() - 4_000;
    const wireBefore = (await classBytes()).get(bench.up) ?? 0;
    const filedAt = performance.now();
    const recall = await apiCall(
      server.url,
      "POST",
      `${fleetPath}/vehicles/${bench.vehicleId}/cameras/${bench.cameraId}/recalls`,
      token,
      { from: new Date(to - recallSeconds * 1000).toISOString(), to: new Date(to).toISOString() },
    );
    let view = recall;
    let ackedS = NaN;
    while (["queued", "uploading"].includes(view.state) && performance.now() - filedAt < 600_000) {
      await sleep(100);
      view = await apiCall(server.url, "GET", `${fleetPath}/recalls/${recall.id}`, token);
      if (view.state !== "queued" && !(ackedS >= 0)) ackedS = (performance.now() - filedAt) / 1000;
    }
    const doneS = (performance.now() - filedAt) / 1000;
    const wireUp = ((await classBytes()).get(bench.up) ?? 0) - wireBefore;
    const bytes = view.progress?.bytesTotal ?? 0;
    const transferS = (bytes * 8) / UPLINK_BITS;
    row(
      bench.mode,
      view.state.padStart(8),
      num(ackedS, 1, 7),
      num(doneS, 1, 6),
      num(bytes / 1e6, 2, 5),
      num(transferS, 1, 10),
      `${num(doneS / transferS, 2, 5)}x`,
      num(wireUp / 1e6, 2, 10),
      `${view.progress?.segmentsTotal ?? "?"} segments; goal <= 1.5x: ${
        verdict(view.state === "complete" && doneS <= 1.5 * transferS)
      }`,
    );
  }));
} finally {
  for (const bench of benches) {
    await bench.agent?.stop();
    await bench.link[Symbol.asyncDispose]();
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
