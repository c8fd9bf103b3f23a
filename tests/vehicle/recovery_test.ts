/**
 * Prompt recovery after an outage: the uploader's back-off for network errors ends as soon as the
 * server is seen again (a probe of `/healthz`, a delivered heartbeat), while a wait the server
 * asked for (Retry-After) is kept. A real HTTP server on 127.0.0.1 goes down and comes back.
 */
import assert from "node:assert/strict";
import { createLogger, silentLogger } from "../../lib/log/mod.ts";
import { parseCapturePlaylist } from "../../vehicle/playlist.ts";
import { ServerProbe } from "../../vehicle/server_probe.ts";
import { Spool } from "../../vehicle/spool.ts";
import { Uploader, type UploaderOptions } from "../../vehicle/uploader.ts";
import { freePort } from "../support/server.ts";
import { eventually } from "./agent_harness.ts";
import { playlistText, writeSegments } from "./spool_fixture.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type LogRecord = Record<string, unknown>;

/** A spool holding one recording of two segments, and a temporary folder to remove. */
async function queuedSpool(): Promise<{ spool: Spool; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "recovery-" });
  const spool = new Spool({
    dir,
    diskBudgetBytes: 1e9,
    quarantineBudgetBytes: 1e8,
    drainOrder: "oldest",
    segmentSeconds: 2,
    logger: silentLogger,
  });
  await spool.open();
  const harvest = await spool.begin("front", "rA");
  await writeSegments(harvest.dir, [0, 1]);
  await spool.harvest(harvest, parseCapturePlaylist(playlistText([0, 1])));
  return { spool, dir };
}

/** What a stand-in ingest server on `port` saw; `answer` picks the status of each segment PUT. */
function serveIngest(port: number, answer: () => Response | undefined = () => undefined) {
  const seen: Array<{ at: number; method: string; path: string; status: number }> = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, async (request) => {
    await request.arrayBuffer();
    const path = new URL(request.url).pathname;
    let response: Response;
    if (path === "/healthz") response = Response.json({ status: "ok" });
    else if (path.includes("/segments/")) {
      response = answer() ?? new Response("{}", { status: 201 });
    } else response = new Response(null, { status: request.method === "POST" ? 204 : 201 });
    seen.push({ at: performance.now(), method: request.method, path, status: response.status });
    return response;
  });
  return { server, seen, up: performance.now() };
}

function uploaderOn(
  port: number,
  spool: Spool,
  records: LogRecord[],
  options: Partial<UploaderOptions>,
) {
  return new Uploader({
    spool,
    tokens: { token: () => Promise.resolve("t"), invalidate() {} },
    serverUrl: `http://127.0.0.1:${port}`,
    vehicleId: "veh_1",
    logger: createLogger("debug", (r) => records.push(r)),
    concurrency: 2,
    ...options,
  });
}

/** The back-offs the uploader logged. */
function backOffs(records: LogRecord[]) {
  return records.filter((r) => r.msg === "backing off");
}

