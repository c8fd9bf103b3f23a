/**
 * The real server (`main.ts`, so its connection policy too) in its own process for the soak
 * benchmark, with its process id for `/proc` readings, and a fleet set up through the API: a
 * viewer, one vehicle with a camera and an enrolled device token.
 * `await using server = await startSoakServer()`.
 */
import { enrolDevice } from "../../tests/support/device.ts";
import type { TestPlatform } from "../../tests/support/platform.ts";
import { freePort } from "./net.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const OWNER = { email: "owner@soak.test", password: "owner-password-1" };
/** The normal viewer's account; the sign-in flood guesses its password. */
export const SOAK_VIEWER = { email: "viewer@soak.test", password: "viewer-password-1" };

/** A running soak server, set up. */
export interface SoakServer extends AsyncDisposable {
  url: string;
  port: number;
  pid: number;
  /** The server's log (one JSON line per request), for a look after the run. */
  logFile: string;
  fleetId: string;
  vehicleId: string;
  cameraId: string;
  ownerToken: string;
  viewerToken: string;
  deviceToken: string;
  /** Whether the process is still running. */
  alive(): boolean;
  stop(): Promise<void>;
}

/** Resident memory (bytes), open file descriptors and CPU time used of a process, from `/proc`. */
export interface ProcessReading {
  rssBytes: number;
  openFiles: number;
  /** User and system CPU time used so far, seconds. */
  cpuSeconds: number;
}

/** Clock ticks per second of `/proc/<pid>/stat` times (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/**
 * Reads `VmRSS` of `/proc/<pid>/status`, counts `/proc/<pid>/fd` and adds utime and stime of
 * `/proc/<pid>/stat`; undefined once the process is gone.
 */
export function readProcess(pid: number): ProcessReading | undefined {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const rssKb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
    let openFiles = 0;
    for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) openFiles++;
    // Fields after the command name (which may hold spaces) start at the state, field 3.
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]); // utime (14) and stime (15)
    return { rssBytes: rssKb * 1024, openFiles, cpuSeconds: ticks / TICKS_PER_SECOND };
  } catch {
    return undefined;
  }
}

/** Starts `main.ts` on a free port with `env` added, waits for `/healthz`, sets up the fleet. */
export async function startSoakServer(env: Record<string, string> = {}): Promise<SoakServer> {
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const dataDir = await Deno.makeTempDir({ prefix: "motorcade-soak-" });
  const logFile = `${dataDir}.log`;
  // `exec` keeps the process id: the shell becomes the server, its output goes to the log file.
  const child = new Deno.Command("bash", {
    args: ["-c", `exec "$0" run -A "$1" >"$2" 2>&1`, Deno.execPath(), MAIN, logFile],
    env: {
      PORT: String(port),
      HOST: "127.0.0.1",
      PUBLIC_URL: url,
      DATA_DIR: dataDir,
      MOTORCADE_ADMIN_EMAIL: OWNER.email,
      MOTORCADE_ADMIN_PASSWORD: OWNER.password,
      ACCESS_TOKEN_TTL: "1h",
      DEVICE_TOKEN_TTL: "1h",
      ...env,
    },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let exited = false;
  child.status.then(() => exited = true);
  const stop = async () => {
    if (!exited) {
      child.kill("SIGTERM");
      const forced = setTimeout(() => !exited && child.kill("SIGKILL"), 20_000);
      await child.status;
      clearTimeout(forced);
    }
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  };
  try {
    const deadline = Date.now() + 60_000;
    while (true) {
      if (exited) throw new Error(`Server exited before answering; see ${logFile}`);
      if (Date.now() > deadline) {
        throw new Error(`Server did not answer within 60 s; see ${logFile}`);
      }
      const healthy = await fetch(`${url}/healthz`).then(async (r) => {
        await r.body?.cancel();
        return r.ok;
      }).catch(() => false);
      if (healthy) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const setup = await setUp(url);
    return {
      url,
      port,
      pid: child.pid,
      logFile,
      ...setup,
      alive: () => !exited,
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Calls the API as a client does: JSON in, JSON out, a bearer token. */
async function call(
  url: string,
  method: string,
  path: string,
  options: { token?: string; json?: unknown } = {},
): Promise<Response> {
  const headers = new Headers();
  if (options.token) headers.set("authorization", `Bearer ${options.token}`);
  if (options.json !== undefined) headers.set("content-type", "application/json");
  return await fetch(`${url}${path}`, {
    method,
    headers,
    body: options.json === undefined ? undefined : JSON.stringify(options.json),
  });
}

async function json<T>(response: Response, what: string): Promise<T> {
  if (!response.ok) throw new Error(`${what}: ${response.status} ${await response.text()}`);
  return await response.json();
}

async function setUp(url: string) {
  const signIn = (who: { email: string; password: string }) =>
    call(url, "POST", "/api/v1/auth/login", { json: who }).then((r) =>
      json<{ accessToken: string }>(r, `sign-in of ${who.email}`)
    );
  const ownerToken = (await signIn(OWNER)).accessToken;
  const token = ownerToken;
  const fleet = await json<{ id: string }>(
    await call(url, "POST", "/api/v1/fleets", { token, json: { name: "Soak" } }),
    "create fleet",
  );
  const fleets = `/api/v1/fleets/${fleet.id}`;
  await json(
    await call(url, "POST", `${fleets}/users`, {
      token,
      json: { ...SOAK_VIEWER, role: "viewer" },
    }),
    "create viewer",
  );
  const { vehicle, enrolment } = await json<
    { vehicle: { id: string }; enrolment: { code: string } }
  >(
    await call(url, "POST", `${fleets}/vehicles`, { token, json: { name: "bus-1" } }),
    "register vehicle",
  );
  const camera = await json<{ id: string }>(
    await call(url, "POST", `${fleets}/vehicles/${vehicle.id}/cameras`, {
      token,
      json: { name: "front" },
    }),
    "add camera",
  );
  // enrolDevice only needs `call`: give it one over HTTP.
  const client = {
    call: (method: string, path: string, options?: { json?: unknown }) =>
      call(url, method, path, options),
  } as unknown as TestPlatform;
  const device = await enrolDevice(client, enrolment.code);
  return {
    fleetId: fleet.id,
    vehicleId: vehicle.id,
    cameraId: camera.id,
    ownerToken,
    viewerToken: (await signIn(SOAK_VIEWER)).accessToken,
    deviceToken: device.token,
  };
}
