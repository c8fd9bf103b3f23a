/**
 * Benchmark: the time-range HLS playlist of a 24-hour recording of one camera (43,200 two-second
 * segments indexed straight into the catalog, with an init segment; the object bytes do not exist
 * and are not needed), fetched through its signed link from the server in its own process.
 *
 * - Uncached: the server drops the camera's cached playlists (`playback.cache.invalidate`) just
 *   before each request, so every GET reads the catalog again; same URL. The playlist is written
 *   anew only if the recordings in range changed, which here they never do (see PlaylistCache).
 * - Cached: the same URL with the rendered playlist in the cache.
 *
 * Baseline in the same run: nginx serving the same playlist text as a static file. Latency is a
 * sequential loop of fetches (body read to the end) from this process for both; requests/s is
 * wrk in its own process. Each is measured twice: uncompressed (`Accept-Encoding: identity`),
 * and gzip'd (`Accept-Encoding: gzip`; the fetches decode the body), with nginx then serving the
 * playlist gzip'd at Motorcade's level beside it (`gzip_static`).
 *
 * With `--recordings N` the day is N recordings of one encoding with a 20 s hole after each (the
 * vehicle stopped N − 1 times): the playlist then plays them as one stretch, each hole as slate
 * (filler pieces under the recordings' init, made once by ffmpeg).
 *
 *   deno task bench:playlist [--segments 43200] [--recordings 1] [--requests 50] [--seconds 10]
 *     [--connections 16]
 */
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { supervise } from "./support/children.ts";
import { startNginx } from "./support/nginx.ts";
import { machineLine, ms, num, percentile, row, verdict } from "./support/report.ts";
import { INVALIDATE_HEADER, startBenchServer } from "./support/server.ts";
import { runWrk, type WrkResult } from "./support/wrk.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    segments: { type: "string", default: "43200" },
    recordings: { type: "string", default: "1" },
    requests: { type: "string", default: "50" },
    seconds: { type: "string", default: "10" },
    connections: { type: "string", default: "16" },
    threads: { type: "string", default: "2" },
  },
});
const machine = machineLine(); // before the run: the load average is that of the machine alone
const SEGMENTS = Number(values.segments);
const RECORDINGS = Number(values.recordings);
const HOLE_MS = 20_000;
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

const IDENTITY = { "accept-encoding": "identity" };
const GZIP = { "accept-encoding": "gzip" };

const wrk = (url: string, headers: Record<string, string> = IDENTITY): Promise<WrkResult> =>
  runWrk({
    url,
    connections: CONNECTIONS,
    threads: THREADS,
    seconds: SECONDS,
    headers: Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  });

/** Latency and requests/s of one way of serving, in one encoding. */
interface Served {
  sequential: Awaited<ReturnType<typeof sequential>>;
  wrk: WrkResult;
}

// Yesterday's recording, whole: the playlist is VOD (final) and cacheable.
const fromMs = Math.floor(Date.now() / DAY) * DAY - 2 * DAY;
const toMs = fromMs + SEGMENTS * SEGMENT_MS + (RECORDINGS - 1) * HOLE_MS;

const server = supervise(
  await startBenchServer({
    vehicles: 1,
    seed: {
      segments: SEGMENTS,
      durationMs: SEGMENT_MS,
      fromMs,
      recordingId: "r24h",
      recordings: RECORDINGS,
      holeMs: HOLE_MS,
    },
  }),
);
let text: string;
let motorcade: {
  uncached: Awaited<ReturnType<typeof sequential>>;
  uncachedGzip: Awaited<ReturnType<typeof sequential>>;
  cached: Served;
  cachedGzip: Served;
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
  const first = await fetch(link, { headers: { [INVALIDATE_HEADER]: cameraId, ...IDENTITY } });
  text = await first.text();
  // Media segments, not the slate pieces of the holes (their URIs are under `/gap/`).
  const listed = text.split("\n").filter((line) => /\/\d{10}\.m4s\?/.test(line)).length;
  if (first.status !== 200 || listed !== SEGMENTS) {
    throw new Error(`Playlist: ${first.status}, ${listed} of ${SEGMENTS} segments listed`);
  }
  const uncached = await sequential(link, { [INVALIDATE_HEADER]: cameraId, ...IDENTITY });
  const uncachedGzip = await sequential(link, { [INVALIDATE_HEADER]: cameraId, ...GZIP });
  await (await fetch(link, { headers: IDENTITY })).arrayBuffer(); // fills the cache
  const cached = { sequential: await sequential(link, IDENTITY), wrk: await wrk(link) };
  const cachedGzip = { sequential: await sequential(link, GZIP), wrk: await wrk(link, GZIP) };
  motorcade = { uncached, uncachedGzip, cached, cachedGzip };
} finally {
  await server.stop();
}

