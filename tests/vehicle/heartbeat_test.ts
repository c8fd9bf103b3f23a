import assert from "node:assert/strict";
import { silentLogger } from "../../lib/log/mod.ts";
import { Heartbeat, type HeartbeatBody } from "../../vehicle/heartbeat.ts";

/** Waits until `check` holds, up to `timeoutMs`. */
async function eventually(what: string, check: () => boolean, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const BODY: HeartbeatBody = {
  sentAt: "2026-12-07T10:00:00.000Z",
  uptimeS: 1,
  clock: { state: "ok", lastJumpAt: null, jumps: 0 },
  cameras: [],
};

Deno.test("heartbeat hands the server's answer on, and sends an extra one soon when asked", async () => {
  const answers = [Response.json({ version: "v1" }), new Response(null, { status: 204 })];
  let received = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    await request.json();
    received++;
    return answers.shift() ?? new Response(null, { status: 204 });
  });
  try {
    const answered: unknown[] = [];
    const heartbeat = new Heartbeat({
      serverUrl: `http://127.0.0.1:${server.addr.port}`,
      tokens: { token: () => Promise.resolve("t"), invalidate() {} },
      intervalMs: 60_000,
      logger: silentLogger,
      report: () => BODY,
      answered: (answer) => void answered.push(answer),
    });
    assert.equal(await heartbeat.send(), true);
    assert.equal(await heartbeat.send(), true);
    assert.deepEqual(answered, [{ version: "v1" }], "a 204 has nothing to hand on");
    heartbeat.soon(100);
    heartbeat.soon(100); // one extra heartbeat for news that come together
    await eventually("the extra heartbeat", () => received === 3, 5_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(received, 3);
    await heartbeat.close();
  } finally {
    await server.shutdown();
  }
});
