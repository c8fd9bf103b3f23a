/**
 * Benchmark: ingest on the distributed engines against the embedded ones, in the same run.
 * Distributed = the deployment of tests/support/distributed.ts: S3 (versitygw), Kafka, PostgreSQL,
 * two `ROLES=ingest` processes, one `ROLES=indexer`, one `ROLES=api,live`, nginx routing by path
 * in front. Embedded = one `main.ts` with every role (file store, log bus, SQLite). Both are real
 * server processes reached over HTTP; vehicles are registered and enrolled through the API.
 *
 * 1. Throughput: wrk (as bench:ingest: as many connections as vehicles, closed loop, one real
 *    ~500 KB CMAF segment per PUT), rounds alternating which deployment goes first; then every
 *    2xx is checked to be in the catalog (each vehicle's recordings through the API).
 * 2. Ingest-to-playable lag (as bench:lag): a few vehicles upload at a steady pace, and for every
 *    segment the time from the PUT's 2xx to the first playlist GET (an open-ended signed link)
 *    that lists it, polled back to back.
 *
 *   deno task bench:ingest:distributed [--vehicles 50] [--seconds 12] [--rounds 2] [--warmup 2]
 *     [--lag-vehicles 5] [--lag-segments 20] [--interval 1]
 */
import { parseArgs } from "node:util";
import { DeviceTokens, enrol } from "../vehicle/identity.ts";
import { startDistributed } from "../tests/support/distributed.ts";
import { contentDigest, makeCmaf } from "../tests/support/media.ts";
import { OWNER } from "../tests/support/platform.ts";
import { startServerProcess, type TestServer } from "../tests/support/server.ts";
import { INGEST_LUA } from "./support/ingest_lua.ts";
import { machineLine, ms, num, percentile, row, verdict } from "./support/report.ts";
import { runWrk, type WrkResult } from "./support/wrk.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    vehicles: { type: "string", default: "50" },
    seconds: { type: "string", default: "12" },
    rounds: { type: "string", default: "2" },
    warmup: { type: "string", default: "2" },
    threads: { type: "string", default: "2" },
    "lag-vehicles": { type: "string", default: "5" },
    "lag-segments": { type: "string", default: "20" },
    interval: { type: "string", default: "1" },
  },
});
const machine = machineLine();
const VEHICLES = Number(values.vehicles);
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const WARMUP = Number(values.warmup);
const THREADS = Math.min(Number(values.threads), VEHICLES);
const LAG_VEHICLES = Number(values["lag-vehicles"]);
const LAG_SEGMENTS = Number(values["lag-segments"]);
const INTERVAL_MS = Number(values.interval) * 1000;
const SEGMENT_MS = 2000;
const GIVE_UP_MS = 10_000;
const DRAIN_TIMEOUT_MS = 60_000;
const now = () => performance.timeOrigin + performance.now();
const ENV = { DEVICE_TOKEN_TTL: "1h", ACCESS_TOKEN_TTL: "1h" };

interface Vehicle {
  vehicleId: string;
  cameraId: string;
  token: string;
}

interface Deployment {
  name: string;
  server: TestServer;
  ownerToken: string;
  fleetId: string;
  vehicles: Vehicle[];
  lagVehicles: Vehicle[];
  file: string;
}

const work = await Deno.makeTempDir({ prefix: "motorcade-bench-distributed-" });
const cmaf = await makeCmaf({ seconds: 6, size: "1280x720", bitrate: "2000k" });
const body = new Uint8Array(cmaf.segments[1].bytes);
const init = new Uint8Array(cmaf.init);
const digest = await contentDigest(body);
await Deno.writeFile(`${work}/segment.m4s`, body);
await Deno.writeTextFile(`${work}/ingest.lua`, INGEST_LUA);

