/**
 * PostgreSQL for the tests: a throwaway cluster of Debian's server (`postgresql` package) with
 * its data and socket in a temporary folder, on a free loopback port, trust authentication,
 * always stopped and deleted: `await using pg = await startPostgres()`. `initdb` refuses root:
 * as root the cluster runs as an ordinary user of a user namespace of its own (`unshare`, as
 * `scripts/netns.sh` needs anyway). A test that needs PostgreSQL and cannot get one fails with
 * the reason; it is never skipped.
 */
import postgres from "postgres";
import { join } from "node:path";
import { freePort } from "./ports.ts";

/** The superuser of test clusters (also what their URLs name). */
export const PG_USER = "motorcade";

/** A running throwaway cluster. */
export interface PostgresCluster extends AsyncDisposable {
  /** The server's major version, e.g. 15. */
  version: number;
  port: number;
  /** `postgres://motorcade@127.0.0.1:<port>/postgres`: the maintenance database. */
  url: string;
  /** Creates an empty database and returns its `postgres://` URL (a CATALOG_URL). */
  createDatabase(name?: string): Promise<string>;
  /** Stops the server (fast shutdown); its data stays. */
  stop(): Promise<void>;
  /** Starts the stopped server again on the same port and data. */
  start(): Promise<void>;
  /** The server's log so far. */
  log(): Promise<string>;
}

/** Finds the newest Debian PostgreSQL server, e.g. `/usr/lib/postgresql/15/bin`. */
async function serverBin(): Promise<{ bin: string; version: number }> {
  const versions: number[] = [];
  try {
    for await (const entry of Deno.readDir("/usr/lib/postgresql")) {
      if (!/^\d+$/.test(entry.name)) continue;
      try {
        await Deno.stat(`/usr/lib/postgresql/${entry.name}/bin/initdb`);
        versions.push(Number(entry.name));
      } catch { /* client only */ }
    }
  } catch { /* none */ }
  if (versions.length === 0) {
    throw new Error(
      'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run "bash scripts/install-deps.sh test" (Debian package postgresql)',
    );
  }
  const version = Math.max(...versions);
  return { bin: `/usr/lib/postgresql/${version}/bin`, version };
}

/**
 * How to run a server command: as root (the suite's network namespace maps only root), in a user
 * namespace of its own where it is an ordinary user (uid 1000, mapped to ours, so it owns our
 * temporary folder), since initdb and postgres refuse root.
 */
function runner(): string[] {
  return Deno.uid() === 0 ? ["unshare", "--user", "--map-user=1000", "--map-group=1000"] : [];
}

async function run(prefix: string[], command: string, args: string[]): Promise<void> {
  const [program, ...rest] = [...prefix, command, ...args];
  const out = await new Deno.Command(program, {
    args: rest,
    stdout: "piped",
    stderr: "piped",
    env: { LC_ALL: "C" },
  }).output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    throw new Error(`${command} ${args.join(" ")} failed (${out.code}):\n${text}`);
  }
}

/** Creates a cluster in a temporary folder, starts it, and waits until it accepts connections. */
export async function startPostgres(): Promise<PostgresCluster> {
  const { bin, version } = await serverBin();
  const prefix = runner();
  const dir = await Deno.makeTempDir({ prefix: "motorcade-pg-" });
  const data = join(dir, "data");
  const logFile = join(dir, "server.log");
  const port = freePort();
  await run(prefix, `${bin}/initdb`, [
    "-D",
    data,
    "-U",
    PG_USER,
    "--auth=trust",
    "--no-sync",
    "--encoding=UTF8",
    "--locale=C",
  ]);
  const options = [
    "-c listen_addresses=127.0.0.1",
    `-p ${port}`,
    `-k ${dir}`,
    // A throwaway cluster: durability buys nothing here.
    "-c fsync=off",
    "-c synchronous_commit=off",
    "-c full_page_writes=off",
    "-c max_connections=200",
  ].join(" ");
  const start = () =>
    run(prefix, `${bin}/pg_ctl`, [
      "-w",
      "-t",
      "60",
      "-D",
      data,
      "-l",
      logFile,
      "-o",
      options,
      "start",
    ]);
  const stop = (mode: "fast" | "immediate") =>
    run(prefix, `${bin}/pg_ctl`, ["-w", "-t", "60", "-D", data, "-m", mode, "stop"]);
  await start();
  const url = `postgres://${PG_USER}@127.0.0.1:${port}/postgres`;
  let running = true;
  let databases = 0;
  return {
    version,
    port,
    url,
    async createDatabase(name = `test_${++databases}_${crypto.randomUUID().slice(0, 8)}`) {
      const admin = postgres(url, { max: 1, onnotice: () => {} });
      try {
        await admin.unsafe(`CREATE DATABASE "${name}"`);
      } finally {
        await admin.end({ timeout: 5 });
      }
      return `postgres://${PG_USER}@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      await stop("fast");
      running = false;
    },
    async start() {
      await start();
      running = true;
    },
    log: () => Deno.readTextFile(logFile).catch(() => ""),
    async [Symbol.asyncDispose]() {
      if (running) await stop("immediate").catch(() => {});
      running = false;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
