/**
 * The server's one connection policy. `Deno.serve` has no header deadline, keep-alive timeout,
 * connection cap or WebSocket frame limit, so the gate owns the public listener and relays each
 * connection it admits over loopback to `Deno.serve` on 127.0.0.1 (an ephemeral port), enforcing:
 * caps on connections (overall and per client address: 503 beyond), a deadline for each request
 * head, an idle timeout, a size cap on WebSocket messages read as they pass, and a closed
 * connection once a request is refused before its body was read. Running out of file descriptors
 * is logged and waited out, never fatal. Handlers see the real client as `info.remoteAddr`.
 */
import client from "prom-client";
import type { Config } from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";
import { ConnectionRelay, type RelayLimits } from "./connection_relay.ts";

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
const FDS_PER_CONNECTION = 3;
const REFUSAL_WRITE_MS = 2_000;
const MAX_ACCEPT_BACKOFF_MS = 1_000;

/**
 * A default for MAX_CONNECTIONS from the soft open-file limit (`/proc/self/limits`): each relayed
 * connection costs three descriptors, and an eighth of the limit (at least 64) is left for the
 * catalog, object store, logs and Janus.
 */
export function defaultMaxConnections(): number {
  let limit = 1024;
  try {
    const line = Deno.readTextFileSync("/proc/self/limits").split("\n")
      .find((l) => l.startsWith("Max open files"));
    const soft = Number(line?.split(/\s{2,}/)[1]);
    if (Number.isFinite(soft) && soft > 0) limit = soft;
  } catch { /* not Linux: assume 1,024 */ }
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
 * Serves `handler` behind the connection gate on `hostname:port` (TLS when `tls` is given).
 *
 * @example const server = serveGated({ hostname, port, limits, logger }, app.fetch)
 */
export function serveGated(
  options: GateOptions,
  handler: Deno.ServeHandler<Deno.NetAddr>,
): GatedServer {
  const { limits, logger } = options;
  const metrics = gateMetrics(options.registry);
  const peers = new Map<number, Deno.NetAddr>();
  const perClient = new Map<string, number>();
  const relays = new Set<ConnectionRelay>();

  const serve: Deno.ServeHandler<Deno.NetAddr> = (request, info) => {
    const peer = peers.get(info.remoteAddr.port) ?? info.remoteAddr;
    return handler(request, {
      remoteAddr: peer,
      get completed() {
        return info.completed;
      },
    });
  };
  // Deno.serve stops for good when its accept fails (out of descriptors): start another then.
  let backend: Deno.HttpServer<Deno.NetAddr>;
  let backendPort = 0;
  const startBackend = () => {
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, serve);
    backend = server;
    backendPort = server.addr.port;
    server.finished.catch(async (error) => {
      if (closing) return;
      metrics.acceptErrors.inc();
      logger.error("server stopped accepting from the gate; starting it again", {
        error: String(error),
      });
      for (let wait = 10; !closing; wait = Math.min(wait * 2, MAX_ACCEPT_BACKOFF_MS)) {
        await new Promise((resolve) => setTimeout(resolve, wait));
        try {
          startBackend();
          logger.info("server accepting from the gate again", { connections: relays.size });
          return;
        } catch { /* still out of descriptors */ }
      }
    });
  };
  let closing = false;
  startBackend();
  const listener = options.tls
    ? Deno.listenTls({ hostname: options.hostname, port: options.port, ...options.tls })
    : Deno.listen({ hostname: options.hostname, port: options.port });
  const addr = listener.addr as Deno.NetAddr;
  if (limits.maxConnections > defaultMaxConnections()) {
    logger.warn("MAX_CONNECTIONS is above what the open-file limit allows", {
      maxConnections: limits.maxConnections,
      fitsOpenFileLimit: defaultMaxConnections(),
    });
  }
  options.onListen?.(addr);

  // A flood must not flood the log: each kind of warning at most once per 10 s.
  const warned = new Map<string, number>();
  const warnAtMostEvery10s = (msg: string, fields: Record<string, unknown>) => {
    const now = Date.now();
    if (now - (warned.get(msg) ?? 0) < 10_000) return;
    warned.set(msg, now);
    logger.warn(msg, { ...fields, connections: relays.size });
  };

  const refuse = async (conn: Deno.Conn, reason: string) => {
    metrics.refused.inc({ reason });
    warnAtMostEvery10s("connection refused: too many connections", {
      reason,
      client: (conn.remoteAddr as Deno.NetAddr).hostname,
    });
    const timer = setTimeout(() => close(conn), REFUSAL_WRITE_MS);
    try {
      await writeAll(conn, SERVICE_UNAVAILABLE);
    } catch { /* the client went away */ }
    clearTimeout(timer);
    close(conn);
  };

  const admit = async (conn: Deno.Conn) => {
    const peer = conn.remoteAddr as Deno.NetAddr;
    const key = peer.hostname;
    if (relays.size >= limits.maxConnections) return refuse(conn, "total");
    const fromClient = perClient.get(key) ?? 0;
    if (fromClient >= limits.maxConnectionsPerClient) return refuse(conn, "client");
    perClient.set(key, fromClient + 1);
    let upstream: Deno.TcpConn | undefined;
    let relay: ConnectionRelay | undefined;
    try {
      upstream = await Deno.connect({ hostname: "127.0.0.1", port: backendPort });
      const localPort = (upstream.localAddr as Deno.NetAddr).port;
      peers.set(localPort, peer);
      relay = new ConnectionRelay(conn, upstream, limits, metrics.closed);
      relays.add(relay);
      metrics.open.inc();
      await relay.run();
      if (peers.get(localPort) === peer) peers.delete(localPort);
    } catch (error) {
      if (!upstream) {
        // Out of descriptors for the loopback leg: answer as for a cap.
        warnAtMostEvery10s("cannot relay a connection", { error: String(error) });
        await refuse(conn, "resources");
      }
    } finally {
      if (relay) {
        relays.delete(relay);
        metrics.open.dec();
      }
      const left = (perClient.get(key) ?? 1) - 1;
      if (left > 0) perClient.set(key, left);
      else perClient.delete(key);
    }
  };

  const acceptLoop = async () => {
    let backoff = 0;
    while (!closing) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (closing || error instanceof Deno.errors.BadResource) break;
        metrics.acceptErrors.inc();
        if (backoff === 0) {
          logger.error("cannot accept connections; retrying", {
            error: String(error),
            connections: relays.size,
          });
        }
        backoff = Math.min(backoff ? backoff * 2 : 10, MAX_ACCEPT_BACKOFF_MS);
        await new Promise((resolve) => setTimeout(resolve, backoff));
        continue;
      }
      if (backoff) {
        logger.info("accepting connections again", { connections: relays.size });
        backoff = 0;
      }
      void admit(conn);
    }
  };
  const accepting = acceptLoop();

  const finished = Promise.withResolvers<void>();
  let stopped: Promise<void> | undefined;
  const shutdown = () => {
    stopped ??= (async () => {
      closing = true;
      try {
        listener.close();
      } catch { /* already closed */ }
      await accepting;
      // Deno.serve finishes requests in flight and closes its idle connections; relays end then.
      await backend.shutdown().catch(() => {});
      for (const relay of relays) relay.close();
      finished.resolve();
    })();
    return stopped;
  };

  return {
    addr,
    get connections() {
      return relays.size;
    },
    finished: finished.promise,
    shutdown,
    [Symbol.asyncDispose]: shutdown,
  };
}