/** One JSON call; fails naming it unless 2xx. */
async function call(base: string, method: string, path: string, token?: string, json?: unknown) {
  const response = await fetch(base + path, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(json ? { "content-type": "application/json" } : {}),
    },
    body: json ? JSON.stringify(json) : undefined,
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** A fleet of `count + lag` vehicles with a camera `front`, enrolled as real vehicles enrol. */
async function setUp(name: string, server: TestServer): Promise<Deployment> {
  const base = server.url;
  const { accessToken } = await call(base, "POST", "/api/v1/auth/login", undefined, OWNER);
  const fleet = await call(base, "POST", "/api/v1/fleets", accessToken, { name: "Bench" });
  const vehicles: Vehicle[] = [];
  const total = VEHICLES + LAG_VEHICLES;
  for (let i = 0; i < total; i += 10) {
    vehicles.push(
      ...await Promise.all(
        Array.from({ length: Math.min(10, total - i) }, async (_, j) => {
          const added = await call(
            base,
            "POST",
            `/api/v1/fleets/${fleet.id}/vehicles`,
            accessToken,
            {
              name: `bus-${i + j + 1}`,
            },
          );
          const vehicleId = added.vehicle.id;
          const camera = await call(
            base,
            "POST",
            `/api/v1/fleets/${fleet.id}/vehicles/${vehicleId}/cameras`,
            accessToken,
            { name: "front" },
          );
          const stateDir = await Deno.makeTempDir({ dir: work });
          const tokens = new DeviceTokens(await enrol(base, added.enrolment.code, stateDir));
          return { vehicleId, cameraId: camera.id, token: await tokens.token() };
        }),
      ),
    );
  }
  const file = `${work}/${name}-vehicles.txt`;
  await Deno.writeTextFile(
    file,
    vehicles.slice(0, VEHICLES).map((v) => `${v.vehicleId} ${v.token}\n`).join(""),
  );
  return {
    name,
    server,
    ownerToken: accessToken,
    fleetId: fleet.id,
    vehicles: vehicles.slice(0, VEHICLES),
    lagVehicles: vehicles.slice(VEHICLES),
    file,
  };
}

/** PUTs `bytes` to one of `vehicle`'s upload paths; throws unless 2xx. */
async function put(
  base: string,
  vehicle: Vehicle,
  path: string,
  bytes: Uint8Array<ArrayBuffer>,
  headers: Record<string, string>,
) {
  const response = await fetch(
    `${base}/api/v1/ingest/vehicles/${vehicle.vehicleId}/cameras/front/recordings/${path}`,
    {
      method: "PUT",
      body: bytes,
      headers: {
        authorization: `Bearer ${vehicle.token}`,
        "content-digest": await contentDigest(bytes),
        ...headers,
      },
    },
  );
  await response.body?.cancel();
  if (!response.ok) throw new Error(`PUT ${path}: ${response.status}`);
}

/** Segments the catalog holds for the deployment's load vehicles (through the API). */
async function catalogSegments(d: Deployment): Promise<number> {
  let total = 0;
  for (const v of d.vehicles) {
    const { recordings } = await call(
      d.server.url,
      "GET",
      `/api/v1/fleets/${d.fleetId}/vehicles/${v.vehicleId}/cameras/${v.cameraId}/recordings`,
      d.ownerToken,
    );
    for (const r of recordings) total += r.segmentCount;
  }
  return total;
}

function load(d: Deployment, recording: string, seconds: number): Promise<WrkResult> {
  return runWrk({
    url: d.server.url,
    connections: VEHICLES,
    threads: THREADS,
    seconds,
    script: {
      path: `${work}/ingest.lua`,
      args: [
        d.file,
        `${work}/segment.m4s`,
        digest,
        String(Math.floor(Date.now() / 1000) - 3600),
        String(THREADS),
        recording,
      ],
    },
  });
}

interface Throughput {
  wrk: WrkResult;
  perSecond: number;
}

/** Waits (bounded) until the catalog holds at least `expected` segments and stops growing. */
async function drained(d: Deployment, expected: number): Promise<{ segments: number; ms: number }> {
  const started = now();
  let last = -1;
  while (now() - started < DRAIN_TIMEOUT_MS) {
    const current = await catalogSegments(d);
    if (current >= expected && current === last) return { segments: current, ms: now() - started };
    last = current;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { segments: last, ms: now() - started };
}

/** The open-ended HLS link of `vehicle`'s camera. */
async function playlistLink(d: Deployment, vehicle: Vehicle, fromMs: number): Promise<string> {
  const links = await call(
    d.server.url,
    "POST",
    `/api/v1/fleets/${d.fleetId}/vehicles/${vehicle.vehicleId}/cameras/${vehicle.cameraId}/links`,
    d.ownerToken,
    { from: new Date(fromMs).toISOString() },
  );
  return links.hls;
}

/** Lag samples of `d`: each lag vehicle uploads LAG_SEGMENTS segments every INTERVAL. */
async function measureLag(
  d: Deployment,
): Promise<{ lags: number[]; floors: number[]; lost: number }> {
  const base = d.server.url;
  const startAt = now() + 500;
  const recordingStart = startAt - 3_600_000;
  const perVehicle = await Promise.all(d.lagVehicles.map(async (vehicle, index) => {
    const recording = "lag";
    await put(base, vehicle, `${recording}/init`, init, { "content-type": "video/mp4" });
    const link = await playlistLink(d, vehicle, recordingStart - 60_000);
    const lags: number[] = [];
    const floors: number[] = [];
    let lost = 0;
    const offset = (index * INTERVAL_MS) / d.lagVehicles.length;
    for (let sequence = 0; sequence < LAG_SEGMENTS; sequence++) {
      const due = startAt + offset + sequence * INTERVAL_MS;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - now())));
      await put(base, vehicle, `${recording}/segments/${sequence}`, body, {
        "content-type": "video/iso.segment",
        "motorcade-segment-start": new Date(recordingStart + sequence * SEGMENT_MS).toISOString(),
        "motorcade-segment-duration": (SEGMENT_MS / 1000).toFixed(3),
      });
      const ackAt = now();
      const needle = `/${recording}/${String(sequence).padStart(10, "0")}.m4s`;
      let seen = false;
      for (let polls = 0; now() - ackAt < GIVE_UP_MS; polls++) {
        const sent = now();
        const response = await fetch(link);
        const text = await response.text();
        if (polls === 0) floors.push(now() - sent);
        if (response.status === 200 && text.includes(needle)) {
          lags.push(now() - ackAt);
          seen = true;
          break;
        }
      }
      if (!seen) lost++;
    }
    return { lags, floors, lost };
  }));
  return {
    lags: perVehicle.flatMap((v) => v.lags),
    floors: perVehicle.flatMap((v) => v.floors),
    lost: perVehicle.reduce((n, v) => n + v.lost, 0),
  };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sync = () => new Deno.Command("sync").output();

