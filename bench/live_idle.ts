/**
 * Benchmark: idle signaling connections per server process. The real server (LIVE on, its Janus
 * sidecar running) accepts N WebSocket connections on /api/v1/live/ws, each authenticated at
 * once with the owner's access token (`auth`, then `ready`) and then left idle, as viewers with
 * the admin open but not watching, or parked apps. The clients run in separate Deno processes, so
 * the server's resident memory (VmRSS of its process; Janus is not involved and not counted) is
 * its own: measured idle before, and with the N connections held.
 *
 * Baseline in the same run: a bare `Deno.serve` WebSocket endpoint (same idle timeout) holding
 * the same N connections — the least a Deno process can hold them with. Goal: 10,000 idle
 * connections in <= 500 MB (the server process's whole RSS).
 *
 * All connections share one token, so the server's verified-token cache holds one entry; with a
 * token per viewer it would add up to 10,000 small entries. The server serves through its
 * connection gate as in production (its Worker runs in the same process, so VmRSS counts it), and
 * each connection holds three descriptors there: 10,000 need an open-file limit above 34,000. The
 * benchmark starts the server under `prlimit --nofile=65536:65536` when it may (root with
 * CAP_SYS_RESOURCE); otherwise under the hard limit, holding as many connections as the server's
 * default MAX_CONNECTIONS admits, and it projects the goal from the measured cost per connection.
 *
 *   bash scripts/netns.sh deno run -A bench/live_idle.ts [--connections 10000] [--processes 4]
 *     [--hold 5] (seconds idle before the second measure)
 */
import { parseArgs } from "node:util";
import { OWNER } from "../tests/support/platform.ts";
import { liveServerEnv, requireLiveNamespace } from "../tests/support/live.ts";
import { startServer } from "../tests/support/server.ts";
import { defaultMaxConnections, FDS_PER_CONNECTION, openFileLimits } from "../lib/http/mod.ts";
import { mb, rssBytes, serverPid, sleep } from "./support/live_procs.ts";
import { type LiveWorker, startWorker } from "./support/live_worker.ts";
import { machineLine, num, percentile, row, verdict } from "./support/report.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    connections: { type: "string", default: "10000" },
    processes: { type: "string", default: "4" },
    concurrency: { type: "string", default: "25" },
    hold: { type: "string", default: "5" },
  },
});
const REQUESTED = Number(values.connections);
const PROCESSES = Number(values.processes);
const GOAL_MB = 500;
const GOAL_CONNECTIONS = 10_000;
const RAISED_LIMIT = 65_536;

requireLiveNamespace();
const machine = machineLine();

/** The server's open-file limit: raised with prlimit when allowed, else the hard limit. */
async function serverLimit(): Promise<{ wrapper: string[]; limit: number; note: string }> {
  const tryLimit = async (limit: number) => {
    const { success, stderr } = await new Deno.Command("prlimit", {
      args: [`--nofile=${limit}:${limit}`, "--", "true"],
      stdout: "null",
      stderr: "piped",
    }).output();
    return { success, error: new TextDecoder().decode(stderr).trim() };
  };
  const wanted = await tryLimit(RAISED_LIMIT);
  const wrapper = (limit: number) => ["prlimit", `--nofile=${limit}:${limit}`, "--"];
  if (wanted.success) {
    return {
      wrapper: wrapper(RAISED_LIMIT),
      limit: RAISED_LIMIT,
      note: `server started under \`prlimit --nofile=${RAISED_LIMIT}:${RAISED_LIMIT}\``,
    };
  }
  const hard = openFileLimits()?.hard ?? 1024;
  const limit = Number.isFinite(hard) ? hard : RAISED_LIMIT;
  return {
    wrapper: (await tryLimit(limit)).success ? wrapper(limit) : [],
    limit,
    note: `cannot raise the server's open-file limit to ${RAISED_LIMIT} (${
      wanted.error || "prlimit failed"
    }: raising a hard limit needs CAP_SYS_RESOURCE); server started with soft = hard = ${limit}`,
  };
}
const launch = await serverLimit();
const capacity = defaultMaxConnections(launch.limit);
// A few connections stay free for the login and stray requests.
const N = Math.min(REQUESTED, capacity - 10);

interface Held {
  beforeRss: number;
  afterRss: number;
  ready: number;
  failed: number;
  openMs: number;
  descriptors: number;
}

/** Median of a few RSS samples half a second apart (the heap breathes with GC). */
async function steadyRss(pid: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 7; i++) {
    samples.push(rssBytes(pid));
    await sleep(500);
  }
  return percentile(samples, 50);
}

/** Opens N authenticated connections to `url` from the load processes and measures `pid`. */
async function hold(url: string, token: string, pid: number): Promise<Held> {
  await sleep(2_000); // start-up work done
  const beforeRss = await steadyRss(pid);
  const workers: LiveWorker[] = Array.from(
    { length: PROCESSES },
    () => startWorker("live_idle_main.ts"),
  );
  try {
    const started = performance.now();
    const share = Math.ceil(N / PROCESSES);
    const opened = await Promise.all(workers.map(async (worker, i) => {
      const count = Math.max(0, Math.min(share, N - i * share));
      await worker.send({
        type: "open",
        url,
        token,
        count,
        concurrency: Number(values.concurrency),
      });
      return await worker.next((m) => m.type === "opened", 600_000);
    }));
    const openMs = performance.now() - started;
    await sleep(Number(values.hold) * 1000); // idle (65 s spans a ping round of idleTimeout 60)
    const afterRss = await steadyRss(pid);
    const descriptors = [...Deno.readDirSync(`/proc/${pid}/fd`)].length;
    return {
      beforeRss,
      afterRss,
      ready: opened.reduce((n, m) => n + Number(m.ready), 0),
      failed: opened.reduce((n, m) => n + Number(m.failed), 0),
      openMs,
      descriptors,
    };
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()));
  }
}

