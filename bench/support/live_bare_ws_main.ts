/**
 * Baseline of `bench/live_idle.ts`: the least a Deno process can hold a signaling connection
 * with. A bare `Deno.serve` WebSocket endpoint (same `idleTimeout` as the server's) that answers
 * any `auth` message with `ready` and echoes everything else. Prints `{url}` once listening;
 * exits when stdin ends.
 */
import { reply } from "./live_worker.ts";

const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
  if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return new Response("WebSocket only", { status: 400 });
  }
  const { socket, response } = Deno.upgradeWebSocket(request, { idleTimeout: 60 });
  socket.onmessage = (event) => {
    const text = String(event.data);
    socket.send(text.includes('"auth"') ? JSON.stringify({ type: "ready", role: "viewer" }) : text);
  };
  return response;
});
reply({ url: `ws://127.0.0.1:${server.addr.port}/api/v1/live/ws` });
for await (const _ of Deno.stdin.readable) { /* the parent holds stdin open while it needs us */ }
Deno.exit(0); // open connections would hold a graceful shutdown
