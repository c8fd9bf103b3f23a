/**
 * Starts the real server (`main.ts`) as a child process on a free port, waits until it listens,
 * and always stops it: `await using server = await startServer({...})`. With
 * `MOTORCADE_TEST_ENGINES=distributed` it starts the distributed deployment instead (S3, Kafka,
 * PostgreSQL, two ingest processes, an indexer, an api+live process behind nginx; see
 * distributed.ts), so the same test code runs in both configurations.
 */
import { OWNER } from "./platform.ts";
import { followChild } from "./child.ts";
import { freePort } from "./ports.ts";

export { freePort };

/** A running server process. */
export interface TestServer extends AsyncDisposable {
  url: string;
  dataDir: string;
  /** The server's process id (for /proc/<pid>/status). */
  pid: number;
  /** Every log line the server wrote so far (stdout and stderr). */
  logs: string[];
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/**
 * True when the tests run against the distributed deployment (`MOTORCADE_TEST_ENGINES=distributed`):
 * tests asserting on what only the embedded engines have (files under DATA_DIR, SQLite, one
 * process restarted on its data) are ignored then, each saying why.
 */
export const DISTRIBUTED = Deno.env.get("MOTORCADE_TEST_ENGINES") === "distributed";

/** Options of {@linkcode startServer}. */
export interface ServerOptions {
  timeoutMs?: number;
  /** A command that runs the server, e.g. `["prlimit", "--nofile=256:256", "--"]`. */
  wrapper?: string[];
  /** Where log lines go (default: a new array, the server's `logs`). */
  logs?: string[];
}

/**
 * Starts `main.ts` with a temporary DATA_DIR (unless given) and `env`; the distributed deployment
 * when {@linkcode DISTRIBUTED}.
 */
export async function startServer(
  env: Record<string, string> = {},
  options: ServerOptions = {},
): Promise<TestServer> {
  if (DISTRIBUTED) {
    const { startDistributed } = await import("./distributed.ts");
    return await startDistributed(env, options);
  }
  return await startServerProcess(env, options);
}

/** Starts one `main.ts` process (whatever DISTRIBUTED says). */
export async function startServerProcess(
  env: Record<string, string> = {},
  options: ServerOptions = {},
): Promise<TestServer> {
  const dataDir = env.DATA_DIR ?? await Deno.makeTempDir({ prefix: "motorcade-server-" });
  const ownsDataDir = env.DATA_DIR === undefined;
  // PUBLIC_URL names the real port: tokens' issuer and signed links depend on it.
  const port = env.PORT ?? String(freePort());
  const scheme = env.TLS_CERT_FILE ? "https" : "http";
  const [program, ...args] = [...options.wrapper ?? [], Deno.execPath(), "run", "-A", MAIN];
  const child = new Deno.Command(program, {
    args,
    env: {
      PORT: port,
      PUBLIC_URL: `${scheme}://127.0.0.1:${port}`,
      HOST: "127.0.0.1",
      DATA_DIR: dataDir,
      MOTORCADE_ADMIN_EMAIL: OWNER.email,
      MOTORCADE_ADMIN_PASSWORD: OWNER.password,
      // Live tests turn it on (and run Janus in the test namespace).
      LIVE: "off",
      ...env,
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();

  const logs: string[] = options.logs ?? [];
  let resolveUrl: (url: string) => void;
  const listening = new Promise<string>((resolve) => resolveUrl = resolve);
  const stop = followChild(child, (line) => {
    logs.push(line);
    try {
      const record = JSON.parse(line);
      if (record.msg === "listening") resolveUrl(record.url);
    } catch { /* not JSON: keep it in the logs */ }
  });
  const timeoutMs = options.timeoutMs ?? 30_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const url = await Promise.race([
    listening,
    child.status.then((status) => {
      throw new Error(`Server exited with ${status.code} before listening:\n${logs.join("\n")}`);
    }),
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new Error(`Server did not listen within ${timeoutMs} ms:\n${logs.join("\n")}`)),
        timeoutMs,
      );
    }),
  ]).finally(() => clearTimeout(timer));

  return {
    url: url.replace("://0.0.0.0:", "://127.0.0.1:"),
    dataDir,
    pid: child.pid,
    logs,
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
      if (ownsDataDir) await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
}
