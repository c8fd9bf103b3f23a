/**
 * The soak benchmark's hostile clients, in their own process so they never share an event loop
 * with the normal clients being measured. Over raw TCP (`node:net`), each from one of several
 * loopback source addresses (127.0.0.10 and up, as attackers elsewhere would be): slow headers,
 * idle connections, idle keep-alive connections, huge WebSocket frames before sign-in, a flood of
 * wrong passwords, invented HTTP methods and oversized bodies. Runs until its stdin ends or
 * SIGTERM, then prints one JSON line of what each generator saw.
 *
 *   deno run -A soak_hostile_main.ts '{"port":8080,"email":"…","ingestPath":"/api/v1/ingest/…"}'
 */
import net from "node:net";

/** What the hostile process is told. */
export interface HostileOptions {
  port: number;
  /** Account the sign-in flood guesses the password of. */
  email: string;
  /** An ingest segment path (PUT), for the oversized upload without a token. */
  ingestPath: string;
  /** Connections held open at once by each of slowloris, idle and idle keep-alive. */
  connections?: number;
  /** Sign-ins and invented-method requests per second, each. */
  ratePerSecond?: number;
}

/** Counters of one generator. */
interface Tally {
  /** Answers by status ("closed" when the server closed without one, "error" on a socket error). */
  statuses: Record<string, number>;
  opened: number;
  /** Connections the server closed (not us). */
  closedByServer: number;
  /** How long server-closed connections had lived, ms. */
  lifetimesMs: number[];
  /** Body bytes written before the server answered or closed (oversized bodies, frames). */
  bytesBeforeRefusal: number[];
}

/** What one generator reports at the end. */
export interface HostileTally {
  statuses: Record<string, number>;
  opened: number;
  closedByServer: number;
  lifetimeMsP50: number | null;
  lifetimeMsMax: number | null;
  bytesBeforeRefusalP50: number | null;
  bytesBeforeRefusalMax: number | null;
}

const options: HostileOptions = JSON.parse(Deno.args[0] ?? "{}");
const CONNECTIONS = options.connections ?? 100;
const RATE = options.ratePerSecond ?? 50;
const ADDRESSES = Array.from({ length: 32 }, (_, i) => `127.0.0.${10 + i}`);
let nextAddress = 0;
const address = () => ADDRESSES[nextAddress++ % ADDRESSES.length];
let running = true;
const sockets = new Set<net.Socket>();
const tallies: Record<string, Tally> = {};
const tally = (name: string): Tally =>
  tallies[name] ??= {
    statuses: {},
    opened: 0,
    closedByServer: 0,
    lifetimesMs: [],
    bytesBeforeRefusal: [],
  };
/** Counts an answer; what happens once we are stopping is our doing, not the server's. */
const count = (t: Tally, status: string) => {
  if (running) t.statuses[status] = (t.statuses[status] ?? 0) + 1;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Sockets this process closed itself (their close is not the server's doing). */
const hungUp = new WeakSet<net.Socket>();
const hangUp = (socket: net.Socket) => {
  hungUp.add(socket);
  socket.destroy();
};

/** Opens a connection from the next source address; resolves once connected (or failed). */
function connect(t: Tally): Promise<net.Socket | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port: options.port, localAddress: address() });
    const failed = () => {
      count(t, "cannot connect");
      resolve(undefined);
    };
    socket.once("connect", () => {
      socket.off("error", failed);
      socket.on("error", () => {}); // a reset once connected shows in what the generator saw
      t.opened++;
      sockets.add(socket);
      resolve(socket);
    });
    socket.once("error", failed);
    socket.on("close", () => sockets.delete(socket));
  });
}

/** Resolves when the server closes `socket` (with its lifetime), or after `maxMs`. */
function closed(socket: net.Socket, t: Tally, maxMs: number): Promise<boolean> {
  const opened = performance.now();
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), maxMs);
    let settled = false;
    const done = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (running && !hungUp.has(socket)) {
        t.closedByServer++;
        t.lifetimesMs.push(Math.round(performance.now() - opened));
      }
      resolve(true);
    };
    socket.once("end", done);
    socket.once("close", done);
    socket.on("error", () => {});
  });
}

