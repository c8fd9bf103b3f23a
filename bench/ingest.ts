/**
 * Benchmark: segment ingest end to end. N simulated vehicles (each its own enrolled device token
 * and camera) PUT real 2-second CMAF segments of ~500 KB (one ffmpeg segment at ~2 Mbit/s, reused
 * by every vehicle, sequences 0, 1, 2, … with start times 2 s apart) as fast as the server takes
 * them. A segment counts once it is accepted (2xx) AND indexed in the catalog (the indexer's
 * `onIndexed` hook in the server process; checked against the catalog at the end). The server
 * runs in its own process; wrk (Lua script, as many connections as vehicles) is the client.
 *
 * Baseline in the same run, same client, same body and concurrency: nginx storing the PUTs on
 * disk with its WebDAV module (`dav_methods PUT`: body to a temporary file, renamed into place).
 *
 * Rounds alternate which server goes first (disk write-back makes single runs noisy).
 *
 * Motorcade runs once per `--workers` count (INGEST_WORKERS: listeners sharing the port, the
 * server's thread plus ingest worker threads), each its own server process, in the same rounds.
 *
 *   deno task bench:ingest [--vehicles 200] [--seconds 12] [--rounds 2] [--warmup 2] [--threads 2]
 *                          [--bitrate 2000k] [--size 1280x720] [--workers 1,2]
 */
import { parseArgs } from "node:util";
import { contentDigest, makeCmaf } from "../tests/support/media.ts";
import { supervise } from "./support/children.ts";
import { type Nginx, startNginx } from "./support/nginx.ts";
import { machineLine, num, row, verdict } from "./support/report.ts";
import { type BenchServer, startBenchServer } from "./support/server.ts";
import { INGEST_LUA as LUA } from "./support/ingest_lua.ts";
import { runWrk, type WrkResult } from "./support/wrk.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    vehicles: { type: "string", default: "200" },
    seconds: { type: "string", default: "12" },
    rounds: { type: "string", default: "2" },
    warmup: { type: "string", default: "2" },
    threads: { type: "string", default: "2" },
    bitrate: { type: "string", default: "2000k" },
    size: { type: "string", default: "1280x720" },
    workers: { type: "string", default: "1,2" },
  },
});
const machine = machineLine(); // before the run: the load average is that of the machine alone
const VEHICLES = Number(values.vehicles);
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const WARMUP = Number(values.warmup);
const THREADS = Math.min(Number(values.threads), VEHICLES);
const WORKERS = values.workers.split(",").map(Number);
/** Real time for 1,000 vehicles: one 2-second segment each every 2 s. */
const REAL_TIME_TARGET = 1000 / 2;
const DRAIN_TIMEOUT_MS = 60_000;
const now = () => performance.timeOrigin + performance.now();

const work = await Deno.makeTempDir({ prefix: "motorcade-bench-ingest-" });
const cmaf = await makeCmaf({ seconds: 6, size: values.size, bitrate: values.bitrate });
const body = new Uint8Array(cmaf.segments[1].bytes);
const init = new Uint8Array(cmaf.init);
const digest = await contentDigest(body);
const bodyMB = body.byteLength / 1e6;
await Deno.writeFile(`${work}/segment.m4s`, body);
await Deno.writeTextFile(`${work}/ingest.lua`, LUA);

/** Runs wrk with every vehicle uploading to recording `recordingId`. */
function load(
  url: string,
  recordingId: string,
  seconds: number,
  fleet = 0,
): Promise<WrkResult> {
  return runWrk({
    url,
    connections: VEHICLES,
    threads: THREADS,
    seconds,
    script: {
      path: `${work}/ingest.lua`,
      args: [
        `${work}/vehicles-${fleet}.txt`,
        `${work}/segment.m4s`,
        digest,
        String(Math.floor(Date.now() / 1000) - 3600),
        String(THREADS),
        recordingId,
      ],
    },
  });
}

/** PUTs one segment with fetch, to check the wiring before loading it with wrk. */
async function putOnce(base: string, token: string, vehicleId: string, path: string) {
  const response = await fetch(
    `${base}/api/v1/ingest/vehicles/${vehicleId}/cameras/front/recordings/${path}`,
    {
      method: "PUT",
      body,
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "video/iso.segment",
        "content-digest": digest,
        "motorcade-segment-start": new Date(Date.now() - 7_200_000).toISOString(),
        "motorcade-segment-duration": "2.000",
      },
    },
  );
  await response.body?.cancel();
  if (response.status !== 201) throw new Error(`Check upload of ${path}: ${response.status}`);
}

/** Waits until the indexer has `expected` more segments than `before` and is quiet. */
async function drained(server: BenchServer, before: number, expected: number) {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  let last = await server.indexed();
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const current = await server.indexed();
    if (current.segments - before >= expected && current.segments === last.segments) {
      return current;
    }
    last = current;
  }
  return last;
}

