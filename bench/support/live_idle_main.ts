/**
 * Load process of `bench/live_idle.ts`: opens signaling WebSockets, authenticates each one at
 * once (`{type:"auth"}`, waits for `ready`), then keeps them idle until told to close or until
 * stdin ends. Commands (JSON lines): `{type:"open", url, token, count, concurrency}` answers
 * `{type:"opened", ready, failed, ms}`; `{type:"close"}` answers `{type:"closed"}`.
 */
import { commands, reply } from "./live_worker.ts";

const sockets: WebSocket[] = [];

/** Opens one connection and authenticates it; resolves true once `ready` arrives. */
function connect(url: string, token: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url);
    const timer = setTimeout(() => done(false), 60_000);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.onmessage = null;
      if (!ok) socket.close();
      resolve(ok);
    };
    socket.onopen = () => socket.send(JSON.stringify({ type: "auth", token }));
    socket.onmessage = (event) => done(String(event.data).includes('"ready"'));
    socket.onerror = () => done(false);
    sockets.push(socket);
  });
}

for await (const command of commands()) {
  if (command.type === "open") {
    const { url, token, count, concurrency } = command as unknown as {
      url: string;
      token: string;
      count: number;
      concurrency: number;
    };
    const started = performance.now();
    let next = 0;
    let ready = 0;
    let failed = 0;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next++;
        if (await connect(url, token)) ready++;
        else failed++;
      }
    }));
    reply({ type: "opened", ready, failed, ms: performance.now() - started });
  } else if (command.type === "close") {
    for (const socket of sockets.splice(0)) socket.close();
    reply({ type: "closed" });
  }
}
Deno.exit(0);
