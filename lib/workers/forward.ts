/**
 * Requests an ingest worker does not answer itself (a vehicle's heartbeat or token refresh on the
 * connection of its last upload, a playlist, the signaling WebSocket: the kernel spreads
 * connections over every listener of the port, whatever they carry) go to the server's thread
 * over loopback, with the client's address, and their answers come back unchanged but for their
 * compression, which the worker applies for its client (see {@linkcode forwardTo}).
 */
import { compressAnswer } from "../http/mod.ts";
import { FORWARDED_PEER_HEADER } from "./messages.ts";

/** Headers of one hop only, never forwarded. */
const HOP_BY_HOP = [
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
];

/**
 * A handler forwarding every request to `origin` (the server thread's forward listener), the
 * client's address carried in {@linkcode FORWARDED_PEER_HEADER} with `secret`; WebSockets are
 * relayed message by message.
 */
export function forwardTo(origin: string, secret: string): Deno.ServeHandler<Deno.NetAddr> {
  return async function forward(request, info) {
    const url = new URL(request.url);
    const target = `${origin}${url.pathname}${url.search}`;
    const peer = `${secret} ${JSON.stringify(info.remoteAddr)}`;
    if (request.headers.get("upgrade")?.toLowerCase() === "websocket") {
      return relayWebSocket(request, target.replace(/^http/, "ws"), peer);
    }
    const headers = new Headers(request.headers);
    for (const name of HOP_BY_HOP) headers.delete(name);
    headers.set(FORWARDED_PEER_HEADER, peer);
    // Deno's fetch decompresses whatever it is sent yet keeps Content-Encoding, whoever asked for
    // it: relayed, a compressed answer reached the client as plain bytes labelled brotli. So the
    // server's thread answers uncompressed and this worker compresses for its client.
    headers.set("accept-encoding", "identity");
    const hasBody = request.method !== "GET" && request.method !== "HEAD";
    let answer: Response;
    try {
      answer = await fetch(target, {
        method: request.method,
        headers,
        body: hasBody ? request.body : undefined,
        redirect: "manual",
      });
    } catch (error) {
      return Response.json(
        {
          type: "about:blank",
          title: "Service Unavailable",
          status: 503,
          detail: `Cannot reach the server's thread from an ingest worker: ${String(error)}`,
        },
        {
          status: 503,
          headers: { "retry-after": "1", "content-type": "application/problem+json" },
        },
      );
    }
    const out = new Headers(answer.headers);
    for (const name of HOP_BY_HOP) out.delete(name);
    if (out.has("content-encoding")) {
      // Decoded already by fetch (see above): the labels of the encoded bytes no longer hold.
      out.delete("content-encoding");
      out.delete("content-length");
    }
    const relayed = new Response(answer.body, {
      status: answer.status,
      statusText: answer.statusText,
      headers: out,
    });
    return compressAnswer(
      request.method,
      request.headers.get("accept-encoding") ?? undefined,
      relayed,
    );
  };
}

/**
 * Opens a WebSocket to `target` first and, once it is open, accepts the client's and relays their
 * messages both ways; when `target` refuses, the client gets a 503 instead of a socket that closes.
 */
async function relayWebSocket(request: Request, target: string, peer: string): Promise<Response> {
  const headers: Record<string, string> = { [FORWARDED_PEER_HEADER]: peer };
  for (const name of ["origin", "cookie", "authorization", "user-agent"]) {
    const value = request.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  // Deno's non-standard WebSocketOptions (handshake headers); the window lib types only protocols.
  const options = { headers } as unknown as string[];
  const server = new WebSocket(target, options);
  server.binaryType = "arraybuffer";
  const early: Array<string | ArrayBuffer> = [];
  server.onmessage = (event) => early.push(event.data);
  const opened = await new Promise<boolean>((resolve) => {
    server.onopen = () => resolve(true);
    server.onerror = () => resolve(false);
    server.onclose = () => resolve(false);
  });
  if (!opened) {
    return Response.json(
      {
        type: "about:blank",
        title: "Service Unavailable",
        status: 503,
        detail: "The server's thread did not accept this WebSocket; retry shortly",
      },
      { status: 503, headers: { "retry-after": "1", "content-type": "application/problem+json" } },
    );
  }
  const { socket: client, response } = Deno.upgradeWebSocket(request, { idleTimeout: 60 });
  client.binaryType = "arraybuffer";
  const closeBoth = (code?: number, reason?: string) => {
    for (const socket of [client, server]) {
      if (socket.readyState === WebSocket.CLOSED || socket.readyState === WebSocket.CLOSING) {
        continue;
      }
      try {
        // Only 1000 and 3000-4999 may be sent by an application.
        socket.close(code && (code >= 3000 || code === 1000) ? code : 1000, reason);
      } catch { /* closed meanwhile */ }
    }
  };
  client.onopen = () => {
    for (const data of early.splice(0)) client.send(data);
  };
  server.onmessage = (event) => {
    if (client.readyState === WebSocket.OPEN) client.send(event.data);
    else early.push(event.data);
  };
  client.onmessage = (event) => {
    if (server.readyState === WebSocket.OPEN) server.send(event.data);
  };
  client.onclose = (event) => closeBoth(event.code, event.reason);
  server.onclose = (event) => closeBoth(event.code, event.reason);
  client.onerror = () => closeBoth();
  server.onerror = () => closeBoth();
  return response;
}
