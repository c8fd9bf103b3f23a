/**
 * nginx as a benchmark baseline: started as a child process from a config file in its own
 * temporary folder (pid, logs, body buffers and served files all inside it), listening on
 * 127.0.0.1 only, and always stopped and removed: `await using nginx = await startNginx(...)`.
 */
import { freePort, waitForPort } from "./net.ts";

/** A running nginx. */
export interface Nginx extends AsyncDisposable {
  url: string;
  /** Its temporary folder; `root` of the server block is `${dir}/www`. */
  dir: string;
  version: string;
  stop(): Promise<void>;
}

/** Options of {@linkcode startNginx}. */
export interface NginxOptions {
  /** Directives inside the `server` block, e.g. a `location` with `dav_methods PUT`. */
  server: string;
  /** `worker_processes`; default `auto` (one per core, as nginx is deployed). */
  workers?: string;
  /** Files to place under `www/` before starting, by relative path. */
  files?: Record<string, string | Uint8Array>;
}

const NGINX = "/usr/sbin/nginx";

/** Writes a config into a fresh temporary folder and starts nginx on a free port. */
export async function startNginx(options: NginxOptions): Promise<Nginx> {
  const dir = await Deno.makeTempDir({ prefix: "motorcade-bench-nginx-" });
  const port = freePort();
  for (const sub of ["www", "body", "proxy", "fastcgi", "uwsgi", "scgi"]) {
    await Deno.mkdir(`${dir}/${sub}`);
  }
  for (const [path, content] of Object.entries(options.files ?? {})) {
    const file = `${dir}/www/${path}`;
    await Deno.mkdir(file.slice(0, file.lastIndexOf("/")), { recursive: true });
    if (typeof content === "string") await Deno.writeTextFile(file, content);
    else await Deno.writeFile(file, content);
  }
  await Deno.writeTextFile(
    `${dir}/nginx.conf`,
    `user root;
worker_processes ${options.workers ?? "auto"};
worker_rlimit_nofile 65536;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  default_type application/octet-stream;
  types { application/vnd.apple.mpegurl m3u8; }
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:${port};
    root ${dir}/www;
${options.server}
  }
}
`,
  );
  const version = new TextDecoder().decode(
    (await new Deno.Command(NGINX, { args: ["-v"], stderr: "piped" }).output()).stderr,
  ).trim().replace(/^nginx version: /, "");
  const child = new Deno.Command(NGINX, {
    args: ["-p", dir, "-c", `${dir}/nginx.conf`, "-g", "daemon off;"],
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      try {
        child.kill("SIGTERM"); // fast shutdown: the master stops its workers
      } catch { /* already gone */ }
      await child.status;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    })();
    return stopped;
  };
  try {
    await waitForPort(port, 5_000, child.status);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    dir,
    version,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
