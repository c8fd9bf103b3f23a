/** wrk as the load generator: its own process, so it never shares a server's event loop. */

/** Options of {@linkcode runWrk}. */
export interface WrkOptions {
  url: string;
  connections: number;
  threads: number;
  seconds: number;
  headers?: string[];
  /** A Lua script and the arguments after `--`. */
  script?: { path: string; args: string[] };
  /** Per-request timeout; default 30 s so slow uploads count as slow, not as errors. */
  timeoutSeconds?: number;
}

/** What wrk reported. */
export interface WrkResult {
  /** Completed requests (any status). */
  requests: number;
  /** Wall time wrk measured over, in seconds. */
  seconds: number;
  rps: number;
  non2xx: number;
  socketErrors: number;
  p50: number;
  p99: number;
  output: string;
}

/** Runs wrk once with `--latency` and parses its summary. */
export async function runWrk(options: WrkOptions): Promise<WrkResult> {
  const args = [
    "-t",
    String(options.threads),
    "-c",
    String(options.connections),
    "-d",
    `${options.seconds}s`,
    "--timeout",
    `${options.timeoutSeconds ?? 30}s`,
    "--latency",
  ];
  for (const header of options.headers ?? []) args.push("-H", header);
  if (options.script) args.push("-s", options.script.path);
  args.push(options.url);
  if (options.script) args.push("--", ...options.script.args);
  const output = await new Deno.Command("wrk", { args, stdout: "piped", stderr: "piped" })
    .output()
    .catch(() => {
      throw new Error("wrk is not installed: apt-get install -y wrk");
    });
  const text = new TextDecoder().decode(output.stdout);
  if (!output.success) {
    throw new Error(`wrk failed: ${text}${new TextDecoder().decode(output.stderr)}`);
  }
  const summary = /(\d+) requests in ([\d.]+)(ms|s|m)/.exec(text);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const percentile = (p: string) => {
    // wrk pads a one-letter unit ("1.02s ") with a space.
    const match = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m").exec(text);
    return match ? toMs(Number(match[1]), match[2]) : NaN;
  };
  return {
    requests: Number(summary?.[1] ?? 0),
    seconds: summary ? toMs(Number(summary[2]), summary[3]) / 1000 : NaN,
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1]),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0),
    socketErrors: socket ? socket.slice(1).reduce((n, v) => n + Number(v), 0) : 0,
    p50: percentile("50"),
    p99: percentile("99"),
    output: text,
  };
}

function toMs(value: number, unit: string): number {
  return unit === "us"
    ? value / 1000
    : unit === "s"
    ? value * 1000
    : unit === "m"
    ? value * 60_000
    : value;
}
