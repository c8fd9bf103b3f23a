/**
 * The server's one connection policy. `Deno.serve` has no header deadline, keep-alive timeout,
 * connection cap or WebSocket frame limit, so the gate owns the public listener and relays each
 * connection it admits over loopback to `Deno.serve` on 127.0.0.1 (an ephemeral port), enforcing:
 * caps on connections (overall and per client address: 503 beyond), a deadline for each request
 * head, an idle timeout, a size cap on WebSocket messages read as they pass, and a closed
 * connection once a request is refused before its body was read. Running out of file descriptors
 * is logged and waited out, never fatal. Handlers see the real client as `info.remoteAddr`.
 * The gate runs on its own thread (`gate_worker.ts`), so relaying costs the server's thread nothing.
 */
import client from "prom-client";
import type { Config } from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";
import { CLOSE_REASONS, type RelayLimits } from "./connection_relay.ts";
import { COUNTER, COUNTERS, type FromGate, type ToGate } from "./gate_worker.ts";
import { PeerTable } from "./peer_table.ts";

/** Limits the gate enforces on every connection. */
export interface ConnectionLimits extends RelayLimits {
  /** Connections open at once, all clients together. */
  maxConnections: number;
  /** Connections open at once from one client address. */
  maxConnectionsPerClient: number;
}

/** Options of {@linkcode serveGated}. */
export interface GateOptions {
  hostname: string;
  port: number;
  /**
   * Shares the port with other listeners that set it too (`SO_REUSEPORT`: the kernel spreads new
   * connections over them); the ingest workers of `INGEST_WORKERS` listen so.
   */
  reusePort?: boolean;
  /** PEM certificate and key: the gate terminates TLS. */
  tls?: { cert: string; key: string };
  limits: ConnectionLimits;
  logger: Logger;
  /** Where the gate's metrics are registered. */
  registry?: client.Registry;
  onListen?: (addr: Deno.NetAddr) => void;
}

/** A gated server: the public address, and how to stop it. */
export interface GatedServer extends AsyncDisposable {
  /** The public (gate) address. */
  readonly addr: Deno.NetAddr;
  /** Connections open now. */
  readonly connections: number;
  /** Resolves once the server has stopped. */
  readonly finished: Promise<void>;
  /** Stops accepting, lets requests in flight finish, then closes every connection. */
  shutdown(): Promise<void>;
}

/** File descriptors one relayed connection holds: the client's, the gate's and the server's. */
export const FDS_PER_CONNECTION = 3;

/** Connections below which a default MAX_CONNECTIONS capped by the open-file limit is warned of. */
export const CONNECTIONS_WANTED = 10_000;

/** This process's open-file limits (`/proc/self/limits`); undefined where they cannot be read. */
export function openFileLimits(): { soft: number; hard: number } | undefined {
  try {
    const line = Deno.readTextFileSync("/proc/self/limits").split("\n")
      .find((l) => l.startsWith("Max open files"));
    const [soft, hard] = (line?.split(/\s{2,}/).slice(1, 3) ?? []).map((v) =>
      v === "unlimited" ? Infinity : Number(v)
    );
    if (soft > 0 && hard > 0) return { soft, hard };
  } catch { /* not Linux */ }
  return undefined;
}

/**
 * A default for MAX_CONNECTIONS from the soft open-file limit (`/proc/self/limits` unless given;
 * 1,024 where unknown): each relayed connection costs three descriptors, and an eighth of the
 * limit (at least 64) is left for the catalog, object store, logs and Janus.
 */
export function defaultMaxConnections(softLimit = openFileLimits()?.soft ?? 1024): number {
  const limit = Number.isFinite(softLimit) ? softLimit : 1_048_576;
  const reserve = Math.max(64, Math.ceil(limit / 8));
  return Math.max(16, Math.floor((limit - reserve) / FDS_PER_CONNECTION));
}

/** Minimum idle time of a WebSocket: the server pings its sockets every 60 s. */
const WEBSOCKET_IDLE_MS = 120_000;