interface Outcome {
  wrk: WrkResult;
  accepted: number;
  perSecond: number;
}

interface MotorcadeOutcome extends Outcome {
  /** Indexed while the load ran, per second of load. */
  endToEndPerSecond: number;
  /** Indexed in all, including uploads wrk cut off at its stop after the server read them. */
  indexed: number;
  drainMs: number;
}

/** Uploads every vehicle's init segment of `recordings`, as vehicles do before segments. */
async function uploadInits(server: BenchServer, recordings: string[]) {
  const initDigest = await contentDigest(init);
  for (let i = 0; i < server.vehicles.length; i += 20) {
    await Promise.all(
      server.vehicles.slice(i, i + 20).flatMap((v) =>
        recordings.map(async (recording) => {
          const response = await fetch(
            `${server.url}/api/v1/ingest/vehicles/${v.vehicleId}/cameras/front/recordings/${recording}/init`,
            {
              method: "PUT",
              body: init,
              headers: {
                authorization: `Bearer ${v.token}`,
                "content-type": "video/mp4",
                "content-digest": initDigest,
              },
            },
          );
          await response.body?.cancel();
          if (response.status !== 201) throw new Error(`Init upload: ${response.status}`);
        })
      ),
    );
  }
}

async function measureMotorcade(
  server: BenchServer,
  recording: string,
  fleet: number,
): Promise<MotorcadeOutcome> {
  const before = (await server.indexed()).segments;
  const started = now();
  const wrk = await load(server.url, recording, SECONDS, fleet);
  const stoppedAt = now();
  const atStop = await server.indexed();
  const accepted = wrk.requests - wrk.non2xx;
  const count = await drained(server, before, accepted);
  return {
    wrk,
    accepted,
    perSecond: accepted / wrk.seconds,
    endToEndPerSecond: (atStop.segments - before) / ((stoppedAt - started) / 1000),
    indexed: count.segments - before,
    drainMs: Math.max(0, count.lastAt - stoppedAt),
  };
}

