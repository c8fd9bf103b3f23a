/**
 * A fleet's own recall webhook (issue 12): set by a fleet admin with a secret shown once, it
 * receives the fleet's finished recalls signed with that secret, over the server's
 * RECALL_WEBHOOK_URL, which other fleets still use; a rotated secret signs from then on.
 */
import assert from "node:assert/strict";
import { deadLetterTopic } from "../../lib/bus/mod.ts";
import { RECALLS_TOPIC, webhookSignature } from "../../lib/recall/mod.ts";
import { makeFleet, startTestPlatform } from "../support/platform.ts";

const SERVER_SECRET = "whsec-server-0123456789";

async function json(response: Response, status: number, label = "") {
  const text = await response.text();
  assert.equal(
    response.status,
    status,
    `${label}: expected ${status}, got ${response.status} ${text}`,
  );
  return text ? JSON.parse(text) : undefined;
}

/** A receiver on 127.0.0.1 that keeps what each path was sent. */
function receiver() {
  const received: Array<{ path: string; headers: Headers; body: string }> = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    received.push({
      path: new URL(request.url).pathname,
      headers: request.headers,
      body: await request.text(),
    });
    return new Response(null, { status: 204 });
  });
  return {
    received,
    url: (path: string) => `http://127.0.0.1:${server.addr.port}${path}`,
    /** Waits (bounded) until `count` deliveries arrived. */
    async deliveries(count: number) {
      for (let i = 0; i < 300 && received.length < count; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal(received.length, count, "deliveries");
      return received;
    },
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

Deno.test("a fleet's webhook gets its finished recalls signed with its own secret", async () => {
  await using hooks = receiver();
  await using p = await startTestPlatform({
    RECALL_WEBHOOK_URL: hooks.url("/server"),
    RECALL_WEBHOOK_SECRET: SERVER_SECRET,
    // The receiver is on loopback, which fleets' webhooks may not reach by default.
    WEBHOOK_ALLOW_PRIVATE: "on",
  });
  const alpha = await makeFleet(p, "Alpha");
  const beta = await makeFleet(p, "Beta");
  const base = `/api/v1/fleets/${alpha.fleetId}`;
  const admin = alpha.tokens.admin;
  await json(await p.call("GET", `${base}/webhook`, { token: admin }), 404, "none yet");
  await json(
    await p.call("PUT", `${base}/webhook`, {
      token: alpha.tokens.operator,
      json: { url: hooks.url("/alpha") },
    }),
    403,
    "operator",
  );
  await json(
    await p.call("PUT", `${base}/webhook`, { token: admin, json: { url: "ftp://x.example/h" } }),
    400,
    "not http",
  );
  const set = await json(
    await p.call("PUT", `${base}/webhook`, { token: admin, json: { url: hooks.url("/alpha") } }),
    200,
    "set",
  );
  assert.match(set.secret, /^whsec_[0-9a-f]{64}$/);
  const shown = await json(await p.call("GET", `${base}/webhook`, { token: admin }), 200);
  assert.deepEqual([shown.url, shown.secret], [hooks.url("/alpha"), null], "shown once");
  const kept = await json(
    await p.call("PUT", `${base}/webhook`, { token: admin, json: { url: hooks.url("/alpha") } }),
    200,
  );
  assert.equal(kept.secret, null, "the secret in use stays");

  /** Files and cancels a recall of `fleet`: a finished recall. */
  const finish = async (fleet: typeof alpha) => {
    const camera = `/api/v1/fleets/${fleet.fleetId}/vehicles/${fleet.vehicleId}/cameras/` +
      fleet.cameraId;
    const recall = await json(
      await p.call("POST", `${camera}/recalls`, {
        token: fleet.tokens.operator,
        json: { from: "2026-12-06T08:00:00Z", to: "2026-12-06T08:01:00Z" },
      }),
      201,
    );
    await json(
      await p.call("DELETE", `/api/v1/fleets/${fleet.fleetId}/recalls/${recall.id}`, {
        token: fleet.tokens.operator,
      }),
      200,
    );
    return recall.id as string;
  };
  const signedWith = async (delivery: { headers: Headers; body: string }, secret: string) => {
    const [, t, v1] = delivery.headers.get("motorcade-signature")!.match(
      /^t=(\d+),v1=([0-9a-f]{64})$/,
    )!;
    return v1 === await webhookSignature(secret, Number(t), delivery.body);
  };

  const first = await finish(alpha);
  const [alphaHook] = await hooks.deliveries(1);
  assert.equal(alphaHook.path, "/alpha");
  assert.equal(JSON.parse(alphaHook.body).recall.id, first);
  assert.ok(await signedWith(alphaHook, set.secret), "the fleet's secret");
  assert.ok(!await signedWith(alphaHook, SERVER_SECRET));

  const other = await finish(beta);
  const [, betaHook] = await hooks.deliveries(2);
  assert.deepEqual([betaHook.path, JSON.parse(betaHook.body).recall.id], ["/server", other]);
  assert.ok(await signedWith(betaHook, SERVER_SECRET), "other fleets: the server's");

  const rotated = await json(
    await p.call("PUT", `${base}/webhook`, {
      token: admin,
      json: { url: hooks.url("/alpha2"), rotateSecret: true },
    }),
    200,
  );
  assert.match(rotated.secret, /^whsec_/);
  assert.notEqual(rotated.secret, set.secret);
  await finish(alpha);
  const [, , third] = await hooks.deliveries(3);
  assert.equal(third.path, "/alpha2");
  assert.ok(await signedWith(third, rotated.secret), "the new secret");

  await json(await p.call("DELETE", `${base}/webhook`, { token: admin }), 204);
  await json(await p.call("DELETE", `${base}/webhook`, { token: admin }), 404, "again");
  await finish(alpha);
  const [, , , fourth] = await hooks.deliveries(4);
  assert.equal(fourth.path, "/server", "removed: the server's applies again");
});

Deno.test("a fleet's webhook cannot reach the server's own network, when set or when posting", async () => {
  await using hooks = receiver();
  await using p = await startTestPlatform({
    RECALL_WEBHOOK_URL: hooks.url("/server"),
    RECALL_WEBHOOK_SECRET: SERVER_SECRET,
  });
  const alpha = await makeFleet(p, "Alpha");
  const base = `/api/v1/fleets/${alpha.fleetId}`;
  const admin = alpha.tokens.admin;
  const refused = [
    [hooks.url("/alpha"), "loopback"],
    ["http://10.1.2.3/hook", "private"],
    ["http://[::1]:8080/hook", "loopback"],
    ["http://169.254.169.254/latest/meta-data/", "linkLocal"],
    ["http://[::ffff:127.0.0.1]/hook", "loopback"],
    ["http://100.64.0.1/hook", "carrierGradeNat"],
    ["http://[fd12::1]/hook", "uniqueLocal"],
    ["http://0.0.0.0:9/hook", "unspecified"],
  ];
  for (const [url, range] of refused) {
    const problem = await json(
      await p.call("PUT", `${base}/webhook`, { token: admin, json: { url } }),
      400,
      url,
    );
    assert.match(problem.detail, new RegExp(`not a public address \\(${range}\\)`), url);
    assert.equal(problem.issues[0].path, "url");
  }
  await json(await p.call("GET", `${base}/webhook`, { token: admin }), 404, "nothing was set");
  // A public address is taken without being contacted; a name that does not resolve yet too
  // (each post checks again).
  for (const url of ["https://8.8.8.8/motorcade", "https://hooks.ops.example.com/motorcade"]) {
    await json(await p.call("PUT", `${base}/webhook`, { token: admin, json: { url } }), 200, url);
  }

  // A webhook that points inside (here written to the catalog as a name that resolved elsewhere
  // when it was set would be) is not posted to: the delivery fails and is set aside.
  await p.catalog.webhooks.put(
    { fleetId: alpha.fleetId, url: hooks.url("/alpha"), secret: "whsec_test" },
    new Date(),
  );
  const letters: string[] = [];
  const consumer = p.bus.subscribe<{ error: string }>(
    deadLetterTopic(RECALLS_TOPIC),
    "test-letters",
    (batch) => {
      for (const { value } of batch) letters.push(value.error);
      return Promise.resolve();
    },
  );
  try {
    const camera = `${base}/vehicles/${alpha.vehicleId}/cameras/${alpha.cameraId}`;
    const recall = await json(
      await p.call("POST", `${camera}/recalls`, {
        token: alpha.tokens.operator,
        json: { from: "2026-12-06T08:00:00Z", to: "2026-12-06T08:01:00Z" },
      }),
      201,
    );
    await json(
      await p.call("DELETE", `${base}/recalls/${recall.id}`, { token: alpha.tokens.operator }),
      200,
    );
    for (let i = 0; i < 600 && letters.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(letters.length, 1, "the delivery was set aside");
    assert.match(letters[0], /127\.0\.0\.1 is not a public address \(loopback\)/);
    assert.equal(hooks.received.length, 0, "nothing was posted");
  } finally {
    await consumer.close();
  }
});
