/**
 * The Motorcade server under benchmark, in its own process (`server_main.ts`): the real platform
 * and app served by `Deno.serve` on 127.0.0.1, set up with a fleet of enrolled vehicles and,
 * optionally, a long recording indexed straight into the catalog. The load generator never
 * shares its event loop. `await using server = await startBenchServer({ vehicles: 10 })`.
 * Set `BENCH_SERVER_FLAGS` to pass `deno run` flags to it (say `--cpu-prof` to profile it).
 */

/** What the server process sets up before it listens. */
export interface BenchServerSetup {
  /** Vehicles to register, each with one camera `front` and an enrolled device token. */
  vehicles: number;
  /** Listeners on the port (`INGEST_WORKERS`): the server's thread and N-1 ingest workers. */
  ingestWorkers?: number;
  /** Index this many segments of one recording of the first vehicle's camera, back to back. */
  seed?: {
    segments: number;
    durationMs: number;
    fromMs: number;
    recordingId: string;
    /** Recordings the segments are split into (default 1), with `holeMs` between them. */
    recordings?: number;
    holeMs?: number;
  };
}

/** A vehicle of the benchmark fleet. */
export interface BenchVehicle {
  vehicleId: string;
  cameraId: string;
  /** Device token (Bearer) for ingest. */
  token: string;
}

/** What the server process reports once listening. */
export interface BenchServerInfo {
  url: string;
  fleetId: string;
  vehicles: BenchVehicle[];
  /** Access token of the platform owner (for POST …/links). */
  ownerToken: string;
  setupMs: number;
}

/** Segments the indexer has indexed, as counted by the server's `onIndexed` hook. */
export interface IndexedCount {
  segments: number;
  /** Wall-clock time (ms, fractional) of the last indexed batch; 0 before any. */
  lastAt: number;
}

/** A running benchmark server. */
export interface BenchServer extends AsyncDisposable, BenchServerInfo {
  indexed(): Promise<IndexedCount>;
  /** When each segment was indexed (wall-clock ms), by `${recordingId}/${sequence}`. */
  indexedLog(): Promise<Record<string, number>>;
  /** Segments of every vehicle's camera as the catalog holds them (exact, de-duplicated). */
  catalogSegments(): Promise<number>;
  stop(): Promise<void>;
}

/** Header that makes the server drop a camera's cached playlists before handling the request. */
export const INVALIDATE_HEADER = "x-bench-invalidate";

const MAIN = new URL("./server_main.ts", import.meta.url).pathname;
/** Extra `deno run` flags for the server process, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`. */
const FLAGS = Deno.env.get("BENCH_SERVER_FLAGS")?.split(" ").filter(Boolean) ?? [];

/** Starts `server_main.ts` with `setup` and waits until it listens (bounded by `timeoutMs`). */
export async function startBenchServer(
  setup: BenchServerSetup,
  timeoutMs = 120_000,
): Promise<BenchServer> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...FLAGS, MAIN, JSON.stringify(setup)],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const readReady = async (): Promise<BenchServerInfo> => {
    while (true) {
      const newline = buffer.indexOf("\n");
      if (newline >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (line.startsWith("{")) return JSON.parse(line);
        continue;
      }
      const { value, done } = await lines.read();
      if (done) throw new Error("Benchmark server exited before listening");
      buffer += value;
    }
  };
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      await child.stdin.close().catch(() => {}); // the server stops when its stdin ends
      const forced = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }, 30_000);
      await child.status;
      clearTimeout(forced);
      await lines.cancel().catch(() => {});
    })();
    return stopped;
  };
  let info: BenchServerInfo;
  try {
    info = await Promise.race([
      readReady(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`Benchmark server did not listen within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]).finally(() => clearTimeout(timer));
  } catch (error) {
    await stop();
    throw error;
  }
  void (async () => { // keep draining stdout so the server never blocks on it
    while (!(await lines.read().catch(() => ({ done: true }))).done) { /* discard */ }
  })();
  const get = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${info.url}${path}`);
    if (!response.ok) throw new Error(`${path} answered ${response.status}`);
    return await response.json();
  };
  return {
    ...info,
    indexed: () => get<IndexedCount>("/bench/indexed"),
    indexedLog: () => get<Record<string, number>>("/bench/indexed-log"),
    catalogSegments: async () => (await get<{ segments: number }>("/bench/catalog")).segments,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
