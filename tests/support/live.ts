/**
 * The live tests' harness: they run inside the private network namespace `scripts/netns.sh`
 * creates (the test task runs the whole suite there), where 127.0.0.2 sits on a non-loopback
 * device so that Janus gathers an ICE candidate on it. This module starts Janus for a test and
 * checks that the namespace is there.
 */
import { JanusSupervisor } from "../../lib/janus/mod.ts";
import { createLogger, type Logger } from "../../lib/log/mod.ts";
import { freePort } from "./server.ts";

/** The address media flows on inside the test namespace. */
export const LIVE_ADDRESS = "127.0.0.2";

/** True when this process runs inside the test namespace (127.0.0.2 on a device). */
export function inLiveNamespace(): boolean {
  try {
    return Deno.networkInterfaces().some((i) => i.address === LIVE_ADDRESS);
  } catch {
    return false;
  }
}

/** Throws a clear error when the live namespace is missing. */
export function requireLiveNamespace(): void {
  if (!inLiveNamespace()) {
    throw new Error(
      `Live tests need ${LIVE_ADDRESS} on a non-loopback device: run them through ` +
        "`deno task test`, or `bash scripts/netns.sh deno test --allow-all <files>`",
    );
  }
}

/** A Janus started for one test. */
export interface TestJanus extends AsyncDisposable {
  supervisor: JanusSupervisor;
  wsUrl: string;
  adminUrl: string;
  apiSecret: string;
  adminSecret: string;
  dir: string;
}