/**
 * The gate's limits from the configuration: defaults for the caps from the open-file limit, no
 * per-client cap behind a proxy (its address is every client's), WebSocket messages up to
 * `maxWebSocketMessageBytes` (the signaling protocol's own limit).
 */
export function connectionLimits(
  config: Pick<Config, "connections" | "proxyHops">,
  maxWebSocketMessageBytes: number,
): ConnectionLimits {
  const { connections } = config;
  const maxConnections = connections.maxConnections ?? defaultMaxConnections();
  return {
    maxConnections,
    maxConnectionsPerClient: config.proxyHops > 0
      ? maxConnections
      : connections.maxConnectionsPerClient ?? Math.max(1, Math.floor(maxConnections / 4)),
    headerTimeoutMs: connections.headerTimeoutMs,
    idleTimeoutMs: connections.idleTimeoutMs,
    webSocketIdleTimeoutMs: Math.max(connections.idleTimeoutMs, WEBSOCKET_IDLE_MS),
    maxWebSocketMessageBytes,
  };
}

/**
 * Serves `handler` behind the connection gate on `hostname:port` (TLS when `tls` is given); the
 * gate runs on its own thread. Resolves once the public port listens.
 *
 * @example const server = await serveGated({ hostname, port, limits, logger }, app.fetch)
 */
export async function serveGated(
  options: GateOptions,
  handler: Deno.ServeHandler<Deno.NetAddr>,
): Promise<GatedServer> {
  const { limits, logger } = options;
  const peers = new PeerTable();
  const counters = new Float64Array(new SharedArrayBuffer(COUNTERS * 8));
  gateMetrics(options.registry ?? new client.Registry(), counters);

  const serve: Deno.ServeHandler<Deno.NetAddr> = (request, info) => {
    const peer = peers.get(info.remoteAddr.port) ?? info.remoteAddr;
    return handler(request, {
      remoteAddr: peer,
      get completed() {
        return info.completed;
      },
    });
  };
  let closing = false;
  const gate = new Worker(new URL("./gate_worker.ts", import.meta.url).href, { type: "module" });
  const toGate = (message: ToGate) => gate.postMessage(message);

  // Deno.serve stops for good when its accept fails (out of descriptors): start another then.
  let backend!: Deno.HttpServer<Deno.NetAddr>;
  const startBackend = () => {
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, serve);
    backend = server;
    toGate({ type: "backend", port: server.addr.port });
    server.finished.catch(async (error) => {
      if (closing) return;
      counters[COUNTER.acceptErrors]++;
      logger.error("server stopped accepting from the gate; starting it again", {
        error: String(error),
      });
      for (let wait = 10; !closing; wait = Math.min(wait * 2, 1_000)) {
        await new Promise((resolve) => setTimeout(resolve, wait));
        try {
          startBackend();
          logger.info("server accepting from the gate again", {
            connections: counters[COUNTER.open],
          });
          return;
        } catch { /* still out of descriptors */ }
      }
    });
  };
  startBackend();

  const replies = new Map<string, PromiseWithResolvers<FromGate>>();
  const reply = (type: FromGate["type"]) => {
    const waiting = Promise.withResolvers<FromGate>();
    replies.set(type, waiting);
    return waiting.promise;
  };
  gate.onmessage = (event: MessageEvent<FromGate>) => {
    const message = event.data;
    if (message.type === "log") logger[message.level](message.msg, message.fields);
    else if (message.type === "failed") replies.get("listening")?.reject(new Error(message.error));
    else replies.get(message.type)?.resolve(message);
  };
  gate.onerror = (event) => {
    event.preventDefault();
    logger.error("connection gate failed", { error: event.message });
    for (const waiting of replies.values()) waiting.reject(new Error(event.message));
  };
  const listening = reply("listening");
  toGate({
    type: "start",
    hostname: options.hostname,
    port: options.port,
    reusePort: options.reusePort ?? false,
    tls: options.tls,
    limits,
    backendPort: backend.addr.port,
    peers: peers.buffer,
    counters: counters.buffer as SharedArrayBuffer,
  });
  let addr: Deno.NetAddr;
  try {
    addr = (await listening as Extract<FromGate, { type: "listening" }>).addr;
  } catch (error) {
    closing = true;
    gate.terminate();
    await backend.shutdown();
    throw error;
  }
  logCapacity(logger, limits.maxConnections);
  options.onListen?.(addr);

  const finished = Promise.withResolvers<void>();
  let stopped: Promise<void> | undefined;
  const shutdown = () => {
    stopped ??= (async () => {
      closing = true;
      const gateStopped = reply("stopped");
      toGate({ type: "stop" });
      await gateStopped.catch(() => {});
      // Deno.serve finishes requests in flight and closes its idle connections; relays end then.
      await backend.shutdown().catch(() => {});
      const gateClosed = reply("closed");
      toGate({ type: "close" });
      await gateClosed.catch(() => {});
      gate.terminate();
      finished.resolve();
    })();
    return stopped;
  };

  return {
    addr,
    get connections() {
      return counters[COUNTER.open];
    },
    finished: finished.promise,
    shutdown,
    [Symbol.asyncDispose]: shutdown,
  };
}