async function measureNginx(nginx: Nginx, recording: string): Promise<Outcome & { files: number }> {
  const wrk = await load(nginx.url, recording, SECONDS);
  const accepted = wrk.requests - wrk.non2xx;
  const vehicles = `${nginx.dir}/www/api/v1/ingest/vehicles`;
  let files = 0;
  for await (const vehicle of Deno.readDir(vehicles)) {
    try {
      const dir = `${vehicles}/${vehicle.name}/cameras/front/recordings/${recording}/segments`;
      for await (const _ of Deno.readDir(dir)) files++;
    } catch { /* none of this vehicle's PUTs landed */ }
  }
  // Keeps the disk use of a run bounded. Uploads wrk cut off may still be landing: move the
  // folder out of their way first, and retry.
  const trash = `${nginx.dir}/trash-${recording}`;
  await Deno.rename(vehicles, trash);
  for (let attempt = 1; attempt <= 5; attempt++) {
    try {
      await Deno.remove(trash, { recursive: true });
      break;
    } catch (error) {
      if (attempt === 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  return { wrk, accepted, perSecond: accepted / wrk.seconds, files };
}

/** Flushes dirty pages so one phase's writes do not slow the next one's. */
const sync = () => new Deno.Command("sync").output();
const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;

try {
  const servers: BenchServer[] = [];
  for (const ingestWorkers of WORKERS) {
    servers.push(supervise(await startBenchServer({ vehicles: VEHICLES, ingestWorkers })));
  }
  // Each server has its own fleet: a vehicles file each.
  for (const [i, server] of servers.entries()) {
    await Deno.writeTextFile(
      `${work}/vehicles-${i}.txt`,
      server.vehicles.map((v) => `${v.vehicleId} ${v.token}\n`).join(""),
    );
  }
  const recordings = Array.from({ length: ROUNDS }, (_, i) => `run${i + 1}`);
  for (const server of servers) {
    await uploadInits(server, ["check", "warm", ...recordings]);
    const first = server.vehicles[0];
    await putOnce(server.url, first.token, first.vehicleId, "check/segments/0");
  }
  await using nginx = supervise(
    await startNginx({
      server: `
    location /api/v1/ingest/ {
      dav_methods PUT;
      create_full_put_path on;
      dav_access user:rw;
      client_max_body_size 64m;
    }`,
    }),
  );
  await putOnce(nginx.url, "-", "check", "check/segments/0");

  for (const [i, server] of servers.entries()) {
    const warm = await load(server.url, "warm", WARMUP, i);
    await drained(server, 0, 1 + warm.requests - warm.non2xx);
  }
  await load(nginx.url, "warm", WARMUP);

  // Rounds rotate which server goes first; pages are flushed before each measurement.
  type Round = { motorcade: MotorcadeOutcome[]; nginx: Outcome & { files: number } };
  const rounds: Round[] = [];
  for (const recording of recordings) {
    const round = { motorcade: [] } as unknown as Round;
    const order = [-1, ...servers.keys()];
    for (let k = 0; k < order.length; k++) {
      const which = order[(k + rounds.length) % order.length];
      await sync();
      if (which >= 0) {
        round.motorcade[which] = await measureMotorcade(servers[which], recording, which);
      } else round.nginx = await measureNginx(nginx, recording);
    }
    rounds.push(round);
  }
  const catalogs = await Promise.all(servers.map((server) => server.catalogSegments()));
  const events = await Promise.all(
    servers.map(async (server) => (await server.indexed()).segments),
  );

  console.log(machine);
  console.log(
    `load: wrk, ${THREADS} threads, ${VEHICLES} vehicles = ${VEHICLES} connections, closed loop ` +
      `(each answer frees its connection for the next vehicle's PUT); ${ROUNDS} rounds of ${SECONDS} s per server after a ` +
      `${WARMUP} s warm-up, rotating which goes first`,
  );
  console.log(
    `body: one real CMAF segment (${values.size} H.264 at ${values.bitrate}, ` +
      `${cmaf.segments[1].durationMs / 1000} s) of ${(body.byteLength / 1000).toFixed(0)} KB, ` +
      "the same bytes from every vehicle, start times 2 s apart",
  );
  console.log(
    `${"".padEnd(44)} ${"segments/s".padStart(10)}   ${"MB/s".padStart(8)}   ${
      "PUT p50".padStart(10)
    }   ${"PUT p99".padStart(10)}   non-2xx`,
  );
  const line = (name: string, o: Outcome, perSecond: number) =>
    row(
      name.padEnd(44),
      num(perSecond, 1, 10),
      num(perSecond * bodyMB, 1),
      `${num(o.wrk.p50, 1, 7)} ms`,
      `${num(o.wrk.p99, 1, 7)} ms`,
      String(o.wrk.non2xx + o.wrk.socketErrors),
    );
  const label = (i: number) => `Motorcade INGEST_WORKERS=${WORKERS[i]}`;
  rounds.forEach(({ motorcade, nginx: baseline }, r) => {
    line(`${r + 1}: ${nginx.version} dav PUT to disk`, baseline, baseline.perSecond);
    motorcade.forEach((m, i) => {
      line(`${r + 1}: ${label(i)} accepted`, m, m.perSecond);
      line(`${r + 1}: ${label(i)} + indexed`, m, m.endToEndPerSecond);
    });
  });
  const nginxRate = mean(rounds.map((r) => r.nginx.perSecond));
  console.log(`mean: nginx ${nginxRate.toFixed(1)} segments/s`);
  console.log(
    "notes: + indexed = segments the indexer committed while the load ran, per second of load;",
  );
  servers.forEach((_, i) => {
    console.log(
      `  ${label(i)}: indexer done ${
        rounds.map((r) => r.motorcade[i].drainMs.toFixed(0)).join(", ")
      } ms after each load stopped; ${
        rounds.map((r) => `${r.motorcade[i].indexed}/${r.motorcade[i].accepted}`).join(", ")
      } indexed/2xx seen (extra: uploads wrk cut off at its stop); catalog holds ${
        catalogs[i]
      } segments for ${events[i]} indexed events`,
    );
  });
  console.log(
    `  nginx files on disk: ${
      rounds.map((r) => `${r.nginx.files}/${r.nginx.accepted}`).join(", ")
    } of 2xx seen; nginx writes without fsync; Motorcade fsyncs object, metadata and bus event ` +
      "before its 2xx",
  );
  servers.forEach((_, i) => {
    const acceptedRate = mean(rounds.map((r) => r.motorcade[i].perSecond));
    const endToEnd = mean(rounds.map((r) => r.motorcade[i].endToEndPerSecond));
    const ratio = endToEnd / nginxRate;
    const headroom = endToEnd / REAL_TIME_TARGET;
    console.log(
      `${label(i)}: accepted ${acceptedRate.toFixed(1)}, + indexed ${
        endToEnd.toFixed(1)
      } segments/s; ratio end to end / nginx ${ratio.toFixed(2)} (goal >= 0.70: ${
        verdict(ratio >= 0.7)
      }; accepted only ${
        (acceptedRate / nginxRate).toFixed(2)
      }); 1,000 vehicles at 2 Mbit/s = ${REAL_TIME_TARGET} segments/s: headroom ${
        headroom.toFixed(2)
      }x (${verdict(headroom >= 1)}; about ${Math.floor(endToEnd * 2)} vehicles in real time)`,
    );
  });
  await Promise.all(servers.map((server) => server.stop()));
} finally {
  await Deno.remove(work, { recursive: true });
}