// ---- Motorcade: the real server with LIVE on ---------------------------------------------------
let ours: Held;
{
  // One token for every connection: the per-user socket cap is raised to N here.
  // Every client is 127.0.0.1: the per-address cap is lifted to the total one (the default).
  await using motorcade = await startServer({
    ...liveServerEnv(),
    ACCESS_TOKEN_TTL: "1h",
    LIVE_SOCKETS_PER_USER: String(N + 10),
    MAX_CONNECTIONS_PER_IP: String(capacity),
  }, { timeoutMs: 60_000, wrapper: launch.wrapper });
  const login = await fetch(`${motorcade.url}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(OWNER),
  });
  if (!login.ok) throw new Error(`Login failed: ${login.status} ${await login.text()}`);
  const { accessToken } = await login.json();
  const wsUrl = motorcade.url.replace(/^http/, "ws") + "/api/v1/live/ws";
  ours = await hold(wsUrl, accessToken, serverPid());
}

// ---- Baseline: bare Deno.serve WebSocket endpoint ----------------------------------------------
let bare: Held;
{
  await using endpoint = startWorker("live_bare_ws_main.ts");
  const { url } = await endpoint.next((m) => typeof m.url === "string");
  bare = await hold(String(url), "bare", endpoint.pid);
}

const perKb = (h: Held) => (h.afterRss - h.beforeRss) / 1024 / Math.max(1, h.ready);
console.log(machine);
console.log(
  `${launch.note}; default MAX_CONNECTIONS at that limit: ${capacity} ` +
    `(${FDS_PER_CONNECTION} descriptors per connection through the connection gate)`,
);
if (N < REQUESTED) {
  console.log(
    `held ${N} connections, not ${REQUESTED}: the server's open-file limit admits no more`,
  );
}
console.log(
  `load: ${N} WebSocket connections from ${PROCESSES} client processes (${values.concurrency} ` +
    "opening at a time each), each authenticated at once, then idle; RSS = VmRSS of the server " +
    "process (its gate Worker included), median of 7 samples",
);
console.log(
  `${"".padEnd(36)} ${"held".padStart(8)}   ${"RSS before".padStart(10)}   ${
    "RSS after".padStart(10)
  }   ${"added".padStart(9)}   ${"per conn".padStart(9)}   ${"open rate".padStart(10)}`,
);
for (
  const [name, h] of [["Motorcade server (LIVE on)", ours], ["bare Deno.serve WS", bare]] as const
) {
  row(
    name,
    num(h.ready, 0),
    `${num(h.beforeRss / 1_048_576, 1, 7)} MB`,
    `${num(h.afterRss / 1_048_576, 1, 7)} MB`,
    `${num((h.afterRss - h.beforeRss) / 1_048_576, 1, 6)} MB`,
    `${num(perKb(h), 1, 6)} KB`,
    `${num(h.ready / (h.openMs / 1000), 0, 6)} /s`,
  );
  if (h.failed) console.log(`  ${h.failed} connections failed to authenticate`);
}
console.log(
  `server descriptors with the connections open: ${ours.descriptors} (bare: ${bare.descriptors})`,
);
console.log(
  `ratio per connection, ours / bare: ${(perKb(ours) / perKb(bare)).toFixed(2)}; ` +
    `whole process: ${(ours.afterRss / bare.afterRss).toFixed(2)}`,
);
const goalMet = (rss: number) => verdict(rss <= GOAL_MB * 1_048_576 && ours.failed === 0);
if (N >= GOAL_CONNECTIONS) {
  console.log(
    `${GOAL_CONNECTIONS} idle connections in <= ${GOAL_MB} MB: server RSS ${
      mb(ours.afterRss)
    } MB with ${ours.ready} (${goalMet(ours.afterRss)})`,
  );
} else if (N >= 2_000) {
  const projected = ours.beforeRss + (perKb(ours) * 1024) * GOAL_CONNECTIONS;
  console.log(
    `${GOAL_CONNECTIONS} idle connections in <= ${GOAL_MB} MB: projected from ${ours.ready}, ` +
      `server RSS ${mb(projected)} MB (${goalMet(projected)}, projected, not measured; ` +
      `${GOAL_CONNECTIONS} need an open-file limit of at least ${
        Math.ceil(GOAL_CONNECTIONS * FDS_PER_CONNECTION * 8 / 7)
      })`,
  );
} else {
  console.log(
    `goal (${GOAL_CONNECTIONS} idle connections in <= ${GOAL_MB} MB) not checked: run with ` +
      `--connections ${GOAL_CONNECTIONS} (a projection from ${N} is dominated by start-up noise)`,
  );
}