Deno.test("uploader retries within moments of the server's return, however long its back-off", async () => {
  const port = freePort();
  const { spool, dir } = await queuedSpool();
  const records: LogRecord[] = [];
  // Quick failures first (tiny jitter), then one long wait: the old gate would stay shut ~59 s.
  let jitter = 0.01;
  const uploader = uploaderOn(port, spool, records, {
    backoff: { baseMs: 1_000, capMs: 60_000 },
    random: () => jitter,
  });
  let ingest: ReturnType<typeof serveIngest> | undefined;
  try {
    uploader.start();
    await eventually("several failed attempts", () => backOffs(records).length >= 6, 20_000);
    jitter = 0.99;
    await eventually(
      "a long back-off",
      () => backOffs(records).some((r) => Number(r.delayMs) >= 50_000),
      20_000,
    );
    // The probe finds the server away at least once before it comes back.
    await sleep(2_500);
    ingest = serveIngest(port);
    await eventually(
      "an upload attempt after the server's return",
      () => ingest!.seen.some((s) => s.path.includes("/segments/")),
      15_000,
    );
    const first = ingest.seen.find((s) => s.path.includes("/segments/"))!;
    const afterUpMs = first.at - ingest.up;
    console.log(`first upload attempt ${afterUpMs.toFixed(0)} ms after the server came back`);
    const reachable = records.filter((r) =>
      r.msg === "server reachable again; retrying uploads now"
    );
    assert.equal(reachable.length, 1, JSON.stringify(reachable));
    assert.equal(reachable[0].via, "probe");
    assert.ok(Number(reachable[0].cutMs) > 40_000, `cut ${reachable[0].cutMs} ms of waiting`);
    assert.ok(afterUpMs < 10_000, `first attempt ${afterUpMs} ms after the server came back`);
    assert.ok(ingest.seen.some((s) => s.path === "/healthz"), "found by a probe of /healthz");
    await eventually("the queue to drain", () => spool.size === 0, 15_000);
    assert.ok(records.some((r) => r.msg === "uploads resumed"));
  } finally {
    await uploader.close();
    await ingest?.server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a delivered heartbeat ends the uploader's back-off for network errors", async () => {
  const port = freePort();
  const { spool, dir } = await queuedSpool();
  const records: LogRecord[] = [];
  const uploader = uploaderOn(port, spool, records, {
    backoff: { baseMs: 60_000, capMs: 60_000 },
    random: () => 0.99,
    // No probe in time: only the heartbeat can end the wait.
    probeIntervalMs: 600_000,
  });
  let ingest: ReturnType<typeof serveIngest> | undefined;
  try {
    uploader.start();
    await eventually("a long back-off", () => backOffs(records).length > 0, 10_000);
    ingest = serveIngest(port);
    uploader.serverReachable("heartbeat");
    await eventually("the queue to drain", () => spool.size === 0, 15_000);
    const reachable = records.find((r) => r.msg === "server reachable again; retrying uploads now");
    assert.equal(reachable?.via, "heartbeat");
    assert.ok(!ingest.seen.some((s) => s.path === "/healthz"), "no probe was needed");
  } finally {
    await uploader.close();
    await ingest?.server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("uploader keeps the server's Retry-After though probes and heartbeats see it up", async () => {
  const port = freePort();
  const { spool, dir } = await queuedSpool();
  const records: LogRecord[] = [];
  let jitter = 0.99;
  const uploader = uploaderOn(port, spool, records, {
    backoff: { baseMs: 60_000, capMs: 60_000 },
    random: () => jitter,
    concurrency: 1,
  });
  let ingest: ReturnType<typeof serveIngest> | undefined;
  try {
    uploader.start();
    await eventually("a long back-off", () => backOffs(records).length > 0, 10_000);
    // The next delay is the server's 30 s, not a long jitter.
    jitter = 0.001;
    await sleep(2_500);
    // Back, but struggling: the first segment is answered 503 with Retry-After: 30.
    let answered = false;
    ingest = serveIngest(port, () => {
      if (answered) return undefined;
      answered = true;
      return Response.json({ detail: "busy" }, { status: 503, headers: { "retry-after": "30" } });
    });
    const server = ingest;
    await eventually("the 503", () => server.seen.some((s) => s.status === 503), 15_000);
    const refusedAt = performance.now();
    const probes = server.seen.filter((s) => s.path === "/healthz").length;
    assert.ok(probes >= 1, "a probe found the server back");
    // Heartbeats keep getting through for the next seconds.
    while (performance.now() - refusedAt < 4_000) {
      uploader.serverReachable("heartbeat");
      await sleep(100);
    }
    const segmentPuts = server.seen.filter((s) => s.path.includes("/segments/"));
    assert.deepEqual(segmentPuts.map((s) => s.status), [503], "no retry inside the 30 s");
    assert.equal(
      server.seen.filter((s) => s.path === "/healthz").length,
      probes,
      "no probing while the server asked for quiet",
    );
    const last = backOffs(records).at(-1)!;
    assert.match(String(last.reason), /^503: busy/);
    assert.equal(last.unreachable, false);
    assert.ok(Number(last.delayMs) >= 30_000, `waits ${last.delayMs} ms`);
    const cuts = records.filter((r) => r.msg === "server reachable again; retrying uploads now");
    assert.deepEqual(cuts.map((r) => r.via), ["probe"], "only the network wait was cut");
    assert.equal(spool.size, 2, "init was stored; both segments wait");
  } finally {
    await uploader.close();
    await ingest?.server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("server probe reports a return only after it found the server away", async () => {
  const port = freePort();
  const serverUrl = `http://127.0.0.1:${port}`;
  let returns = 0;
  const probe = new ServerProbe({ serverUrl, intervalMs: 100, onReturn: () => returns++ });
  probe.watch(() => true);
  await sleep(500);
  assert.equal(returns, 0);
  const ingest = serveIngest(port);
  try {
    await eventually("the return", () => returns === 1, 5_000);
    await probe.close();

    // A server that never left: the probe sees it and stops without reporting a return.
    const steady = new ServerProbe({ serverUrl, intervalMs: 100, onReturn: () => returns++ });
    const before = ingest.seen.length;
    steady.watch(() => true);
    await eventually("one probe", () => ingest.seen.length > before, 5_000);
    await sleep(400);
    assert.equal(ingest.seen.length, before + 1, "it stopped after an answer");
    assert.equal(returns, 1);
    assert.equal(await steady.check(), true);
    await steady.close();
  } finally {
    await probe.close();
    await ingest.server.shutdown();
  }
});
