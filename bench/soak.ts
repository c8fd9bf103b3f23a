/**
 * Benchmark: soak under hostile clients. The real server (`main.ts`) serves normal clients —
 * viewers fetching a recording's HLS playlist and its segments, API reads, `/healthz` — and one
 * vehicle uploading a 2-second segment every 2 seconds, for `--minutes` (default 10) after 15 s of
 * warm-up. The first fifth is quiet (normal clients alone: the baseline); then a separate process
 * adds hostile clients from other loopback addresses (slow headers, idle and idle keep-alive
 * connections, 60 MB WebSocket frames before sign-in, a flood of wrong passwords, invented methods,
 * oversized bodies); then 20 s with the hostile clients gone.
 *
 * Prints the normal clients' p50/p99 and errors by phase, the p99 ratio hostile ÷ quiet (goal
 * ≤ 2), the server's RSS and open files (start, end of quiet, max, end, after), and what the
 * hostile clients met.
 *
 *   deno task bench:soak [--minutes 10] [--viewers 4] [--connections 100] [--rate 50]
 */
import { parseArgs } from "node:util";
import { contentDigest, makeCmaf } from "../tests/support/media.ts";
import { supervise } from "./support/children.ts";
import { machineLine, ms, num, percentile, row, verdict } from "./support/report.ts";
import {
  type ProcessReading,
  readProcess,
  SOAK_VIEWER,
  startSoakServer,
} from "./support/soak_server.ts";
import type { HostileOptions, HostileTally } from "./support/soak_hostile_main.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    minutes: { type: "string", default: "10" },
    viewers: { type: "string", default: "4" },
    connections: { type: "string", default: "100" },
    rate: { type: "string", default: "50" },
  },
});
const machine = machineLine();
const TOTAL_MS = Number(values.minutes) * 60_000;
const QUIET_MS = TOTAL_MS / 5;
const AFTER_MS = 20_000;
/** Normal traffic before the quiet phase, not counted: the server's first requests compile code. */
const WARM_UP_MS = 15_000;
const VIEWERS = Number(values.viewers);
const SEGMENT_MS = 2000;
const SEEDED_SEGMENTS = 60;
const REQUEST_TIMEOUT_MS = 30_000;
const GOAL_P99_RATIO = 2;
const HOSTILE_MAIN = new URL("./support/soak_hostile_main.ts", import.meta.url).pathname;

type Phase = "warm-up" | "quiet" | "hostile" | "after";
interface Sample {
  phase: Phase;
  kind: string;
  ms: number;
  ok: boolean;
}
interface Reading extends ProcessReading {
  phase: Phase;
  atMs: number;
}

const cmaf = await makeCmaf({ seconds: 6, size: "1280x720", bitrate: "2000k" });
const segment = new Uint8Array(cmaf.segments[1].bytes);
const init = new Uint8Array(cmaf.init);
const segmentDigest = await contentDigest(segment);

// Live on (its signaling socket is a target), with a Janus that is not there: nothing here
// watches live video.
await using server = supervise(
  await startSoakServer({
    LIVE: "on",
    JANUS_URL: "ws://127.0.0.1:9/janus",
    JANUS_ADMIN_URL: "ws://127.0.0.1:9/admin",
    JANUS_API_SECRET: "soak-api-secret",
    JANUS_ADMIN_SECRET: "soak-admin-secret",
  }),
);
const cameraPath =
  `/api/v1/fleets/${server.fleetId}/vehicles/${server.vehicleId}/cameras/${server.cameraId}`;
const ingestPath = (recording: string, rest: string) =>
  `/api/v1/ingest/vehicles/${server.vehicleId}/cameras/front/recordings/${recording}/${rest}`;

