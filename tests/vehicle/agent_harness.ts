/**
 * Runs the vehicle agent as a child process under `deno run` with the narrow permissions a
 * vehicle gives it, and reads what it left in its spool and what reached the server.
 */
import { followChild } from "../support/child.ts";
import { setUpVehicle, type VehicleOnServer } from "../support/fleet_api.ts";

const MAIN = new URL("../../vehicle/main.ts", import.meta.url).pathname;

/** A running agent process. */
export interface AgentProcess extends AsyncDisposable {
  /** Every JSON log record so far. */
  records: Array<Record<string, unknown>>;
  /** Raw output lines. */
  lines: string[];
  pid: number;
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
  /** Resolves once a log record matches, or rejects after `timeoutMs`. */
  waitForLog(
    test: (record: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
}

/** Folders and configuration of a test vehicle. */
export interface TestVehicle {
  vehicle: VehicleOnServer;
  stateDir: string;
  spoolDir: string;
  configPath: string;
  /** `host:port` the agent may reach. */
  serverHost: string;
}

/**
 * Registers and enrols a vehicle on `serverUrl` (in fleet `names.fleet`, named `names.vehicle`,
 * for a second vehicle on one server), and writes an agent configuration for it.
 */
export async function makeTestVehicle(
  serverUrl: string,
  cameras: string[],
  config: Record<string, unknown> = {},
  names: { fleet?: string; vehicle?: string } = {},
): Promise<TestVehicle> {
  const vehicle = await setUpVehicle(serverUrl, cameras, names);
  const stateDir = vehicle.stateDir;
  const spoolDir = await Deno.makeTempDir({ prefix: "motorcade-spool-" });
  const configPath = `${stateDir}/agent.json`;
  await Deno.writeTextFile(
    configPath,
    JSON.stringify({
      stateDir,
      spoolDir,
      cameras: cameras.map((name) => ({ name, source: "testsrc" })),
      video: { size: "320x180", fps: 25, bitrate: "300k" },
      segmentSeconds: 2,
      heartbeatSeconds: 2,
      logLevel: "debug",
      ...config,
    }),
  );
  return { vehicle, stateDir, spoolDir, configPath, serverHost: new URL(serverUrl).host };
}

/** Removes a test vehicle's folders. */
export async function removeTestVehicle(vehicle: TestVehicle): Promise<void> {
  await Deno.remove(vehicle.stateDir, { recursive: true }).catch(() => {});
  await Deno.remove(vehicle.spoolDir, { recursive: true }).catch(() => {});
}

/** The narrow command line a vehicle runs the agent with (`denoFlags` go before the script). */
export function agentArgs(
  vehicle: TestVehicle,
  extra: string[] = [],
  denoFlags: string[] = [],
): string[] {
  return [
    "run",
    ...denoFlags,
    `--allow-net=${vehicle.serverHost}`,
    `--allow-read=${vehicle.stateDir},${vehicle.spoolDir}`,
    `--allow-write=${vehicle.stateDir},${vehicle.spoolDir}`,
    "--allow-run=ffmpeg",
    MAIN,
    "record",
    "--config",
    vehicle.configPath,
    "--live",
    "off",
    ...extra,
  ];
}

/** Starts `vehicle/main.ts record` for `vehicle`. */
export function startAgent(
  vehicle: TestVehicle,
  extra: string[] = [],
  denoFlags: string[] = [],
): AgentProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args: agentArgs(vehicle, extra, denoFlags),
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const records: Array<Record<string, unknown>> = [];
  const lines: string[] = [];
  const watchers = new Set<() => void>();
  const stop = followChild(child, (line) => {
    lines.push(line);
    try {
      records.push(JSON.parse(line));
    } catch { /* not a log record */ }
    for (const watcher of watchers) watcher();
  });
  return {
    records,
    lines,
    pid: child.pid,
    stop,
    waitForLog(test, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = records.find(test);
          if (found) {
            cleanup();
            resolve(found);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`No matching agent log within ${timeoutMs} ms:\n${lines.join("\n")}`));
        }, timeoutMs);
        const exited = child.status.then(() => {
          setTimeout(() => {
            if (!watchers.has(check)) return;
            cleanup();
            reject(new Error(`Agent exited:\n${lines.join("\n")}`));
          }, 200);
        });
        const cleanup = () => {
          clearTimeout(timer);
          watchers.delete(check);
          void exited;
        };
        watchers.add(check);
        check();
      });
    },
    async [Symbol.asyncDispose]() {
      await stop("SIGKILL");
    },
  };
}

