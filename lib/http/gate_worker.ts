/**
 * The connection gate's own thread (a Worker started by `serveGated`): it owns the public
 * listener, admits or refuses each connection, and relays the admitted ones to the server's
 * loopback port, so relaying bytes costs the server's thread nothing. Counters and the peer table
 * live in shared memory; log records go to the server's thread as messages.
 */
/// <reference lib="deno.worker" />
import { CLOSE_REASONS, ConnectionRelay, type RelayLimits } from "./connection_relay.ts";
import { PeerTable } from "./peer_table.ts";
import { type ClientConn, TlsServerConn } from "./tls_conn.ts";

/** What the server's thread sends the gate. */
export type ToGate =
  | {
    type: "start";
    hostname: string;
    port: number;
    reusePort: boolean;
    tls?: { cert: string; key: string };
    limits: RelayLimits & { maxConnections: number; maxConnectionsPerClient: number };
    backendPort: number;
    peers: SharedArrayBuffer;
    counters: SharedArrayBuffer;
  }
  | { type: "backend"; port: number }
  | { type: "stop" }
  | { type: "close" };

/** What the gate sends back. */
export type FromGate =
  | { type: "listening"; addr: Deno.NetAddr }
  | { type: "failed"; error: string }
  | { type: "log"; level: "info" | "warn" | "error"; msg: string; fields: Record<string, unknown> }
  | { type: "stopped" }
  | { type: "closed" };

/** Slots of the shared counters (Float64, written by the gate only). */
export const COUNTER = {
  open: 0,
  acceptErrors: 1,
  refusedTotal: 2,
  refusedClient: 3,
  refusedResources: 4,
  closed: 5, // + index in CLOSE_REASONS
} as const;
/** Number of shared counters. */
export const COUNTERS = COUNTER.closed + CLOSE_REASONS.length;

const REFUSAL_WRITE_MS = 2_000;
const MAX_ACCEPT_BACKOFF_MS = 1_000;
const SERVICE_UNAVAILABLE = closingResponse(
  "503 Service Unavailable",
  "Too many connections: retry shortly\n",
  "Retry-After: 1\r\n",
);

const post = (message: FromGate) => self.postMessage(message);
const log = (level: "info" | "warn" | "error", msg: string, fields: Record<string, unknown>) =>
  post({ type: "log", level, msg, fields });

let listener: Deno.Listener | undefined;
let backendPort = 0;
let closing = false;
let accepting: Promise<void> | undefined;
const relays = new Set<ConnectionRelay>();

self.onmessage = async (event: MessageEvent<ToGate>) => {
  const message = event.data;
  if (message.type === "backend") backendPort = message.port;
  else if (message.type === "start") start(message);
  else if (message.type === "stop") {
    closing = true;
    try {
      listener?.close();
    } catch { /* already closed */ }
    await accepting;
    post({ type: "stopped" });
  } else if (message.type === "close") {
    for (const relay of relays) relay.close();
    post({ type: "closed" });
  }
};

