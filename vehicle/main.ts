/**
 * The vehicle agent: `deno task vehicle <command>`.
 *
 *   enrol --server URL --code CODE [--state DIR]   bind this vehicle to its device credential
 *   whoami [--state DIR]                           show the vehicle and cameras the server knows
 *   record [--config FILE] [flags]                 capture, spool and upload until SIGTERM
 *   event --kind KIND [--at TIME] [--metadata JSON] [--state DIR]
 *                                                  raise an event (sent by the running agent)
 */
import { parseArgs } from "node:util";
import { createLogger } from "../lib/log/mod.ts";
import { Agent } from "./agent.ts";
import { AgentConfigError, type AgentFlags, loadAgentConfig } from "./config.ts";
import { queueEvent } from "./events.ts";
import { DeviceAuthError, DeviceTokens, enrol, loadDeviceState } from "./identity.ts";

const USAGE = `usage: vehicle enrol --server URL --code CODE [--state DIR]
       vehicle whoami [--state DIR]
       vehicle event --kind KIND [--at RFC3339] [--metadata JSON] [--state DIR]
       vehicle record [--config FILE] [--state DIR] [--spool DIR] [--server URL]
                      [--camera NAME=SOURCE]... [--segment-seconds N] [--video-size WxH]
                      [--fps N] [--bitrate RATE] [--disk-budget BYTES] [--upload-rate BYTES]
                      [--upload-concurrency N] [--retry-max-seconds N]
                      [--drain-order oldest|newest]
                      [--heartbeat-seconds N] [--clock-jump-seconds N] [--reanchor-seconds N]
                      [--stop-drain-seconds N] [--log-level debug|info|warn|error]
                      [--events-port PORT]
                      [--live on|off] [--live-layers 1|3] [--live-warm on|off]
                      [--ice-host ADDRESS[,ADDRESS]] [--passthrough on|off|auto]
  SOURCE: testsrc | file:PATH | v4l2:/dev/videoN | rtsp://… | http(s)://…`;

/** An environment variable, or undefined when unset or not permitted (no prompt). */
function env(name: string): string | undefined {
  if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
    return undefined;
  }
  return Deno.env.get(name);
}

const RECORD_FLAGS = [
  "spool",
  "segment-seconds",
  "video-size",
  "fps",
  "bitrate",
  "disk-budget",
  "upload-rate",
  "upload-concurrency",
  "retry-max-seconds",
  "drain-order",
  "heartbeat-seconds",
  "clock-jump-seconds",
  "reanchor-seconds",
  "stop-drain-seconds",
  "events-port",
  "log-level",
  "live",
  "ice-host",
  "live-layers",
  "live-warm",
  "passthrough",
] as const;

/** `vehicle record`: runs the agent until SIGTERM or SIGINT. */
async function record(values: Record<string, unknown>, stateGiven: boolean): Promise<number> {
  const flags: AgentFlags = {};
  for (const name of RECORD_FLAGS) {
    if (typeof values[name] === "string") flags[name] = values[name] as string;
  }
  if (typeof values.server === "string") flags.server = values.server;
  if (stateGiven) flags.state = values.state as string;
  if (Array.isArray(values.camera)) flags.camera = values.camera as string[];
  const stateDefault = env("VEHICLE_STATE_DIR") ?? "./vehicle-state";
  let config;
  try {
    config = await loadAgentConfig(values.config as string | undefined, flags, stateDefault);
  } catch (error) {
    if (error instanceof AgentConfigError) {
      console.error(`error: ${error.message}`);
      return 2;
    }
    throw error;
  }
  const logger = createLogger(config.logLevel, undefined, { service: "vehicle" });
  const agent = new Agent({ config, logger });
  if (config.live) {
    // Recording comes first: an error escaping the WebRTC stack (werift's timers and sockets) is
    // logged, and the live link recovers by re-publishing, instead of killing the whole agent.
    const keepRecording = (event: Event & { preventDefault(): void }, error: unknown) => {
      event.preventDefault();
      logger.error("uncaught error in live publishing; recording continues", { error });
    };
    globalThis.addEventListener("error", (e) => keepRecording(e, (e as ErrorEvent).error));
    globalThis.addEventListener(
      "unhandledrejection",
      (e) => keepRecording(e, (e as PromiseRejectionEvent).reason),
    );
  }
  let signals = 0;
  const stopped = new Promise<void>((resolve) => {
    const onSignal = (signal: Deno.Signal) => () => {
      if (++signals > 1) {
        logger.warn("second signal: exiting at once", { signal });
        Deno.exit(130);
      }
      logger.info("signal received; stopping", { signal });
      agent.close().then(resolve);
    };
    Deno.addSignalListener("SIGTERM", onSignal("SIGTERM"));
    Deno.addSignalListener("SIGINT", onSignal("SIGINT"));
  });
  try {
    await agent.start();
  } catch (error) {
    await agent.close();
    if (error instanceof DeviceAuthError) throw error;
    logger.error("agent cannot start", { error });
    return 1;
  }
  await stopped;
  return 0;
}

