/**
 * A vehicle's network link for tests: a TCP relay on 127.0.0.1 to a server that can be cut (every
 * connection dropped, new ones refused) and restored, while the server itself keeps running for
 * the operator. It counts the bytes that cross it both ways, as a cellular modem would.
 */
import { freePort } from "./ports.ts";

/** A running link. */
export interface VehicleLink extends AsyncDisposable {
  url: string;
  /** `host:port` the agent is allowed to reach. */
  host: string;
  /** Bytes sent up (vehicle to server) and down so far. */
  readonly bytes: { up: number; down: number };
  /** Drops every connection and refuses new ones until {@linkcode restore}. */
  cut(): void;
  restore(): void;
}

/**
 * Starts a link to the server listening on 127.0.0.1:`upstreamPort`; `upBytesPerSecond` shapes
 * the uplink (a cellular modem's rate), all connections together.
 */
export function startVehicleLink(
  upstreamPort: number,
  options: { upBytesPerSecond?: number } = {},
): VehicleLink {
  const port = freePort();
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  const bytes = { up: 0, down: 0 };
  const open = new Set<Deno.Conn>();
  const pipes = new Set<Promise<void>>();
  let down = false;
  /** When the shaped uplink is free again (performance.now() time). */
  let upFreeAt = 0;
  const shape = async (n: number) => {
    const rate = options.upBytesPerSecond;
    if (!rate) return;
    const now = performance.now();
    upFreeAt = Math.max(upFreeAt, now) + (n / rate) * 1000;
    const wait = upFreeAt - now; // the chunk has arrived once the link has carried it
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  };
  const close = (conn: Deno.Conn) => {
    open.delete(conn);
    try {
      conn.close();
    } catch { /* closed */ }
  };
  const pipe = async (from: Deno.Conn, to: Deno.Conn, way: "up" | "down") => {
    const buffer = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const n = await from.read(buffer);
        if (n === null || down) break;
        bytes[way] += n;
        if (way === "up") await shape(n);
        let written = 0;
        while (written < n) written += await to.write(buffer.subarray(written, n));
      }
    } catch { /* a side closed */ }
    close(from);
    close(to);
  };
  const accepting = (async () => {
    for await (const client of listener) {
      if (down) {
        client.close();
        continue;
      }
      open.add(client);
      const relay = (async () => {
        try {
          const upstream = await Deno.connect({ hostname: "127.0.0.1", port: upstreamPort });
          open.add(upstream);
          await Promise.all([pipe(client, upstream, "up"), pipe(upstream, client, "down")]);
        } catch {
          close(client);
        }
      })();
      pipes.add(relay);
      relay.finally(() => pipes.delete(relay));
    }
  })();
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    bytes,
    cut() {
      down = true;
      for (const conn of [...open]) close(conn);
    },
    restore() {
      down = false;
    },
    async [Symbol.asyncDispose]() {
      down = true;
      listener.close();
      await accepting.catch(() => {});
      for (const conn of [...open]) close(conn);
      await Promise.allSettled([...pipes]);
    },
  };
}