/** What a spool's queue holds for one recording. */
export interface QueuedRecording {
  init: boolean;
  sequences: number[];
  end: boolean;
}

/** The queue of a spool: camera → recording → what is queued. */
export async function readQueue(
  spoolDir: string,
): Promise<Map<string, Map<string, QueuedRecording>>> {
  const result = new Map<string, Map<string, QueuedRecording>>();
  const root = `${spoolDir}/queue`;
  for await (const camera of Deno.readDir(root)) {
    const recordings = new Map<string, QueuedRecording>();
    for await (const recording of Deno.readDir(`${root}/${camera.name}`)) {
      const queued: QueuedRecording = { init: false, sequences: [], end: false };
      for await (const file of Deno.readDir(`${root}/${camera.name}/${recording.name}`)) {
        if (file.name === "init.mp4.json") queued.init = true;
        if (file.name === "end.json") queued.end = true;
        const match = /^(\d{10})\.m4s\.json$/.exec(file.name);
        if (match) queued.sequences.push(Number(match[1]));
      }
      queued.sequences.sort((a, b) => a - b);
      recordings.set(recording.name, queued);
    }
    result.set(camera.name, recordings);
  }
  return result;
}

/** Media files of a queue or capture folder that have no sidecar (there should be none). */
export async function countFiles(dir: string, pattern: RegExp): Promise<number> {
  let count = 0;
  try {
    for await (const item of Deno.readDir(dir)) {
      if (item.isDirectory) count += await countFiles(`${dir}/${item.name}`, pattern);
      else if (pattern.test(item.name)) count++;
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return count;
}

/** What the server stored for a camera: recording id → sorted sequences, and whether init is there. */
export async function storedOnServer(
  dataDir: string,
  vehicle: VehicleOnServer,
  camera: string,
): Promise<Map<string, { init: boolean; sequences: number[] }>> {
  const dir = `${dataDir}/objects/fleets/${vehicle.fleetId}/vehicles/${vehicle.vehicleId}/cameras/${
    vehicle.cameras[camera]
  }`;
  const result = new Map<string, { init: boolean; sequences: number[] }>();
  try {
    for await (const recording of Deno.readDir(dir)) {
      if (!recording.isDirectory) continue;
      const stored = { init: false, sequences: [] as number[] };
      for await (const file of Deno.readDir(`${dir}/${recording.name}`)) {
        if (file.name === "init.mp4") stored.init = true;
        const match = /^(\d{10})\.m4s$/.exec(file.name);
        if (match) stored.sequences.push(Number(match[1]));
      }
      stored.sequences.sort((a, b) => a - b);
      result.set(recording.name, stored);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return result;
}

/** Recordings of a camera as the server's API lists them. */
export async function recordingsOnServer(
  serverUrl: string,
  vehicle: VehicleOnServer,
  camera: string,
): Promise<Array<{ id: string; segmentCount: number; closedAt: string | null }>> {
  const response = await fetch(
    `${serverUrl}/api/v1/fleets/${vehicle.fleetId}/vehicles/${vehicle.vehicleId}/cameras/${
      vehicle.cameras[camera]
    }/recordings`,
    { headers: { authorization: `Bearer ${vehicle.ownerToken}` } },
  );
  const body = await response.json();
  if (!response.ok) throw new Error(`recordings: ${response.status} ${JSON.stringify(body)}`);
  return body.recordings;
}

/** Polls `check` every 200 ms until it returns true, or fails after `timeoutMs`. */
export async function eventually(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
