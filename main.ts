/**
 * Starts the Motorcade server: `deno task start`. Reads the configuration, wires the platform,
 * serves HTTP (or HTTPS when given a certificate), and shuts down cleanly on SIGTERM/SIGINT.
 */
import { ConfigError, loadConfig } from "./lib/config/mod.ts";
import { createLogger } from "./lib/log/mod.ts";
import { connectionLimits, serveGated } from "./lib/http/mod.ts";
import { MAX_MESSAGE_BYTES } from "./lib/live/mod.ts";
import { createPlatform, type Platform } from "./platform.ts";
import { IngestWorkers, shareLimits } from "./lib/workers/mod.ts";

async function main(): Promise<number> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  let platform: Platform;
  try {
    platform = await createPlatform(config, logger);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message); // e.g. a CDN_PRIVATE_KEY_FILE that cannot be read
    return 2;
  }

  const tls = config.tls && {
    cert: await Deno.readTextFile(config.tls.certFile),
    key: await Deno.readTextFile(config.tls.keyFile),
  };
  // The gate owns the public listener and its connection policy; see lib/http/gate.ts.
  // With INGEST_WORKERS=N, N listeners share the port and these limits; see lib/workers.
  const limits = shareLimits(connectionLimits(config, MAX_MESSAGE_BYTES), config.ingestWorkers);
  const server = await serveGated({
    hostname: config.host,
    port: config.port,
    reusePort: config.ingestWorkers > 1,
    tls: tls || undefined,
    limits,
    logger,
    registry: platform.metrics.registry,
    onListen: ({ hostname, port }) => {
      logger.info("listening", {
        url: `${tls ? "https" : "http"}://${hostname}:${port}`,
        port,
        publicUrl: config.publicUrl,
        catalog: platform.catalog.kind,
        roles: [...config.roles].join(","),
        maxConnections: limits.maxConnections,
        maxConnectionsPerClient: limits.maxConnectionsPerClient,
      });
    },
  }, platform.app.fetch);
  const workers = config.ingestWorkers > 1
    ? await IngestWorkers.start({
      count: config.ingestWorkers - 1,
      entry: new URL("./ingest_worker.ts", import.meta.url),
      env: Deno.env.toObject(),
      hostname: config.host,
      port: server.addr.port,
      tls: tls || undefined,
      limits,
      bus: platform.bus,
      broadcast: platform.broadcast,
      handler: platform.app.fetch,
      logger,
    })
    : undefined;
  if (workers) {
    logger.info("ingest workers listening", { port: server.addr.port, workers: workers.running });
  }

  const stop = async (signal: string) => {
    logger.info("shutting down", { signal });
    await workers?.close(); // before the bus closes: their uploads in flight still publish
    await server.shutdown();
    await platform.close();
  };
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(signal, () => void stop(signal));
  }
  await server.finished;
  await platform.close();
  return 0;
}

if (import.meta.main) Deno.exit(await main());