/** The status of the first response line seen in `data`, if any. */
function statusOf(data: string): string | undefined {
  return /^HTTP\/1\.1 (\d{3})/.exec(data)?.[1];
}

/** Holds one connection that sends a header line every 5 s and never ends its head. */
async function slowloris() {
  const t = tally("slow headers");
  while (running) {
    const socket = await connect(t);
    if (!socket) {
      await sleep(1000);
      continue;
    }
    let answer = "";
    socket.on("data", (d) => answer += d.toString());
    socket.write("GET /healthz HTTP/1.1\r\nHost: soak\r\n");
    const drip = setInterval(() => socket.write(`X-Slow-${Date.now()}: 1\r\n`), 5_000);
    await closed(socket, t, 15 * 60_000);
    clearInterval(drip);
    count(t, statusOf(answer) ?? "closed");
    hangUp(socket);
    await sleep(500);
  }
}

/** Holds one connection that sends nothing (or one request first, with `keepAlive`). */
async function idle(keepAlive: boolean) {
  const t = tally(keepAlive ? "idle keep-alive" : "idle");
  while (running) {
    const socket = await connect(t);
    if (!socket) {
      await sleep(1000);
      continue;
    }
    socket.on("data", () => {});
    if (keepAlive) socket.write("GET /healthz HTTP/1.1\r\nHost: soak\r\n\r\n");
    await closed(socket, t, 15 * 60_000);
    hangUp(socket);
    await sleep(500);
  }
}

/** Writes `chunk` `times` times, waiting for the socket to drain; stops when it closes. */
async function pour(socket: net.Socket, chunk: Uint8Array, bytes: number): Promise<number> {
  let written = 0;
  while (written < bytes && !socket.destroyed && socket.writable && running) {
    const part = chunk.subarray(0, Math.min(chunk.byteLength, bytes - written));
    written += part.byteLength;
    if (!socket.write(part)) {
      await new Promise<void>((resolve) => {
        const go = () => {
          clearTimeout(timer);
          socket.off("drain", go);
          socket.off("close", go);
          resolve();
        };
        const timer = setTimeout(go, 10_000);
        socket.once("drain", go);
        socket.once("close", go);
      });
    }
  }
  return written;
}

const ZEROS = new Uint8Array(64 * 1024);