async function upload(recording: string, sequence: number | "init", startMs = 0) {
  const isInit = sequence === "init";
  const response = await fetch(
    `${server.url}${ingestPath(recording, isInit ? "init" : `segments/${sequence}`)}`,
    {
      method: "PUT",
      body: isInit ? init : segment,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      headers: {
        authorization: `Bearer ${server.deviceToken}`,
        "content-digest": isInit ? await contentDigest(init) : segmentDigest,
        "content-type": isInit ? "video/mp4" : "video/iso.segment",
        ...(isInit ? {} : {
          "motorcade-segment-start": new Date(startMs).toISOString(),
          "motorcade-segment-duration": (SEGMENT_MS / 1000).toFixed(3),
        }),
      },
    },
  );
  await response.body?.cancel();
  return response.status;
}

// A recorded minute and a half for the viewers, uploaded before the clock starts.
const seededFrom = Date.now() - 30 * 60_000;
if (await upload("seeded", "init") >= 300) throw new Error("Cannot seed the init segment");
for (let sequence = 0; sequence < SEEDED_SEGMENTS; sequence++) {
  const status = await upload("seeded", sequence, seededFrom + sequence * SEGMENT_MS);
  if (status >= 300) throw new Error(`Cannot seed segment ${sequence}: ${status}`);
}
const link = await fetch(`${server.url}${cameraPath}/links`, {
  method: "POST",
  headers: { authorization: `Bearer ${server.ownerToken}`, "content-type": "application/json" },
  body: JSON.stringify({
    from: new Date(seededFrom).toISOString(),
    to: new Date(seededFrom + SEEDED_SEGMENTS * SEGMENT_MS).toISOString(),
    ttlSeconds: 3600,
  }),
});
if (link.status !== 201) throw new Error(`POST links: ${link.status} ${await link.text()}`);
const playlistUrl: string = (await link.json()).hls;

let phase: Phase = "warm-up";
let running = true;
const samples: Sample[] = [];
const readings: Reading[] = [];
const started = performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Times one GET to the end of its body. */
async function timed(kind: string, url: string, token?: string): Promise<string | undefined> {
  const sent = performance.now();
  const at = phase;
  try {
    const response = await fetch(url, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = kind === "playlist" ? await response.text() : undefined;
    if (text === undefined) await response.arrayBuffer();
    samples.push({ phase: at, kind, ms: performance.now() - sent, ok: response.ok });
    return text;
  } catch {
    samples.push({ phase: at, kind, ms: performance.now() - sent, ok: false });
    return undefined;
  }
}

/** A viewer: the playlist, one of its segments, an API read and `/healthz`, in a loop. */
async function viewer() {
  let segments: string[] = [];
  while (running) {
    const text = await timed("playlist", playlistUrl);
    if (text) {
      segments = text.split("\n").filter((line) => line && !line.startsWith("#"))
        .map((line) => new URL(line, playlistUrl).href);
    }
    if (segments.length) {
      await timed("segment", segments[Math.floor(Math.random() * segments.length)]);
    }
    await timed("api read", `${server.url}${cameraPath}/recordings`, server.viewerToken);
    await timed("healthz", `${server.url}/healthz`);
    await sleep(200);
  }
}

/** The vehicle: one segment every 2 s, in real time. */
async function vehicle() {
  const recordingStart = Date.now();
  if (await upload("live", "init") >= 300) throw new Error("Cannot upload the live init segment");
  for (let sequence = 0; running; sequence++) {
    const due = recordingStart + (sequence + 1) * SEGMENT_MS;
    await sleep(Math.max(0, due - Date.now()));
    const sent = performance.now();
    const at = phase;
    const status = await upload("live", sequence, due - SEGMENT_MS).catch(() => 0);
    samples.push({ phase: at, kind: "upload", ms: performance.now() - sent, ok: status < 300 });
  }
}

async function sampleProcess() {
  while (running) {
    const reading = readProcess(server.pid);
    if (reading) readings.push({ ...reading, phase, atMs: performance.now() - started });
    await sleep(2_000);
  }
}

/** A reading of the server process at a moment of the run. */
interface Mark {
  label: string;
  atMs: number;
  reading?: ProcessReading;
}
const mark = (label: string): Mark => ({
  label,
  atMs: performance.now(),
  reading: readProcess(server.pid),
});

const first = mark("start (after set-up)");
/** The machine's 1-minute load average: other work on it moves every figure. */
function loadAverage(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ")[0];
  } catch {
    return "unknown";
  }
}
const clients = [
  ...Array.from({ length: VIEWERS }, () => viewer()),
  vehicle(),
  sampleProcess(),
];

