/**
 * Benchmark: the time-range HLS playlist of a 24-hour recording of one camera (43,200 two-second
 * segments indexed straight into the catalog, with an init segment; the object bytes do not exist
 * and are not needed), fetched through its signed link from the server in its own process.
 *
 * - Uncached: the server drops the camera's cached playlists (`playback.cache.invalidate`) just
 *   before each request, so every GET reads the catalog and writes the playlist; same URL.
 * - Cached: the same URL with the rendered playlist in the cache.
 *
 * Baseline in the same run: nginx serving the same playlist text as a static file. Latency is a
 * sequential loop of fetches (body read to the end) from this process for both; requests/s is
 * wrk in its own process.
 *
 *   deno task bench:playlist [--segments 43200] [--requests 50] [--seconds 10] [--connections 16]
 */
import { parseArgs } from "node:util";
import { supervise } from "./support/children.ts";
import { startNginx } from "./support/nginx.ts";
import { machineLine, ms, num, percentile, row, verdict } from "./support/report.ts";
import { INVALIDATE_HEADER, startBenchServer } from "./support/server.ts";
import { runWrk, type WrkResult } from "./support/wrk.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    segments: { type: "string", default: "43200" },
    requests: { type: "string", default: "50" },
    seconds: { type: "string", default: "10" },
    connections: { type: "string", default: "16" },
    threads: { type: "string", default: "2" },
  },
});
const machine = machineLine(); // before the run: the load average is that of the machine alone
const SEGMENTS = Number(values.segments);
const REQUESTS = Number(values.requests);
const SECONDS = Number(values.seconds);
const CONNECTIONS = Number(values.connections);
const THREADS = Number(values.threads);
const SEGMENT_MS = 2000;
/** Each sequential loop stops after REQUESTS fetches or this long, whichever comes first. */
const LOOP_LIMIT_MS = 30_000;
const DAY = 86_400_000;

/** Sequential GETs of `url`, each timed until its body is read; bounded by count and time. */
async function sequential(url: string, headers: Record<string, string> = {}) {
  const times: number[] = [];
  const deadline = Date.now() + LOOP_LIMIT_MS;
  for (let i = 0; i < REQUESTS && Date.now() < deadline; i++) {
    const started = performance.now();
    const response = await fetch(url, { headers });
    const bytes = (await response.arrayBuffer()).byteLength;
    times.push(performance.now() - started);
    if (response.status !== 200 || bytes === 0) {
      throw new Error(`GET ${url} answered ${response.status} with ${bytes} bytes`);
    }
  }
  const total = times.reduce((sum, t) => sum + t, 0);
  return {
    p50: percentile(times, 50),
    p99: percentile(times, 99),
    count: times.length,
    perSecond: (1000 * times.length) / total,
  };
}

const wrk = (url: string): Promise<WrkResult> =>
  runWrk({ url, connections: CONNECTIONS, threads: THREADS, seconds: SECONDS });

// Yesterday's recording, whole: the playlist is VOD (final) and cacheable.
const fromMs = Math.floor(Date.now() / DAY) * DAY - 2 * DAY;
const toMs = fromMs + SEGMENTS * SEGMENT_MS;

const server = supervise(
  await startBenchServer({
    vehicles: 1,
    seed: { segments: SEGMENTS, durationMs: SEGMENT_MS, fromMs, recordingId: "r24h" },
  }),
);
let text: string;
let motorcade: {
  uncached: Awaited<ReturnType<typeof sequential>>;
  cached: Awaited<ReturnType<typeof sequential>>;
  wrk: WrkResult;
};
try {
  const { vehicleId, cameraId } = server.vehicles[0];
  const links = await fetch(
    `${server.url}/api/v1/fleets/${server.fleetId}/vehicles/${vehicleId}/cameras/${cameraId}/links`,
    {
      method: "POST",
      headers: {
        authorization: `Bearer ${server.ownerToken}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({
        from: new Date(fromMs).toISOString(),
        to: new Date(toMs).toISOString(),
      }),
    },
  );
  if (links.status !== 201) throw new Error(`POST links: ${links.status} ${await links.text()}`);
  const link: string = (await links.json()).hls;
  const first = await fetch(link, { headers: { [INVALIDATE_HEADER]: cameraId } });
  text = await first.text();
  const listed = text.split("\n").filter((line) => line.startsWith("#EXTINF")).length;
  if (first.status !== 200 || listed !== SEGMENTS) {
    throw new Error(`Playlist: ${first.status}, ${listed} of ${SEGMENTS} segments listed`);
  }
  const uncached = await sequential(link, { [INVALIDATE_HEADER]: cameraId });
  await (await fetch(link)).arrayBuffer(); // fills the cache
  const cached = await sequential(link);
  motorcade = { uncached, cached, wrk: await wrk(link) };
} finally {
  await server.stop();
}

await using nginx = supervise(
  await startNginx({ files: { "index.m3u8": text }, server: "    location / {}" }),
);
const staticUrl = `${nginx.url}/index.m3u8`;
const check = await fetch(staticUrl);
if ((await check.text()) !== text) throw new Error("nginx served other bytes");
const baseline = { sequential: await sequential(staticUrl), wrk: await wrk(staticUrl) };

console.log(machine);
console.log(
  `playlist: ${SEGMENTS} segments (${(SEGMENTS * SEGMENT_MS / 3_600_000).toFixed(1)} h of one ` +
    `camera, one recording), HLS VOD, ${
      (new TextEncoder().encode(text).byteLength / 1e6).toFixed(2)
    } MB, ` +
    `${text.split("\n").length} lines`,
);
console.log(
  `latency: ${REQUESTS} sequential fetches each (body read); throughput: wrk, ${THREADS} threads, ` +
    `${CONNECTIONS} connections, ${SECONDS} s`,
);
console.log(
  `uncached = the server drops the camera's playlist cache (playback.cache.invalidate) before ` +
    "each request; same signed URL",
);
console.log(
  `${"".padEnd(36)} ${"p50".padStart(10)}   ${"p99".padStart(10)}   ${"req/s".padStart(8)}   ` +
    `${"MB/s".padStart(8)}`,
);
const mb = new TextEncoder().encode(text).byteLength / 1e6;
row(
  `${nginx.version} static file`,
  ms(baseline.sequential.p50),
  ms(baseline.sequential.p99),
  num(baseline.wrk.rps),
  num(baseline.wrk.rps * mb),
);
row(
  "Motorcade cached",
  ms(motorcade.cached.p50),
  ms(motorcade.cached.p99),
  num(motorcade.wrk.rps),
  num(motorcade.wrk.rps * mb),
);
row(
  "Motorcade uncached",
  ms(motorcade.uncached.p50),
  ms(motorcade.uncached.p99),
  `${num(motorcade.uncached.perSecond)} (one request at a time)`,
);
if (motorcade.wrk.non2xx + baseline.wrk.non2xx > 0) {
  console.log(`non-2xx: Motorcade ${motorcade.wrk.non2xx}, nginx ${baseline.wrk.non2xx}`);
}
const ratio = motorcade.wrk.rps / baseline.wrk.rps;
console.log(
  `uncached p50: ${motorcade.uncached.p50.toFixed(1)} ms (goal <= 20 ms: ${
    verdict(motorcade.uncached.p50 <= 20)
  }); ${(motorcade.uncached.p50 / baseline.sequential.p50).toFixed(1)}x nginx's p50`,
);
console.log(
  `cached requests/s vs nginx: ${ratio.toFixed(2)} (goal >= 0.50: ${verdict(ratio >= 0.5)})`,
);