/** Upgrades to the signaling WebSocket and sends one 60 MB frame before any sign-in message. */
async function hugeFrames() {
  const t = tally("huge WebSocket frames");
  const FRAME_BYTES = 60 * 1024 * 1024;
  while (running) {
    const socket = await connect(t);
    if (!socket) {
      await sleep(1000);
      continue;
    }
    let answer = "";
    socket.on("data", (d) => answer += d.toString("latin1"));
    socket.write(
      "GET /api/v1/live/ws HTTP/1.1\r\nHost: soak\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    const gone = closed(socket, t, 120_000);
    const deadline = Date.now() + 10_000;
    while (!statusOf(answer) && !socket.destroyed && Date.now() < deadline) await sleep(10);
    const status = statusOf(answer) ?? "closed";
    if (status === "101") {
      // FIN + text, masked, 64-bit length; a zero mask key leaves the zeros as they are.
      const header = new Uint8Array(14);
      header[0] = 0x81;
      header[1] = 0x80 | 127;
      new DataView(header.buffer).setBigUint64(2, BigInt(FRAME_BYTES));
      socket.write(header);
      const written = await pour(socket, ZEROS, FRAME_BYTES);
      t.bytesBeforeRefusal.push(written);
      // A server that took it all keeps the socket: end it ourselves after a moment.
      await Promise.race([gone, sleep(2_000)]);
    }
    count(t, status);
    hangUp(socket);
    await sleep(200);
  }
}

/** Sends a whole request with `Connection: close` and returns the answer's status. */
async function once(t: Tally, head: string, body = ""): Promise<void> {
  const socket = await connect(t);
  if (!socket) return;
  let answer = "";
  socket.on("data", (d) => answer += d.toString("latin1"));
  const gone = new Promise((resolve) => {
    socket.once("close", resolve);
    socket.on("error", () => {});
  });
  socket.write(head + body);
  await Promise.race([gone, sleep(30_000)]);
  count(t, statusOf(answer) ?? "closed");
  hangUp(socket);
}

/** Runs `send` `RATE` times a second across `lanes` parallel lanes. */
async function paced(lanes: number, send: (i: number) => Promise<void>) {
  let i = 0;
  await Promise.all(Array.from({ length: lanes }, async () => {
    while (running) {
      const started = performance.now();
      await send(i++);
      await sleep(Math.max(0, (1000 * lanes) / RATE - (performance.now() - started)));
    }
  }));
}

/** Wrong passwords for one account, from every source address in turn. */
function signInFlood() {
  const t = tally("sign-in flood (wrong password)");
  return paced(8, (i) => {
    const body = JSON.stringify({ email: options.email, password: `wrong-password-${i}` });
    return once(
      t,
      "POST /api/v1/auth/login HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\n" +
        `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
      body,
    );
  });
}

const PATHS = ["/healthz", "/api/v1/me", "/api/v1/fleets", "/api/v1/auth/login", "/metrics"];

/** Invented HTTP methods on real paths. */
function junkMethods() {
  const t = tally("invented methods");
  return paced(4, (i) =>
    once(
      t,
      `JUNK${i.toString(36).toUpperCase()} ${PATHS[i % PATHS.length]} HTTP/1.1\r\nHost: soak\r\n` +
        "Connection: close\r\n\r\n",
    ));
}

/** Declares a large body (to sign-in, and to ingest without a token) and pours it. */
async function oversized() {
  const t = tally("oversized bodies");
  let i = 0;
  while (running) {
    const [path, bytes] = i++ % 2 === 0
      ? ["/api/v1/auth/login", 64 * 1024 * 1024]
      : [options.ingestPath, 256 * 1024 * 1024];
    const socket = await connect(t);
    if (!socket) {
      await sleep(1000);
      continue;
    }
    let answer = "";
    socket.on("data", (d) => answer += d.toString("latin1"));
    const method = path.includes("/ingest/") ? "PUT" : "POST";
    socket.write(
      `${method} ${path} HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${bytes}\r\n\r\n`,
    );
    const gone = closed(socket, t, 120_000);
    // Pour until the server answers or closes (an answer alone does not stop a naive client).
    let written = 0;
    while (written < bytes && !socket.destroyed && running) {
      if (statusOf(answer)) break;
      written += await pour(socket, ZEROS, Math.min(1024 * 1024, bytes - written));
    }
    t.bytesBeforeRefusal.push(written);
    await Promise.race([gone, sleep(1_000)]);
    count(t, statusOf(answer) ?? "closed");
    hangUp(socket);
    await sleep(500);
  }
}

const generators = [
  ...Array.from({ length: CONNECTIONS }, () => slowloris()),
  ...Array.from({ length: CONNECTIONS }, () => idle(false)),
  ...Array.from({ length: CONNECTIONS }, () => idle(true)),
  hugeFrames(),
  hugeFrames(),
  signInFlood(),
  junkMethods(),
  oversized(),
];

const stop = async () => {
  if (!running) return;
  running = false;
  for (const socket of sockets) hangUp(socket);
  await Promise.race([Promise.allSettled(generators), sleep(5_000)]);
  const summary = Object.fromEntries(
    Object.entries(tallies).map(([name, t]) => {
      const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
      const lifetimes = sorted(t.lifetimesMs);
      const refused = sorted(t.bytesBeforeRefusal);
      return [name, {
        statuses: t.statuses,
        opened: t.opened,
        closedByServer: t.closedByServer,
        lifetimeMsP50: lifetimes[Math.floor(lifetimes.length / 2)] ?? null,
        lifetimeMsMax: lifetimes.at(-1) ?? null,
        bytesBeforeRefusalP50: refused[Math.floor(refused.length / 2)] ?? null,
        bytesBeforeRefusalMax: refused.at(-1) ?? null,
      }];
    }),
  );
  console.log(JSON.stringify(summary));
  Deno.exit(0);
};
Deno.addSignalListener("SIGTERM", stop);
// The parent ends our stdin to stop us.
void (async () => {
  for await (const _ of Deno.stdin.readable) { /* wait for the end */ }
  await stop();
})();
