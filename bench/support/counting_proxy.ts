/**
 * A TCP proxy on 127.0.0.1 that counts the bytes a server sends back through it (headers, bodies,
 * everything on the wire), for figures of what a server serves: `await using proxy = ...`.
 */
import { freePort } from "./net.ts";

/** A running counting proxy. */
export interface CountingProxy extends AsyncDisposable {
  url: string;
  port: number;
  /** Bytes the upstream server has sent to clients through the proxy so far. */
  readonly served: number;
  /** Connections accepted so far. */
  readonly connections: number;
}

/** Listens on a free port and forwards every connection to 127.0.0.1:`upstreamPort`. */
export function startCountingProxy(upstreamPort: number): CountingProxy {
  const port = freePort();
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  let served = 0;
  let connections = 0;
  const open = new Set<Deno.Conn>();
  const pipes: Promise<unknown>[] = [];
  const pipe = async (from: Deno.Conn, to: Deno.Conn, count: boolean) => {
    const buffer = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const n = await from.read(buffer);
        if (n === null) break;
        if (count) served += n;
        let written = 0;
        while (written < n) written += await to.write(buffer.subarray(written, n));
      }
    } catch { /* a side closed */ }
    try {
      to.closeWrite();
    } catch { /* already closed */ }
  };
  const accepting = (async () => {
    for await (const client of listener) {
      connections++;
      open.add(client);
      pipes.push((async () => {
        let upstream: Deno.Conn | undefined;
        try {
          upstream = await Deno.connect({ hostname: "127.0.0.1", port: upstreamPort });
          open.add(upstream);
          await Promise.all([pipe(client, upstream, false), pipe(upstream, client, true)]);
        } finally {
          for (const conn of [client, upstream]) {
            if (!conn) continue;
            open.delete(conn);
            try {
              conn.close();
            } catch { /* closed */ }
          }
        }
      })());
    }
  })();
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get served() {
      return served;
    },
    get connections() {
      return connections;
    },
    async [Symbol.asyncDispose]() {
      listener.close();
      await accepting.catch(() => {});
      for (const conn of open) {
        try {
          conn.close();
        } catch { /* closed */ }
      }
      await Promise.allSettled(pipes);
    },
  };
}
