/**
 * The distributed deployment for the tests: real engines (S3 on versitygw, Kafka, PostgreSQL),
 * two ingest processes (`ROLES=ingest`), one indexer (`ROLES=indexer`) and one api process
 * (`ROLES=api,live`), behind nginx routing by path as an operator's load balancer would. It has
 * the shape of {@linkcode startServer}'s answer, so tests run unchanged against it
 * (`MOTORCADE_TEST_ENGINES=distributed`); fault tests reach its processes to kill and restart them.
 */
import { join } from "node:path";
import type { ObjectStore } from "../../lib/storage/mod.ts";
import { startKafka } from "./kafka.ts";
import { startPostgres } from "./postgres.ts";
import { startS3 } from "./s3.ts";
import { freePort } from "./ports.ts";
import { type ServerOptions, startServerProcess, type TestServer } from "./server.ts";

const NGINX = "/usr/sbin/nginx";

/** A process of the deployment, by name. */
export type ProcessName = "api" | "indexer" | "ingest-1" | "ingest-2";

/** A running distributed deployment, reached through nginx at `url`. */
export interface DistributedServer extends TestServer {
  /** The processes behind nginx (each a `main.ts` with its ROLES). */
  processes: Record<ProcessName, TestServer>;
  /** The environment every process shares (engines' URLs, PUBLIC_URL…). */
  env: Record<string, string>;
  /** Starts `name` again (after it was stopped or killed) with the same environment and data. */
  restart(name: ProcessName): Promise<TestServer>;
  /** The deployment's object store (its S3 bucket), closed with it. */
  objects(): ObjectStore;
  /** nginx's error log so far. */
  nginxLog(): Promise<string>;
}

const ROLES: Record<ProcessName, string> = {
  api: "api,live",
  indexer: "indexer",
  "ingest-1": "ingest",
  "ingest-2": "ingest",
};

/**
 * Starts the engines, the four processes and nginx; `env` is given to every process (PORT, when
 * given, is nginx's). Everything stops with the answer's `stop` or `await using`.
 */
export async function startDistributed(
  env: Record<string, string> = {},
  options: ServerOptions = {},
): Promise<DistributedServer> {
  const { PORT, DATA_DIR, ...shared } = env;
  const dataDir = DATA_DIR ?? await Deno.makeTempDir({ prefix: "motorcade-distributed-" });
  const ownsDataDir = DATA_DIR === undefined;
  const cleanups: (() => PromiseLike<unknown>)[] = [];
  const cleanup = async () => {
    for (const step of cleanups.splice(0).reverse()) {
      try {
        await step();
      } catch { /* stop the rest anyway */ }
    }
    if (ownsDataDir) await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  };
  try {
    const [s3, kafka, pg] = await Promise.all([startS3(), startKafka(), startPostgres()]);
    cleanups.push(() => s3[Symbol.asyncDispose]());
    cleanups.push(() => kafka.stop());
    cleanups.push(() => pg[Symbol.asyncDispose]());
    const catalogUrl = await pg.createDatabase();
    const port = Number(PORT ?? freePort());
    const url = `http://127.0.0.1:${port}`;
    const common: Record<string, string> = {
      ...s3.env,
      BUS_URL: kafka.busUrl,
      CATALOG_URL: catalogUrl,
      PUBLIC_URL: url,
      // nginx is the one proxy in front: client addresses come from its X-Forwarded-For.
      TRUST_PROXY: "1",
      ...shared,
    };
    const logs: string[] = options.logs ?? [];
    const ports = {} as Record<ProcessName, number>;
    const launch = (name: ProcessName) =>
      startServerProcess({
        ...common,
        ROLES: ROLES[name],
        PORT: String(ports[name] ??= freePort()),
        DATA_DIR: join(dataDir, name),
        // Live runs where its routes are: the api process.
        ...(name === "api" ? {} : { LIVE: "off" }),
      }, { ...options, logs });
    const processes = {} as Record<ProcessName, TestServer>;
    cleanups.push(() => Promise.all(Object.values(processes).map((p) => p.stop())));
    // The api process first: it migrates the catalog and creates the first owner alone.
    processes.api = await launch("api");
    const [indexer, ingest1, ingest2] = await Promise.all(
      (["indexer", "ingest-1", "ingest-2"] as const).map(launch),
    );
    Object.assign(processes, { indexer, "ingest-1": ingest1, "ingest-2": ingest2 });
    const nginx = await startNginx(port, join(dataDir, "nginx"), {
      ingest: [ports["ingest-1"], ports["ingest-2"]],
      api: ports.api,
    });
    cleanups.push(() => nginx.stop());
    const stop = async () => {
      const status = await processes.api.stop();
      await cleanup();
      return status;
    };
    return {
      url,
      dataDir,
      pid: processes.api.pid,
      logs,
      env: common,
      processes,
      stop,
      async restart(name) {
        await processes[name].stop().catch(() => {});
        processes[name] = await launch(name);
        return processes[name];
      },
      objects: () => s3.store(),
      nginxLog: () => Deno.readTextFile(join(dataDir, "nginx", "error.log")).catch(() => ""),
      async [Symbol.asyncDispose]() {
        await stop();
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/**
 * nginx on `port` routing by path: ingest uploads to the ingest processes (a request a dead one
 * did not answer goes to the other), everything else, WebSockets included, to the api process.
 */
async function startNginx(
  port: number,
  dir: string,
  upstreams: { ingest: number[]; api: number },
): Promise<{ stop(): Promise<void> }> {
  for (const sub of ["body", "proxy", "fastcgi", "uwsgi", "scgi"]) {
    await Deno.mkdir(join(dir, sub), { recursive: true });
  }
  const proxy = `
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_read_timeout 300s;
      proxy_buffering off;`;
  await Deno.writeTextFile(
    join(dir, "nginx.conf"),
    `${Deno.uid() === 0 ? "user root;" : ""}
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  client_max_body_size 0;
  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
  upstream ingest {
${upstreams.ingest.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=2s;`).join("\n")}
    keepalive 32;
  }
  upstream api { server 127.0.0.1:${upstreams.api}; keepalive 32; }
  server {
    listen 127.0.0.1:${port};
    location /api/v1/ingest/ {
      proxy_pass http://ingest;
      proxy_set_header Connection "";
      proxy_next_upstream error timeout http_502;
      proxy_next_upstream_tries 2;${proxy}
    }
    location / {
      proxy_pass http://api;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;${proxy}
    }
  }
}
`,
  );
  const child = new Deno.Command(NGINX, {
    args: ["-p", dir, "-c", join(dir, "nginx.conf"), "-g", "daemon off;"],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await child.status;
      await stderr;
    })();
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return { stop };
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`nginx did not listen on ${port} within 10 s: ${await stderr}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