console.log(machine);
console.log(
  `soak: ${values.minutes} min (quiet ${QUIET_MS / 1000} s, hostile ${
    (TOTAL_MS - QUIET_MS) / 1000
  } s, after ${AFTER_MS / 1000} s); ${VIEWERS} viewers, 1 vehicle; server pid ${server.pid}`,
);
await sleep(WARM_UP_MS);
phase = "quiet";
const quietStart = mark("after 15 s of warm-up");
await sleep(QUIET_MS);
const quietEnd = mark("end of quiet phase");
const load = [`${loadAverage()} at the end of the quiet phase`];

phase = "hostile";
const hostileOptions: HostileOptions = {
  port: server.port,
  email: SOAK_VIEWER.email,
  ingestPath: ingestPath("hostile", "segments/0"),
  connections: Number(values.connections),
  ratePerSecond: Number(values.rate),
};
const hostile = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", HOSTILE_MAIN, JSON.stringify(hostileOptions)],
  stdin: "piped",
  stdout: "piped",
  stderr: "inherit",
}).spawn();
const hostileOutput = hostile.output();
supervise({
  stop: async () => {
    try {
      hostile.kill("SIGKILL");
    } catch { /* gone */ }
    await hostile.status;
  },
});
const hostileMs = TOTAL_MS - QUIET_MS;
await sleep(hostileMs / 2);
const hostileMid = mark("hostile phase, midway");
await sleep(hostileMs / 2);
const hostileEnd = mark("hostile phase, end");
load.push(`${loadAverage()} at the end of the hostile phase`);
await hostile.stdin.close();
const killer = setTimeout(() => hostile.kill("SIGKILL"), 15_000);
const { stdout } = await hostileOutput;
clearTimeout(killer);
const hostileLast = new TextDecoder().decode(stdout).trim().split("\n").at(-1) ?? "";
const hostileSummary: Record<string, HostileTally> = hostileLast.startsWith("{")
  ? JSON.parse(hostileLast)
  : {};

phase = "after";
const afterStart = mark("hostile clients gone");
await sleep(AFTER_MS);
const after = mark(`${AFTER_MS / 1000} s after the hostile clients left`);
running = false;
await Promise.allSettled(clients);
const alive = server.alive();
const log = await Deno.readTextFile(server.logFile).catch(() => "");
const fatal =
  log.split("\n").filter((line) =>
    /Too many open files|uncaught|panicked|out of memory/i.test(line)
  ).length;

// Figures.
console.log("\nnormal clients: p50, p99, requests, errors");
const kinds = [...new Set(samples.map((s) => s.kind))];
const of = (p: Phase, kind?: string) =>
  samples.filter((s) => s.phase === p && (kind === undefined || s.kind === kind));
const summary = (list: Sample[]) => {
  const times = list.map((s) => s.ms);
  return [
    ms(percentile(times, 50)),
    ms(percentile(times, 99)),
    num(list.length, 0, 6),
    num(list.filter((s) => !s.ok).length, 0, 4),
  ].join("  ");
};
row("", "quiet".padEnd(42), "hostile".padEnd(42), "after");
for (const kind of kinds) {
  row(kind, summary(of("quiet", kind)), summary(of("hostile", kind)), summary(of("after", kind)));
}
row("all normal requests", summary(of("quiet")), summary(of("hostile")), summary(of("after")));
const p99 = (p: Phase) => percentile(of(p).map((s) => s.ms), 99);
const ratio = p99("hostile") / p99("quiet");
const errors = of("hostile").filter((s) => !s.ok).length + of("quiet").filter((s) => !s.ok).length;

