/** The recall webhook: each finished recall is posted, signed, and retried when refused. */
import assert from "node:assert/strict";
import { webhookSignature } from "../../lib/recall/mod.ts";
import { ConfigError, parseConfig } from "../../lib/config/mod.ts";
import { makeFleet, startTestPlatform } from "../support/platform.ts";

const SECRET = "whsec-0123456789abcdef";

Deno.test("a finished recall is posted to the webhook, signed, again after a refusal", async () => {
  const received: Array<{ headers: Headers; body: string; status: number }> = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const body = await request.text();
    // The first delivery is refused: the bus tries again.
    const status = received.length === 0 ? 503 : 204;
    received.push({ headers: request.headers, body, status });
    return new Response(null, { status });
  });
  try {
    await using p = await startTestPlatform({
      RECALL_WEBHOOK_URL: `http://127.0.0.1:${server.addr.port}/hooks/motorcade`,
      RECALL_WEBHOOK_SECRET: SECRET,
    });
    const fleet = await makeFleet(p, "Alpha");
    const camera =
      `/api/v1/fleets/${fleet.fleetId}/vehicles/${fleet.vehicleId}/cameras/${fleet.cameraId}`;
    const filed = await p.call("POST", `${camera}/recalls`, {
      token: fleet.tokens.operator,
      json: { from: "2026-12-06T08:00:00Z", to: "2026-12-06T08:01:00Z" },
    });
    assert.equal(filed.status, 201);
    const recall = await filed.json();
    const cancelled = await p.call(
      "DELETE",
      `/api/v1/fleets/${fleet.fleetId}/recalls/${recall.id}`,
      {
        token: fleet.tokens.operator,
      },
    );
    assert.equal(cancelled.status, 200);
    await cancelled.body?.cancel();

    for (let i = 0; i < 300 && received.length < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.deepEqual(received.map((r) => r.status), [503, 204]);
    const { headers, body } = received[1];
    assert.equal(headers.get("motorcade-event"), "recall.finished");
    assert.equal(headers.get("motorcade-delivery"), recall.id);
    const [, t, v1] = headers.get("motorcade-signature")!.match(/^t=(\d+),v1=([0-9a-f]{64})$/)!;
    assert.ok(Math.abs(Number(t) - Date.now() / 1000) < 60, "a current timestamp");
    assert.equal(v1, await webhookSignature(SECRET, Number(t), body), "signed with the secret");
    assert.notEqual(v1, await webhookSignature("another-secret-0000", Number(t), body));
    const event = JSON.parse(body);
    assert.equal(event.type, "recall.finished");
    assert.deepEqual(
      [event.recall.id, event.recall.state, event.recall.from, event.recall.to],
      [recall.id, "cancelled", "2026-12-06T08:00:00.000Z", "2026-12-06T08:01:00.000Z"],
    );
    assert.ok(event.recall.finishedAt);
  } finally {
    await server.shutdown();
  }
});

Deno.test("the recall webhook needs an http(s) URL and a secret of 16 characters", () => {
  const base = { DATA_DIR: "/tmp/x" };
  assert.throws(
    () => parseConfig({ ...base, RECALL_WEBHOOK_URL: "https://hooks.example.com/m" }),
    (error: Error) => error instanceof ConfigError && /RECALL_WEBHOOK_SECRET/.test(error.message),
  );
  assert.throws(
    () => parseConfig({ ...base, RECALL_WEBHOOK_URL: "ftp://x", RECALL_WEBHOOK_SECRET: SECRET }),
    (error: Error) => error instanceof ConfigError && /RECALL_WEBHOOK_URL/.test(error.message),
  );
  assert.deepEqual(
    parseConfig({
      ...base,
      RECALL_WEBHOOK_URL: "https://h.example/m",
      RECALL_WEBHOOK_SECRET: SECRET,
    })
      .recallWebhook,
    { url: "https://h.example/m", secret: SECRET },
  );
  assert.equal(parseConfig(base).recallWebhook, undefined);
});