// The gzip'd copy at the level Motorcade compresses with (lib/playback/rendered_playlist.ts).
const gzipped = gzipSync(new TextEncoder().encode(text), { level: 1 });
await using nginx = supervise(
  await startNginx({
    files: { "index.m3u8": text, "index.m3u8.gz": gzipped },
    server: "    location / { gzip_static on; }",
  }),
);
const staticUrl = `${nginx.url}/index.m3u8`;
for (const headers of [IDENTITY, GZIP]) {
  const check = await fetch(staticUrl, { headers });
  if ((await check.text()) !== text) throw new Error("nginx served other bytes");
}
const baseline: Served = {
  sequential: await sequential(staticUrl, IDENTITY),
  wrk: await wrk(staticUrl),
};
const baselineGzip: Served = {
  sequential: await sequential(staticUrl, GZIP),
  wrk: await wrk(staticUrl, GZIP),
};

console.log(machine);
console.log(
  `playlist: ${SEGMENTS} segments (${(SEGMENTS * SEGMENT_MS / 3_600_000).toFixed(1)} h of one ` +
    `camera, ${
      RECORDINGS === 1 ? "one recording" : `${RECORDINGS} recordings with ${HOLE_MS / 1000} s holes`
    }), HLS VOD, ${(new TextEncoder().encode(text).byteLength / 1e6).toFixed(2)} MB, ` +
    `${text.split("\n").length} lines`,
);
console.log(
  `latency: ${REQUESTS} sequential fetches each (body read); throughput: wrk, ${THREADS} threads, ` +
    `${CONNECTIONS} connections, ${SECONDS} s`,
);
console.log(
  `uncached = the server drops the camera's playlist cache (playback.cache.invalidate) before ` +
    "each request; same signed URL (the catalog is read again; nothing changed, so nothing is " +
    "written again)",
);
console.log(
  `gzip = Accept-Encoding: gzip, ${(gzipped.byteLength / 1e6).toFixed(2)} MB on the wire ` +
    "(nginx: gzip_static of the same text at the same level)",
);
console.log(
  `${"".padEnd(36)} ${"p50".padStart(10)}   ${"p99".padStart(10)}   ${"req/s".padStart(8)}   ` +
    `${"MB/s".padStart(8)}`,
);
const mb = new TextEncoder().encode(text).byteLength / 1e6;
const served = (label: string, figures: Served) =>
  row(
    label,
    ms(figures.sequential.p50),
    ms(figures.sequential.p99),
    num(figures.wrk.rps),
    num(figures.wrk.rps * mb),
  );
const uncachedRow = (label: string, figures: Awaited<ReturnType<typeof sequential>>) =>
  row(
    label,
    ms(figures.p50),
    ms(figures.p99),
    `${num(figures.perSecond)} (one request at a time)`,
  );
served(`${nginx.version} static file`, baseline);
served("Motorcade cached", motorcade.cached);
uncachedRow("Motorcade uncached", motorcade.uncached);
served(`${nginx.version} gzip_static`, baselineGzip);
served("Motorcade cached, gzip", motorcade.cachedGzip);
uncachedRow("Motorcade uncached, gzip", motorcade.uncachedGzip);
const non2xx = (motorcade.cached.wrk.non2xx + motorcade.cachedGzip.wrk.non2xx) +
  (baseline.wrk.non2xx + baselineGzip.wrk.non2xx);
if (non2xx > 0) console.log(`non-2xx responses in the wrk runs: ${non2xx}`);
for (
  const [what, uncached, cached, nginxServed] of [
    ["", motorcade.uncached, motorcade.cached, baseline],
    [", gzip", motorcade.uncachedGzip, motorcade.cachedGzip, baselineGzip],
  ] as const
) {
  const ratio = cached.wrk.rps / nginxServed.wrk.rps;
  console.log(
    `uncached p50${what}: ${uncached.p50.toFixed(1)} ms (goal <= 20 ms: ${
      verdict(uncached.p50 <= 20)
    }); ${(uncached.p50 / nginxServed.sequential.p50).toFixed(1)}x nginx's p50`,
  );
  console.log(
    `cached requests/s vs nginx${what}: ${ratio.toFixed(2)} (goal >= 0.50: ${
      verdict(ratio >= 0.5)
    })`,
  );
}