try {
  await using embeddedServer = await startServerProcess(ENV);
  await using distributedServer = await startDistributed(ENV);
  const deployments = [
    await setUp("embedded", embeddedServer),
    await setUp("distributed", distributedServer),
  ];
  const recordings = Array.from({ length: ROUNDS }, (_, i) => `run${i + 1}`);
  for (const d of deployments) {
    for (const v of d.vehicles) {
      for (const r of ["warm", ...recordings]) {
        await put(d.server.url, v, `${r}/init`, init, { "content-type": "video/mp4" });
      }
    }
    await load(d, "warm", WARMUP);
  }
  const before = await Promise.all(deployments.map((d) => drained(d, 0)));
  const results: Throughput[][] = deployments.map(() => []);
  for (const [r, recording] of recordings.entries()) {
    const order = r % 2 === 0 ? [0, 1] : [1, 0];
    for (const i of order) {
      await sync();
      const wrk = await load(deployments[i], recording, SECONDS);
      results[i].push({ wrk, perSecond: (wrk.requests - wrk.non2xx) / wrk.seconds });
    }
  }
  const accepted = results.map((rounds) =>
    rounds.reduce((n, t) => n + t.wrk.requests - t.wrk.non2xx, 0)
  );
  const after = await Promise.all(
    deployments.map((d, i) => drained(d, before[i].segments + accepted[i])),
  );
  const lag: Awaited<ReturnType<typeof measureLag>>[] = [];
  for (const d of deployments) lag.push(await measureLag(d));

  console.log(machine);
  console.log(
    `throughput: wrk, ${THREADS} threads, ${VEHICLES} vehicles = ${VEHICLES} connections, closed ` +
      `loop, ${ROUNDS} rounds of ${SECONDS} s per deployment after a ${WARMUP} s warm-up, ` +
      `alternating which goes first; body one real CMAF segment of ${
        (body.byteLength / 1000).toFixed(0)
      } KB`,
  );
  console.log(
    "embedded: one main.ts, every role (file store, log bus, SQLite); distributed: S3 " +
      "(versitygw) + Kafka 4.4 + PostgreSQL 15, two ROLES=ingest + one indexer + one api, nginx " +
      "routing by path; all on this machine",
  );
  console.log(
    `${"".padEnd(36)} ${"segments/s".padStart(10)}   ${"MB/s".padStart(8)}   ${
      "PUT p50".padStart(10)
    }   ${"PUT p99".padStart(10)}   non-2xx`,
  );
  for (let r = 0; r < ROUNDS; r++) {
    deployments.forEach((d, i) => {
      const t = results[i][r];
      row(
        `${r + 1}: ${d.name} accepted (2xx)`.padEnd(36),
        num(t.perSecond, 1, 10),
        num(t.perSecond * body.byteLength / 1e6, 1),
        `${num(t.wrk.p50, 1, 7)} ms`,
        `${num(t.wrk.p99, 1, 7)} ms`,
        String(t.wrk.non2xx + t.wrk.socketErrors),
      );
    });
  }
  deployments.forEach((d, i) => {
    console.log(
      `  ${d.name}: catalog ${after[i].segments - before[i].segments} new segments for ${
        accepted[i]
      } 2xx seen (more: uploads wrk cut off at its stop), complete ${
        (after[i].ms / 1000).toFixed(1)
      } s after the last round`,
    );
  });
  const rates = results.map((rounds) => mean(rounds.map((t) => t.perSecond)));
  const ratio = rates[1] / rates[0];
  console.log(
    `mean accepted: embedded ${rates[0].toFixed(1)}, distributed ${rates[1].toFixed(1)} ` +
      `segments/s; ratio distributed / embedded ${ratio.toFixed(2)} (goal >= 0.50: ${
        verdict(ratio >= 0.5)
      })`,
  );
  console.log(
    `lag: ${LAG_VEHICLES} vehicles, one segment every ${INTERVAL_MS / 1000} s each, ${
      LAG_SEGMENTS * LAG_VEHICLES
    } segments per deployment, no other load; PUT 2xx -> first playlist GET listing it`,
  );
  console.log(
    `${"".padEnd(36)} ${"p50".padStart(10)}   ${"p99".padStart(10)}   ${"max".padStart(10)}`,
  );
  deployments.forEach((d, i) => {
    const { lags, floors, lost } = lag[i];
    row(
      `${d.name}: one playlist GET`.padEnd(36),
      ms(percentile(floors, 50)),
      ms(percentile(floors, 99)),
      ms(Math.max(...floors)),
    );
    row(
      `${d.name}: ingest-to-playable`.padEnd(36),
      ms(percentile(lags, 50)),
      ms(percentile(lags, 99)),
      ms(Math.max(...lags)),
    );
    if (lost) console.log(`  ${d.name}: ${lost} segments not listed within ${GIVE_UP_MS} ms`);
  });
  const p99 = percentile(lag[1].lags, 99);
  console.log(
    `distributed lag p99 ${p99.toFixed(0)} ms (goal <= 1000 ms: ${
      verdict(p99 <= 1000 && lag[1].lost === 0)
    })`,
  );
} finally {
  await Deno.remove(work, { recursive: true }).catch(() => {});
}
