/**
 * Runs the real vehicle agent (`vehicle/main.ts record`) as a child process with the narrow
 * permissions it has on a vehicle, and always stops it.
 */
import { followChild } from "./child.ts";

/** A running agent. */
export interface TestAgent extends AsyncDisposable {
  logs: string[];
  /** Sends `signal` (SIGTERM drains and exits cleanly; SIGKILL is a crash) and waits. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

const MAIN = new URL("../../vehicle/main.ts", import.meta.url).pathname;

/** Starts the agent recording `cameras` (name → source, e.g. `testsrc`) to `server`. */
export function startAgent(options: {
  server: string;
  stateDir: string;
  spoolDir: string;
  cameras: Record<string, string>;
  args?: string[];
  /** Publish live on demand (ICE on the test namespace's 127.0.0.2); off by default. */
  live?: boolean;
  /** Extra environment, e.g. libfaketime's `LD_PRELOAD` and `FAKETIME` for a wrong clock. */
  env?: Record<string, string>;
}): TestAgent {
  const host = new URL(options.server).host;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      // Live mode talks UDP to wherever ICE leads (Janus, TURN): it needs the network at large.
      options.live ? "--allow-net" : `--allow-net=${host}`,
      `--allow-read=${options.stateDir},${options.spoolDir},/usr/share/fonts`,
      `--allow-write=${options.stateDir},${options.spoolDir}`,
      // Deno lets a child inherit LD_PRELOAD (libfaketime) only with --allow-run for everything.
      options.env?.LD_PRELOAD ? "--allow-run" : "--allow-run=ffmpeg",
      "--allow-env",
      // werift enumerates interfaces for host candidates.
      ...(options.live ? ["--allow-sys=networkInterfaces"] : []),
      MAIN,
      "record",
      "--server",
      options.server,
      "--state",
      options.stateDir,
      "--spool",
      options.spoolDir,
      ...Object.entries(options.cameras).flatMap(([name, source]) => [
        "--camera",
        `${name}=${source}`,
      ]),
      ...(options.live ? ["--live", "on", "--ice-host", "127.0.0.2"] : ["--live", "off"]),
      ...(options.args ?? []),
    ],
    env: options.env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const logs: string[] = [];
  const stop = followChild(child, (line) => {
    logs.push(line);
    if (logs.length > 5000) logs.splice(0, logs.length - 5000);
  });
  return { logs, stop, [Symbol.asyncDispose]: async () => void await stop() };
}
