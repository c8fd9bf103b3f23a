/**
 * The connection gate in front of the real server (`main.ts` as a child): header deadline, idle
 * timeout, connection caps, running out of file descriptors, WebSocket message size, early
 * refusals that stop reading, and the client address behind a proxy. Loopback only; every wait is
 * bounded, and timeouts are configured short so the bounds can be generous.
 */
import assert from "node:assert/strict";
import { createLogger } from "../../lib/log/mod.ts";
import { serveGated } from "../../lib/http/mod.ts";
import { startServer, type TestServer } from "../support/server.ts";
import { makeTestCertificate } from "../support/tls.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const INGEST = "/api/v1/ingest/vehicles/v1/cameras/front/recordings/r1/segments/1";

function portOf(server: { url: string }): number {
  return Number(new URL(server.url).port);
}

function connect(server: TestServer): Promise<Deno.TcpConn> {
  return Deno.connect({ hostname: "127.0.0.1", port: portOf(server) });
}

/** Reads until the peer closes (or resets) or `withinMs` passes. */
async function readToEnd(
  conn: Deno.Conn,
  withinMs: number,
): Promise<{ text: string; closed: boolean; first?: number }> {
  let text = "";
  let first: number | undefined;
  const buffer = new Uint8Array(16 * 1024);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), withinMs);
  });
  try {
    while (true) {
      const n = await Promise.race([conn.read(buffer).catch(() => null), timeout]);
      if (n === "timeout") return { text, closed: false, first };
      if (n === null) return { text, closed: true, first };
      first ??= buffer[0];
      text += decoder.decode(buffer.subarray(0, n));
    }
  } finally {
    clearTimeout(timer);
  }
}

/** Reads one answer to a request (up to its body, which must contain `until`). */
async function readAnswer(conn: Deno.Conn, until: string): Promise<string> {
  let text = "";
  const buffer = new Uint8Array(16 * 1024);
  for (let i = 0; i < 100 && !text.includes(until); i++) {
    const n = await conn.read(buffer);
    if (n === null) break;
    text += decoder.decode(buffer.subarray(0, n));
  }
  return text;
}