function start(options: Extract<ToGate, { type: "start" }>): void {
  const { limits } = options;
  backendPort = options.backendPort;
  const peers = new PeerTable(options.peers);
  const counters = new Float64Array(options.counters);
  const perClient = new Map<string, number>();
  // TLS runs over connections the gate accepts as plain TCP (see tls_conn.ts): a Deno.listenTls
  // connection cannot be closed while its handshake is pending, so the head deadline (which
  // includes the handshake) could not end it.
  const { tls } = options;
  try {
    // reusePort (SO_REUSEPORT) is an unstable option: deno.json enables `unstable: ["net"]`.
    const listen: Deno.TcpListenOptions & { reusePort?: boolean } = {
      hostname: options.hostname,
      port: options.port,
      reusePort: options.reusePort,
    };
    listener = Deno.listen(listen);
  } catch (error) {
    post({ type: "failed", error: String(error) });
    return;
  }
  post({ type: "listening", addr: listener.addr as Deno.NetAddr });

  // A flood must not flood the log: each kind of warning at most once per 10 s.
  const warned = new Map<string, number>();
  const warnAtMostEvery10s = (msg: string, fields: Record<string, unknown>) => {
    const now = Date.now();
    if (now - (warned.get(msg) ?? 0) < 10_000) return;
    warned.set(msg, now);
    log("warn", msg, { ...fields, connections: relays.size });
  };
  const onClosed = (reason: typeof CLOSE_REASONS[number]) =>
    counters[COUNTER.closed + CLOSE_REASONS.indexOf(reason)]++;

  const refuse = async (conn: ClientConn, reason: "total" | "client" | "resources") => {
    counters[
      reason === "total"
        ? COUNTER.refusedTotal
        : reason === "client"
        ? COUNTER.refusedClient
        : COUNTER.refusedResources
    ]++;
    warnAtMostEvery10s("connection refused: too many connections", {
      reason,
      client: (conn.remoteAddr as Deno.NetAddr).hostname,
    });
    const timer = setTimeout(() => close(conn), REFUSAL_WRITE_MS);
    try {
      let at = 0;
      while (at < SERVICE_UNAVAILABLE.length) {
        at += await conn.write(SERVICE_UNAVAILABLE.subarray(at));
      }
    } catch { /* the client went away */ }
    clearTimeout(timer);
    close(conn);
  };

  const admit = async (conn: ClientConn) => {
    const peer = conn.remoteAddr as Deno.NetAddr;
    const key = peer.hostname;
    if (relays.size >= limits.maxConnections) return refuse(conn, "total");
    const fromClient = perClient.get(key) ?? 0;
    if (fromClient >= limits.maxConnectionsPerClient) return refuse(conn, "client");
    perClient.set(key, fromClient + 1);
    let upstream: Deno.TcpConn;
    try {
      upstream = await Deno.connect({ hostname: "127.0.0.1", port: backendPort });
    } catch (error) {
      // Out of descriptors for the loopback leg (or the server restarting): as for a cap.
      release(key);
      warnAtMostEvery10s("cannot relay a connection", { error: String(error) });
      return refuse(conn, "resources");
    }
    // Relayed writes are often small (an answer's head): Nagle would hold them for an ACK.
    for (const leg of [upstream, conn]) {
      try {
        leg.setNoDelay(true);
      } catch { /* the client already went away */ }
    }
    const localPort = (upstream.localAddr as Deno.NetAddr).port;
    const generation = peers.set(localPort, peer);
    const relay = new ConnectionRelay(conn, upstream, limits, onClosed);
    relays.add(relay);
    counters[COUNTER.open] = relays.size;
    try {
      await relay.run();
    } finally {
      relay.close();
      peers.delete(localPort, generation);
      relays.delete(relay);
      counters[COUNTER.open] = relays.size;
      release(key);
    }
  };
  const release = (key: string) => {
    const left = (perClient.get(key) ?? 1) - 1;
    if (left > 0) perClient.set(key, left);
    else perClient.delete(key);
  };

  accepting = (async () => {
    let backoff = 0;
    while (!closing) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener!.accept() as Deno.TcpConn;
      } catch (error) {
        if (closing || error instanceof Deno.errors.BadResource) break;
        counters[COUNTER.acceptErrors]++;
        if (backoff === 0) {
          log("error", "cannot accept connections; retrying", {
            error: String(error),
            connections: relays.size,
          });
        }
        backoff = Math.min(backoff ? backoff * 2 : 10, MAX_ACCEPT_BACKOFF_MS);
        await new Promise((resolve) => setTimeout(resolve, backoff));
        continue;
      }
      if (backoff) {
        log("info", "accepting connections again", { connections: relays.size });
        backoff = 0;
      }
      void admit(tls ? new TlsServerConn(conn, tls) : conn);
    }
  })();
}

function close(conn: ClientConn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}

/** A whole HTTP/1.1 response that closes the connection, as bytes. */
function closingResponse(status: string, body: string, headers = ""): Uint8Array {
  return new TextEncoder().encode(
    `HTTP/1.1 ${status}\r\n${headers}Connection: close\r\nContent-Type: text/plain\r\n` +
      `Content-Length: ${body.length}\r\n\r\n${body}`,
  );
}