/** Starts Janus with its own config folder and free ports, gathering ICE on 127.0.0.2. */
export async function startJanus(
  options: { logger?: Logger; rtpPortRange?: [number, number] } = {},
): Promise<TestJanus> {
  requireLiveNamespace();
  const dir = await Deno.makeTempDir({ prefix: "motorcade-janus-" });
  const apiSecret = crypto.randomUUID();
  const adminSecret = crypto.randomUUID();
  const httpPort = freePort(2); // the HTTP transport and, on the next port, the Admin API
  const supervisor = new JanusSupervisor({
    dir,
    executable: "janus",
    logger: options.logger ?? createLogger("error"),
    wsPort: freePort(),
    httpPort,
    apiSecret,
    adminSecret,
    rtpPortRange: options.rtpPortRange ?? [20_000, 40_000],
    iceEnforceList: LIVE_ADDRESS,
    debugLevel: 3,
    libDir: "/usr/lib/x86_64-linux-gnu/janus",
  });
  await supervisor.start();
  return {
    supervisor,
    wsUrl: supervisor.wsUrl,
    adminUrl: supervisor.adminUrl,
    apiSecret,
    adminSecret,
    dir,
    async [Symbol.asyncDispose]() {
      await supervisor.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** Environment of a server whose Janus gathers ICE on 127.0.0.2, with a small, cheap ladder. */
export function liveServerEnv(options: { ladder?: string; graceSeconds?: number } = {}) {
  const janusPort = freePort(3); // WebSocket, HTTP and Admin transports, see lib/live/setup.ts
  return {
    LIVE: "on",
    JANUS_PORT: String(janusPort),
    JANUS_ICE_ENFORCE_LIST: LIVE_ADDRESS,
    JANUS_RTP_PORT_RANGE: "30000-39999",
    LIVE_LADDER: options.ladder ?? "120:150k,180:300k,240:600k",
    LIVE_IDLE_GRACE: `${options.graceSeconds ?? 3}s`,
  };
}

/** A signaling WebSocket client: authenticates, then hands out messages by type. */
export class SignalingClient {
  readonly messages: Array<Record<string, unknown>> = [];
  /** The answer to authentication (`ready`, or an `error`). */
  ready: Record<string, unknown> | null = null;
  #waiters: Array<() => void> = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly socket: WebSocket) {
    socket.onmessage = (event) => {
      this.messages.push(JSON.parse(String(event.data)));
      for (const wake of this.#waiters.splice(0)) wake();
    };
    this.closed = new Promise((resolve) => {
      socket.onclose = (event) => {
        resolve({ code: event.code, reason: event.reason });
        for (const wake of this.#waiters.splice(0)) wake();
      };
    });
  }

  /** Connects to `server` and, with `token`, authenticates (waiting for `ready`). */
  static async connect(server: string, token?: string): Promise<SignalingClient> {
    const url = server.replace(/^http/, "ws") + "/api/v1/live/ws";
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket.onopen = () => resolve();
      socket.onerror = () => reject(new Error(`Cannot connect to ${url}`));
    });
    const client = new SignalingClient(socket);
    if (token) {
      client.send({ type: "auth", token });
      client.ready = await client.next((m) => m.type === "ready" || m.type === "error");
    }
    return client;
  }

  send(message: unknown): void {
    this.socket.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  /** The first message (from now on, or already received when `seen`) matching `predicate`. */
  next(
    predicate: (m: Record<string, unknown>) => boolean,
    timeoutMs = 20_000,
  ): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    let done = false;
    return new Promise((resolve, reject) => {
      const check = () => {
        if (done) return;
        for (let index = 0; index < this.messages.length; index++) {
          const message = this.messages[index];
          if (predicate(message)) {
            done = true;
            this.messages.splice(index, 1);
            return resolve(message);
          }
        }
        if (Date.now() > deadline) {
          done = true;
          return reject(
            new Error(`No matching message; got ${JSON.stringify(this.messages).slice(0, 800)}`),
          );
        }
        this.#waiters.push(check);
        setTimeout(check, Math.max(0, Math.min(500, deadline - Date.now() + 1)));
      };
      check();
    });
  }

  close(): void {
    try {
      this.socket.close();
    } catch {
      // closed
    }
  }
}

/** A server with live streaming on, fleet "Acme" with vehicle "bus-1", and its agent publishing. */
export interface LiveVehicle extends AsyncDisposable {
  server: import("./server.ts").TestServer;
  vehicle: import("./fleet_api.ts").VehicleOnServer;
  agent: import("./agent.ts").TestAgent;
  spoolDir: string;
}

/** Small, cheap video for live tests: 320x240 at 10 fps, 300 kbit/s. */
export const SMALL_VIDEO = ["--video-size", "320x240", "--fps", "10", "--bitrate", "300k"];

/**
 * Starts a live server (`env` over {@linkcode liveServerEnv}), sets up a vehicle with `cameras`,
 * and runs its agent with live on (testsrc cameras, {@linkcode SMALL_VIDEO} unless `args` say
 * otherwise); `await using` stops everything.
 */
export async function startLiveVehicle(options: {
  env?: Record<string, string>;
  cameras?: string[];
  args?: string[];
} = {}): Promise<LiveVehicle> {
  requireLiveNamespace();
  const { startServer } = await import("./server.ts");
  const { setUpVehicle } = await import("./fleet_api.ts");
  const { startAgent } = await import("./agent.ts");
  const server = await startServer({ ...liveServerEnv(), ...options.env });
  const cameras = options.cameras ?? ["front"];
  const vehicle = await setUpVehicle(server.url, cameras);
  const spoolDir = await Deno.makeTempDir({ prefix: "motorcade-spool-" });
  const agent = startAgent({
    server: server.url,
    stateDir: vehicle.stateDir,
    spoolDir,
    cameras: Object.fromEntries(cameras.map((name) => [name, "testsrc"])),
    live: true,
    args: options.args ?? SMALL_VIDEO,
  });
  return {
    server,
    vehicle,
    agent,
    spoolDir,
    async [Symbol.asyncDispose]() {
      await agent.stop();
      await server[Symbol.asyncDispose]();
      await Deno.remove(spoolDir, { recursive: true }).catch(() => {});
    },
  };
}