const SERVICE_UNAVAILABLE = closingResponse(
  "503 Service Unavailable",
  "Too many connections: retry shortly\n",
  "Retry-After: 1\r\n",
);

/** A whole HTTP/1.1 response that closes the connection, as bytes. */
export function closingResponse(status: string, body: string, headers = ""): Uint8Array {
  return new TextEncoder().encode(
    `HTTP/1.1 ${status}\r\n${headers}Connection: close\r\nContent-Type: text/plain\r\n` +
      `Content-Length: ${body.length}\r\n\r\n${body}`,
  );
}

/** Writes all of `bytes`. */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

/** Closes `conn`, ignoring that it may be closed already. */
export function close(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}

function gateMetrics(registry = new client.Registry()) {
  const registers = [registry];
  return {
    open: new client.Gauge({
      name: "motorcade_http_connections",
      help: "Client connections open now",
      registers,
    }),
    refused: new client.Counter({
      name: "motorcade_http_connections_refused_total",
      help: "Connections answered 503 and closed: over the total or per-client cap, or resources",
      labelNames: ["reason"],
      registers,
    }),
    closed: new client.Counter({
      name: "motorcade_http_connections_closed_total",
      help: "Connections the gate closed, by reason (header_timeout, idle, message_too_big, ...)",
      labelNames: ["reason"],
      registers,
    }),
    acceptErrors: new client.Counter({
      name: "motorcade_http_accept_errors_total",
      help: "Failed accepts (such as running out of file descriptors); the gate retries",
      registers,
    }),
  };
}