console.log("\nserver process: RSS, open files, CPU since the previous line");
const cpu = (from: Mark, to: Mark) =>
  from.reading && to.reading
    ? `${
      num(
        (100 * (to.reading.cpuSeconds - from.reading.cpuSeconds)) / ((to.atMs - from.atMs) / 1000),
        0,
        4,
      )
    } % of a core`
    : "";
const show = (m: Mark, previous?: Mark) =>
  row(
    m.label,
    m.reading
      ? `${num(m.reading.rssBytes / 1048576, 1)} MB   ${num(m.reading.openFiles, 0, 6)} fds   ${
        previous ? cpu(previous, m) : ""
      }`
      : "gone",
  );
const hostileReadings = readings.filter((r) => r.phase === "hostile");
show(first);
show(quietStart, first);
show(quietEnd, quietStart);
show(hostileMid, quietEnd);
show(hostileEnd, hostileMid);
if (hostileReadings.length) {
  row(
    "hostile phase, max",
    `${num(Math.max(...hostileReadings.map((r) => r.rssBytes)) / 1048576, 1)} MB   ${
      num(Math.max(...hostileReadings.map((r) => r.openFiles)), 0, 6)
    } fds`,
  );
  // One reading a minute shows whether memory levels off or keeps climbing.
  const perMinute = hostileReadings.filter((r, i) =>
    i === 0 || Math.floor(r.atMs / 60_000) !== Math.floor(hostileReadings[i - 1].atMs / 60_000)
  );
  row(
    "hostile phase, RSS each minute",
    perMinute.map((r) => num(r.rssBytes / 1048576, 0, 4)).join(" "),
  );
}
show(after, afterStart);

console.log(`load average ${load.join(", ")}`);

console.log("\nhostile clients: what each met");
for (const [name, t] of Object.entries(hostileSummary)) {
  const answers = Object.entries(t.statuses).map(([status, n]) => `${status} ×${n}`).join(", ");
  const lifetime = t.lifetimeMsP50 === null
    ? ""
    : `; closed by the server: ${t.closedByServer} after p50 ${t.lifetimeMsP50} ms (max ${t.lifetimeMsMax})`;
  const bytes = t.bytesBeforeRefusalP50 === null
    ? ""
    : `; body bytes written before refusal p50 ${
      (t.bytesBeforeRefusalP50 / 1048576).toFixed(1)
    } MB (max ${(t.bytesBeforeRefusalMax! / 1048576).toFixed(1)})`;
  console.log(
    `  ${name}: ${t.opened} connections; answers ${answers || "none"}${lifetime}${bytes}`,
  );
}
if (Object.keys(hostileSummary).length === 0) console.log("  the hostile process ended early");

console.log("\nverdicts");
row(
  "p99 hostile ÷ quiet",
  `${num(ratio, 2, 5)}x (goal ≤ ${GOAL_P99_RATIO}x: ${verdict(ratio <= GOAL_P99_RATIO)})`,
);
row("normal errors, quiet + hostile", `${errors} (goal 0: ${verdict(errors === 0)})`);
const rssMid = hostileMid.reading?.rssBytes ?? NaN;
const rssEnd = hostileEnd.reading?.rssBytes ?? NaN;
const rssLevel = rssEnd <= rssMid * 1.1;
row(
  "RSS levels off (end ≤ 1.1× midway)",
  `${num(rssEnd / rssMid, 2, 4)}x: ${verdict(rssLevel)}`,
);
const fdsBack = !!(quietEnd.reading && after.reading &&
  after.reading.openFiles <= quietEnd.reading.openFiles + 10);
row("open files back to quiet (+10)", verdict(fdsBack));
row("server alive, no fatal log line", `${alive && fatal === 0 ? "yes" : "NO"} (${fatal} lines)`);
console.log(`server log: ${server.logFile}`);