/**
 * Logs the open-file limit and the connections it allows, and warns when that limit is what
 * keeps the server below {@linkcode CONNECTIONS_WANTED} connections (a soft limit of 1,024 is
 * common) or below a MAX_CONNECTIONS set higher, saying how to raise it.
 */
function logCapacity(logger: Logger, maxConnections: number): void {
  const limits = openFileLimits();
  const fits = defaultMaxConnections(limits?.soft);
  const fields = {
    openFileLimit: limits?.soft ?? null,
    openFileHardLimit: limits?.hard ?? null,
    descriptorsPerConnection: FDS_PER_CONNECTION,
    maxConnections,
    fitsOpenFileLimit: fits,
  };
  logger.info("connection capacity", fields);
  const raise = "raise the open-file limit: LimitNOFILE= in the systemd unit (the shipped " +
    "deploy/motorcade.service sets 1048576), `ulimit -n` in the shell that starts the server, " +
    "or nofile in /etc/security/limits.conf; each connection holds " +
    `${FDS_PER_CONNECTION} descriptors`;
  if (maxConnections > fits) {
    logger.warn("MAX_CONNECTIONS is above what the open-file limit allows", { ...fields, raise });
  } else if (maxConnections >= fits && fits < CONNECTIONS_WANTED) {
    logger.warn(`the open-file limit caps connections at ${fits}`, { ...fields, raise });
  }
}

/** Registers the gate's metrics, read from its shared counters when scraped. */
function gateMetrics(registry: client.Registry, counters: Float64Array): void {
  const registers = [registry];
  new client.Gauge({
    name: "motorcade_http_connections",
    help: "Client connections open now",
    registers,
    collect() {
      this.set(counters[COUNTER.open]);
    },
  });
  new client.Counter({
    name: "motorcade_http_connections_refused_total",
    help: "Connections answered 503 and closed: over the total or per-client cap, or resources",
    labelNames: ["reason"],
    registers,
    collect() {
      this.reset();
      this.inc({ reason: "total" }, counters[COUNTER.refusedTotal]);
      this.inc({ reason: "client" }, counters[COUNTER.refusedClient]);
      this.inc({ reason: "resources" }, counters[COUNTER.refusedResources]);
    },
  });
  new client.Counter({
    name: "motorcade_http_connections_closed_total",
    help: "Connections the gate closed, by reason",
    labelNames: ["reason"],
    registers,
    collect() {
      this.reset();
      CLOSE_REASONS.forEach((reason, i) => this.inc({ reason }, counters[COUNTER.closed + i]));
    },
  });
  new client.Counter({
    name: "motorcade_http_accept_errors_total",
    help: "Failed accepts (such as running out of file descriptors); the gate retries",
    registers,
    collect() {
      this.reset();
      this.inc(counters[COUNTER.acceptErrors]);
    },
  });
}