/** A plain GET /healthz succeeds within a bounded number of tries. */
async function healthy(server: TestServer): Promise<void> {
  let last = "";
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      const response = await fetch(`${server.url}/healthz`);
      const body = await response.text();
      if (response.status === 200) return;
      last = `${response.status} ${body}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`GET /healthz never answered 200: ${last}`);
}

function rssKiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
}

/** Writes `bytes` repeatedly until `limit` bytes went out or the connection failed. */
async function flood(conn: Deno.Conn, bytes: Uint8Array, limit: number): Promise<number> {
  let sent = 0;
  const deadline = performance.now() + 20_000;
  try {
    while (sent < limit && performance.now() < deadline) {
      for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
      sent += bytes.length;
    }
  } catch { /* closed or reset by the server: what we expect */ }
  return sent;
}

Deno.test({
  name:
    "gate closes half-sent heads after HTTP_HEADER_TIMEOUT and idle connections after HTTP_IDLE_TIMEOUT",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = await startServer({
      HTTP_HEADER_TIMEOUT: "1s",
      HTTP_IDLE_TIMEOUT: "2s",
    });

    const halfHead = await connect(server);
    await halfHead.write(encoder.encode("GET /healthz HTTP/1.1\r\nHost: x\r\n"));
    const cut = await readToEnd(halfHead, 15_000);
    assert.ok(cut.closed, "a half-sent head stays open");
    assert.match(cut.text, /^HTTP\/1\.1 408 /);
    halfHead.close();

    const silent = await connect(server);
    assert.ok((await readToEnd(silent, 15_000)).closed, "a connection that says nothing stays");
    silent.close();

    // Kept alive between requests as long as it is used, closed once idle.
    const keptAlive = await connect(server);
    const get = encoder.encode("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    for (let i = 0; i < 2; i++) {
      await keptAlive.write(get);
      assert.match(await readAnswer(keptAlive, '"ok"'), /^HTTP\/1\.1 200 /);
    }
    const idle = await readToEnd(keptAlive, 15_000);
    assert.ok(idle.closed, "an idle kept-alive connection stays open");
    assert.equal(idle.text, "");
    keptAlive.close();
    await healthy(server);
  },
});

Deno.test({
  name: "gate closes a TLS connection whose handshake or head is not done by HTTP_HEADER_TIMEOUT",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "motorcade-tls-" });
    try {
      const tls = await makeTestCertificate(dir);
      await using server = await startServer({
        TLS_CERT_FILE: tls.certFile,
        TLS_KEY_FILE: tls.keyFile,
        HTTP_HEADER_TIMEOUT: "1s",
      });
      // Never sends a ClientHello; sends half of one; finishes the handshake but not its head.
      const silent = await connect(server);
      const partial = await connect(server);
      await partial.write(new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00]));
      const handshaken = await Deno.connectTls({
        hostname: "127.0.0.1",
        port: portOf(server),
        caCerts: [tls.caPem],
      });
      await handshaken.handshake();
      await handshaken.write(encoder.encode("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
      const [a, b, c] = await Promise.all(
        [silent, partial, handshaken].map((conn) => readToEnd(conn, 10_000)),
      );
      for (const conn of [silent, partial, handshaken]) conn.close();
      assert.ok(a.closed, "a client that never starts its handshake is still connected after 10 s");
      assert.ok(b.closed, "a client that stops mid-handshake is still connected after 10 s");
      assert.ok(c.closed && c.text.startsWith("HTTP/1.1 408"), `after the handshake: ${c.text}`);
      // Clients that do their part are served.
      const client = Deno.createHttpClient({ caCerts: [tls.caPem] });
      try {
        const response = await fetch(`${server.url}/healthz`, { client });
        assert.equal(response.status, 200);
        await response.body?.cancel();
      } finally {
        client.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "gate answers 503 beyond the per-client and total connection caps, and serves again after",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    for (
      const env of [
        { MAX_CONNECTIONS: "100", MAX_CONNECTIONS_PER_IP: "4" },
        { MAX_CONNECTIONS: "4", MAX_CONNECTIONS_PER_IP: "100" },
      ]
    ) {
      await using server = await startServer({ ...env, HTTP_HEADER_TIMEOUT: "60s" });
      const held = await Promise.all(Array.from({ length: 4 }, () => connect(server)));
      // The gate counts a connection once it accepted it: wait until one more is refused.
      let refused = "";
      for (let attempt = 0; attempt < 50 && !refused; attempt++) {
        const extra = await connect(server);
        const { text, closed } = await readToEnd(extra, 2_000);
        extra.close();
        if (closed && text.startsWith("HTTP/1.1 503")) refused = text;
      }
      assert.match(refused, /^HTTP\/1\.1 503 /, `no 503 with ${JSON.stringify(env)}`);
      assert.match(refused, /\r\nRetry-After: 1\r\n/i);
      assert.match(refused, /\r\nConnection: close\r\n/i);
      for (const conn of held) conn.close();
      await healthy(server);
    }
  },
});

Deno.test({
  name: "server survives running out of file descriptors and serves again once connections close",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // A cap above what 256 descriptors allow, so the gate really runs out; then the default cap.
    const runs: Record<string, string>[] = [
      { MAX_CONNECTIONS: "5000", MAX_CONNECTIONS_PER_IP: "5000" },
      {},
    ];
    for (const env of runs) {
      await using server = await startServer(
        { ...env, HTTP_HEADER_TIMEOUT: "60s", HTTP_IDLE_TIMEOUT: "60s" },
        { wrapper: ["prlimit", "--nofile=256:256", "--"] },
      );
      const held: Deno.Conn[] = [];
      for (let i = 0; i < 300; i++) {
        try {
          held.push(await connect(server));
        } catch { /* the backlog is full: enough */ }
      }
      // Let the server accept what it can (and fail to accept the rest), then ask for a page.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      for (const conn of held) conn.close();
      await healthy(server);
      const logs = server.logs.join("\n");
      assert.doesNotMatch(logs, /Uncaught|Too many open files \(os error 24\)\s*$/m);
      if (env.MAX_CONNECTIONS) {
        assert.match(logs, /cannot accept connections; retrying|starting it again|cannot relay/);
      } else assert.match(logs, /connection refused: too many connections/);
    }
  },
});

Deno.test({
  name:
    "server logs its open-file limit at start and warns how to raise it when it caps connections",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const wrapper = ["prlimit", "--nofile=1024:1024", "--"];
    {
      await using server = await startServer({}, { wrapper });
      const records = server.logs.flatMap((line) => {
        try {
          return [JSON.parse(line)];
        } catch {
          return [];
        }
      });
      const capacity = records.find((r) => r.msg === "connection capacity");
      assert.equal(capacity?.openFileLimit, 1024);
      assert.equal(capacity?.maxConnections, 298); // (1,024 - 128) / 3 descriptors
      const warning = records.find((r) => r.level === "warn" && /open-file limit caps/.test(r.msg));
      assert.ok(warning, `no warning in:\n${server.logs.join("\n")}`);
      assert.match(warning.msg, /caps connections at 298/);
      assert.match(warning.raise, /LimitNOFILE=/);
    }
    { // A cap set below what the limit allows is the operator's choice: no warning.
      await using server = await startServer({ MAX_CONNECTIONS: "100" }, { wrapper });
      assert.doesNotMatch(server.logs.join("\n"), /open-file limit caps/);
    }
  },
});

Deno.test({
  name: "gate cuts off a 60 MB WebSocket frame before sign-in without the server's memory growing",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // Live on with an external Janus that is not there: the signaling socket still opens.
    await using server = await startServer({
      LIVE: "on",
      JANUS_URL: "ws://127.0.0.1:9",
      JANUS_ADMIN_URL: "http://127.0.0.1:9",
      JANUS_API_SECRET: "api-secret",
      JANUS_ADMIN_SECRET: "admin-secret",
    });
    await healthy(server);
    const before = rssKiB(server.pid);
    const payload = new Uint8Array(1024 * 1024);
    for (let i = 0; i < 10; i++) {
      const conn = await connect(server);
      await conn.write(encoder.encode(
        "GET /api/v1/live/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      ));
      assert.match(await readAnswer(conn, "\r\n\r\n"), /^HTTP\/1\.1 101 /);
      // Binary frame, masked (key 0), 64-bit length of 60 MB.
      const header = new Uint8Array([0x82, 0xff, 0, 0, 0, 0, 0x03, 0x93, 0x87, 0x00, 0, 0, 0, 0]);
      await conn.write(header);
      const sent = await flood(conn, payload, 60_000_000);
      assert.ok(sent < 60_000_000, `the whole 60 MB frame was taken (${sent} bytes)`);
      const { first } = await readToEnd(conn, 5_000);
      // A close frame (1009, message too big), unless the reset came first.
      if (first !== undefined) assert.equal(first, 0x88);
      conn.close();
    }
    await healthy(server);
    const grown = (rssKiB(server.pid) - before) / 1024;
    assert.ok(grown < 100, `server RSS grew by ${grown.toFixed(0)} MB`);
  },
});

Deno.test({
  name: "server stops reading an upload it refused early (413, 401) and closes the connection",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = await startServer();
    const chunk = new Uint8Array(64 * 1024);
    const cases = [
      {
        status: 413,
        head: `PUT ${INGEST} HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n`,
        body: chunk,
      },
      {
        status: 401,
        head: `PUT ${INGEST} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`,
        body: new Uint8Array([...encoder.encode("10000\r\n"), ...chunk, 13, 10]),
      },
    ];
    for (const { status, head, body } of cases) {
      const conn = await connect(server);
      await conn.write(encoder.encode(head));
      const answer = readToEnd(conn, 30_000);
      const sent = await flood(conn, body, 512 * 1024 * 1024);
      const { text, closed } = await answer;
      conn.close();
      assert.match(
        text,
        new RegExp(`^HTTP/1\\.1 ${status} `),
        `no ${status} (closed: ${closed}, ${sent} bytes sent)`,
      );
      assert.ok(closed, `the connection stayed open after ${status}`);
      // Loopback socket buffers take a few MB; before, the server read the whole upload.
      assert.ok(sent < 64 * 1024 * 1024, `${sent} bytes accepted after ${status}`);
    }
    await healthy(server);
  },
});

Deno.test({
  name: "TRUST_PROXY logs the right-most X-Forwarded-For hop, not the forged first one",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = await startServer({ TRUST_PROXY: "true" });
    const response = await fetch(`${server.url}/healthz`, {
      headers: { "x-forwarded-for": "6.6.6.6, 203.0.113.9", "x-request-id": "forged-xff" },
    });
    await response.body?.cancel();
    let line: Record<string, unknown> | undefined;
    for (let i = 0; i < 50 && !line; i++) {
      line = server.logs.map((l) => l.startsWith("{") ? JSON.parse(l) : {})
        .find((record) => record.requestId === "forged-xff");
      if (!line) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(line?.client, "203.0.113.9");
  },
});

Deno.test("gate hands the handler the client's own address and port", async () => {
  const logger = createLogger("error");
  await using server = await serveGated({
    hostname: "127.0.0.1",
    port: 0,
    logger,
    limits: {
      maxConnections: 8,
      maxConnectionsPerClient: 8,
      headerTimeoutMs: 5_000,
      idleTimeoutMs: 5_000,
      webSocketIdleTimeoutMs: 5_000,
      maxWebSocketMessageBytes: 1024,
    },
  }, (_request, info) => Response.json(info.remoteAddr));
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  await conn.write(encoder.encode("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const { text } = await readToEnd(conn, 10_000);
  conn.close();
  const seen = JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4));
  assert.equal(seen.port, (conn.localAddr as Deno.NetAddr).port);
  assert.equal(seen.hostname, "127.0.0.1");
});
