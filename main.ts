/**
 * Starts the Motorcade server: `deno task start`. Reads the configuration, wires the platform,
 * serves HTTP (or HTTPS when given a certificate), and shuts down cleanly on SIGTERM/SIGINT.
 */
import { ConfigError, loadConfig } from "./lib/config/mod.ts";
import { createLogger } from "./lib/log/mod.ts";
import { connectionLimits, serveGated } from "./lib/http/mod.ts";
import { MAX_MESSAGE_BYTES } from "./lib/live/mod.ts";
import { createPlatform, type Platform } from "./platform.ts";

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
  const limits = connectionLimits(config, MAX_MESSAGE_BYTES);
  const server = await serveGated({
    hostname: config.host,
    port: config.port,
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

  const stop = async (signal: string) => {
    logger.info("shutting down", { signal });
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