/**
 * `vehicle event`: writes an event into the state dir's outbox, which the running agent (or the
 * next one started) sends; works offline and with the agent stopped.
 */
async function raiseEvent(values: Record<string, unknown>): Promise<number> {
  const kind = values.kind as string | undefined;
  if (!kind) {
    console.error(`error: event needs --kind\n${USAGE}`);
    return 2;
  }
  let at: Date | undefined;
  if (typeof values.at === "string") {
    at = new Date(values.at);
    if (Number.isNaN(at.getTime())) {
      console.error(`error: --at must be an RFC 3339 time, got "${values.at}"`);
      return 2;
    }
  }
  let metadata: Record<string, unknown> | undefined;
  if (typeof values.metadata === "string") {
    try {
      metadata = JSON.parse(values.metadata);
    } catch {
      metadata = undefined;
    }
    if (!metadata || typeof metadata !== "object" || Array.isArray(metadata)) {
      console.error(`error: --metadata must be a JSON object, got '${values.metadata}'`);
      return 2;
    }
  }
  try {
    const event = await queueEvent(`${values.state}/events`, { kind, at, metadata });
    console.log(`queued: event ${event.id} (${event.kind} at ${event.at})`);
    return 0;
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    console.error(`error: ${error.message}`);
    return 2;
  }
}

async function run(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        server: { type: "string" },
        code: { type: "string" },
        state: { type: "string" },
        config: { type: "string" },
        camera: { type: "string", multiple: true },
        kind: { type: "string" },
        at: { type: "string" },
        metadata: { type: "string" },
        ...Object.fromEntries(RECORD_FLAGS.map((name) => [name, { type: "string" as const }])),
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    console.error(`error: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const stateGiven = values.state !== undefined;
  values.state ??= env("VEHICLE_STATE_DIR") ?? "./vehicle-state";
  const command = positionals[0];
  if (values.help || !command) {
    (values.help ? console.log : console.error)(USAGE);
    return values.help ? 0 : 2;
  }
  try {
    if (command === "enrol") {
      if (!values.server || !values.code) {
        console.error(`error: enrol needs --server and --code\n${USAGE}`);
        return 2;
      }
      const state = await enrol(values.server, values.code, values.state);
      console.log(`enrolled: vehicle ${state.vehicleId} (credential ${state.credentialId})`);
      return 0;
    }
    if (command === "whoami") {
      const tokens = new DeviceTokens(await loadDeviceState(values.state));
      const response = await fetch(`${tokens.state.serverUrl}/api/v1/device/vehicle`, {
        headers: { authorization: `Bearer ${await tokens.token()}` },
      });
      const body = await response.json();
      if (!response.ok) throw new DeviceAuthError(body.detail ?? response.statusText, 0);
      console.log(JSON.stringify(body, null, 2));
      return 0;
    }
    if (command === "record") return await record(values, stateGiven);
    if (command === "event") return await raiseEvent(values);
    console.error(`error: unknown command "${command}"\n${USAGE}`);
    return 2;
  } catch (error) {
    if (error instanceof DeviceAuthError) {
      console.error(`error: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

if (import.meta.main) Deno.exit(await run(Deno.args));
