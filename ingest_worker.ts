/**
 * The composition root of one ingest worker thread (`INGEST_WORKERS`, see
 * lib/workers/ingest_workers.ts): the platform with the ingest role only, its bus and broadcast
 * relayed to the server's thread, behind its own connection gate on the shared port. It answers
 * uploads; every other request goes to the server's thread.
 */
/// <reference lib="deno.worker" />
import { parseConfig } from "./lib/config/mod.ts";
import { type GatedServer, serveGated } from "./lib/http/mod.ts";
import { createLogger } from "./lib/log/mod.ts";
import {
  forwardTo,
  type FromWorker,
  ThreadBroadcast,
  ThreadBus,
  type ToWorker,
} from "./lib/workers/mod.ts";
import { createPlatform, type Platform } from "./platform.ts";
import { roleOfPath } from "./routes/roles.ts";

const post = (message: FromWorker) => self.postMessage(message);
const bus = new ThreadBus(post);
const broadcast = new ThreadBroadcast(post);
let platform: Platform | undefined;
let server: GatedServer | undefined;

self.onmessage = async (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  if (message.type === "published") bus.settle(message.id, message.failure);
  else if (message.type === "broadcast") broadcast.deliver(message.channel, message.message);
  else if (message.type === "start") {
    try {
      await start(message);
    } catch (error) {
      post({ type: "failed", error: String(error) });
    }
  } else if (message.type === "stop") {
    await server?.shutdown();
    await platform?.close();
    await bus.close();
    post({ type: "stopped" });
  }
};

async function start(options: Extract<ToWorker, { type: "start" }>): Promise<void> {
  // Uploads only; the indexer, the retention sweep and live stay on the server's thread.
  const config = parseConfig({
    ...options.env,
    ROLES: "ingest",
    RETENTION_INTERVAL: "0",
    INGEST_WORKERS: "1",
  });
  const logger = createLogger(config.logLevel).child({ worker: options.index });
  platform = await createPlatform(config, logger, { bus, broadcast });
  const forward = forwardTo(`http://127.0.0.1:${options.forwardPort}`, options.secret);
  const app = platform.app;
  server = await serveGated({
    hostname: options.hostname,
    port: options.port,
    reusePort: true,
    tls: options.tls,
    limits: options.limits,
    logger,
    registry: platform.metrics.registry,
    onListen: (addr) => post({ type: "listening", addr }),
  }, (request, info) => {
    const path = new URL(request.url).pathname;
    return roleOfPath(path) === "ingest" ? app.fetch(request, info) : forward(request, info);
  });
}
