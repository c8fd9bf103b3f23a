/**
 * The vehicle's event outbox against a real server (issue 12): an event raised while the server
 * is unreachable, or while no agent runs (`vehicle event`), is kept in the state dir and reaches
 * the server once it can; a post repeated after a lost answer is still one event; one the server
 * refuses is set aside, not lost and not resent. The local trigger on 127.0.0.1 (what a
 * telematics unit calls) queues events for the outbox.
 */
import assert from "node:assert/strict";
import { silentLogger } from "../../lib/log/mod.ts";
import { loadAgentConfig } from "../../vehicle/config.ts";
import { EventOutbox, EventTrigger, type QueuedEvent, queueEvent } from "../../vehicle/events.ts";
import { enrolDevice } from "../support/device.ts";
import { makeFleet, startTestPlatform } from "../support/platform.ts";

async function setup() {
  const p = await startTestPlatform();
  const fleet = await makeFleet(p, "Alpha");
  const token = (await enrolDevice(p, fleet.enrolmentCode)).token;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, p.app.fetch);
  const dir = await Deno.makeTempDir({ prefix: "motorcade-events-" });
  const tokens = { token: () => Promise.resolve(token), invalidate() {} };
  const listed = async () => {
    const to = new Date(Date.now() + 60_000).toISOString();
    const response = await p.call(
      "GET",
      `/api/v1/fleets/${fleet.fleetId}/vehicles/${fleet.vehicleId}/events?to=${to}`,
      { token: fleet.tokens.viewer },
    );
    assert.equal(response.status, 200);
    return (await response.json()).events as Array<{ clientId: string; kind: string }>;
  };
  return {
    p,
    dir,
    tokens,
    listed,
    url: `http://127.0.0.1:${server.addr.port}`,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
      await p[Symbol.asyncDispose]();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A URL nothing listens on. */
function deadUrl(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return `http://127.0.0.1:${port}`;
}

/** Resolves with the next `count` events the outbox sends, or rejects after `ms`. */
function sending(count: number, ms = 15_000) {
  const sent: QueuedEvent[] = [];
  let done: () => void;
  const all = new Promise<void>((resolve) => done = resolve);
  let timer: ReturnType<typeof setTimeout>;
  const timeout = new Promise<never>((_, reject) =>
    timer = setTimeout(() => reject(new Error(`only ${sent.length} of ${count} sent`)), ms)
  );
  return {
    sent: (event: QueuedEvent) => {
      sent.push(event);
      if (sent.length === count) done();
    },
    wait: () => Promise.race([all, timeout]).finally(() => clearTimeout(timer)).then(() => sent),
  };
}

Deno.test("an event raised offline waits on disk and reaches the server once it is up", async () => {
  await using t = await setup();
  const offline = new EventOutbox({
    dir: t.dir,
    serverUrl: deadUrl(),
    tokens: t.tokens,
    logger: silentLogger,
    pollMs: 50,
    backoff: { baseMs: 20, capMs: 50 },
  });
  offline.start();
  const raised = await offline.raise({ kind: "panic", metadata: { button: "driver" } });
  // A few failed attempts, then the agent stops: the event is still there.
  await new Promise((resolve) => setTimeout(resolve, 300));
  await offline.close();
  assert.deepEqual(await offline.pending(), [raised.id]);

  // `vehicle event` while no agent runs.
  const written = await queueEvent(t.dir, { kind: "harsh-brake", at: new Date(Date.now() - 5) });
  const watch = sending(2);
  const online = new EventOutbox({
    dir: t.dir,
    serverUrl: t.url,
    tokens: t.tokens,
    logger: silentLogger,
    pollMs: 50,
    sent: watch.sent,
  });
  online.start();
  try {
    const sent = await watch.wait();
    assert.deepEqual(sent.map((e) => e.id), [raised.id, written.id].sort());
    assert.deepEqual(await online.pending(), []);
    const events = await t.listed();
    assert.deepEqual(
      events.map((e) => [e.clientId, e.kind]).sort(),
      [
        [raised.id, "panic"],
        [written.id, "harsh-brake"],
      ].sort(),
    );

    // The answer was lost and the file sent again: the server still has one event.
    const again = sending(1);
    const statuses: number[] = [];
    const replay = new EventOutbox({
      dir: t.dir,
      serverUrl: t.url,
      tokens: t.tokens,
      logger: silentLogger,
      pollMs: 50,
      sent: (event, status) => {
        statuses.push(status);
        again.sent(event);
      },
    });
    await Deno.writeTextFile(`${t.dir}/${raised.id}.json`, JSON.stringify(raised));
    replay.start();
    await again.wait();
    await replay.close();
    assert.deepEqual(statuses, [200]);
    assert.equal((await t.listed()).length, 2);
  } finally {
    await online.close();
  }
});

Deno.test("an event the server refuses is kept aside, and the next ones still go", async () => {
  await using t = await setup();
  // Written by hand (queueEvent refuses it): metadata over 4 KiB.
  const big = {
    id: "e-1-bad",
    kind: "panic",
    at: new Date().toISOString(),
    metadata: {
      blob: "x".repeat(5000),
    },
  };
  await Deno.mkdir(t.dir, { recursive: true });
  await Deno.writeTextFile(`${t.dir}/${big.id}.json`, JSON.stringify(big));
  const good = await queueEvent(t.dir, { kind: "panic" });
  const watch = sending(1);
  const outbox = new EventOutbox({
    dir: t.dir,
    serverUrl: t.url,
    tokens: t.tokens,
    logger: silentLogger,
    pollMs: 50,
    sent: watch.sent,
  });
  outbox.start();
  try {
    assert.deepEqual((await watch.wait()).map((e) => e.id), [good.id]);
  } finally {
    await outbox.close();
  }
  assert.deepEqual(await outbox.pending(), []);
  assert.deepEqual(JSON.parse(await Deno.readTextFile(`${t.dir}/rejected/${big.id}.json`)), big);
  assert.deepEqual((await t.listed()).map((e) => e.clientId), [good.id]);
});

Deno.test("queueEvent refuses what the server would refuse, where the event is raised", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      () => queueEvent(dir, { kind: "Panic!" }),
      /Cannot raise event of kind "Panic!"/,
    );
    await assert.rejects(
      () => queueEvent(dir, { kind: "panic", metadata: { blob: "x".repeat(5000) } }),
      /metadata takes 50\d\d bytes, more than 4096/,
    );
    const [a, b] = [
      await queueEvent(dir, { kind: "panic" }, new Date(1_000)),
      await queueEvent(dir, { kind: "panic" }, new Date(2_000)),
    ];
    assert.notEqual(a.id, b.id);
    const names = [];
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
    assert.deepEqual(names.sort(), [`${a.id}.json`, `${b.id}.json`]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the local trigger queues what a telematics unit posts, and refuses what is wrong", async () => {
  await using t = await setup();
  const watch = sending(1);
  const outbox = new EventOutbox({
    dir: t.dir,
    serverUrl: t.url,
    tokens: t.tokens,
    logger: silentLogger,
    pollMs: 50,
    sent: watch.sent,
  });
  const trigger = new EventTrigger({
    port: 0,
    raise: (draft) => outbox.raise(draft),
    logger: silentLogger,
  });
  const port = await trigger.start();
  outbox.start();
  const post = (body: string, method = "POST", path = "/events") =>
    fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      headers: { "content-type": "application/json" },
      body: method === "GET" ? undefined : body,
    });
  try {
    const at = new Date(Date.now() - 2_000).toISOString();
    const accepted = await post(JSON.stringify({ kind: "harsh-brake", at, metadata: { g: 0.6 } }));
    assert.equal(accepted.status, 202);
    const queued = await accepted.json();
    assert.deepEqual([queued.kind, queued.at], ["harsh-brake", at]);
    assert.deepEqual((await watch.wait()).map((e) => e.id), [queued.id]);
    assert.deepEqual((await t.listed()).map((e) => [e.clientId, e.kind]), [
      [queued.id, "harsh-brake"],
    ]);

    const refusals: Array<[string, string, string, number, RegExp]> = [
      ["POST", "/events", "{", 400, /JSON object/],
      ["POST", "/events", '{"kind":"Panic!"}', 400, /Cannot raise event of kind "Panic!"/],
      ["POST", "/events", '{"kind":"panic","at":"soon"}', 400, /"at" must be an RFC 3339/],
      ["POST", "/events", '{"kind":"panic","colour":"red"}', 400, /unknown fields: colour/],
      ["GET", "/events", "", 405, /use POST/],
      ["POST", "/other", "{}", 404, /POST \/events/],
    ];
    for (const [method, path, body, status, message] of refusals) {
      const response = await post(body, method, path);
      assert.equal(response.status, status, `${method} ${path} ${body}`);
      assert.match((await response.json()).error, message);
    }
    assert.deepEqual(await outbox.pending(), [], "nothing refused was queued");
  } finally {
    await trigger.close();
    await outbox.close();
  }
});

Deno.test("the agent's event trigger port is off unless configured, and must be a port", async () => {
  const cameras = [{ name: "front", source: "testsrc" }];
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/agent.json`;
    await Deno.writeTextFile(path, JSON.stringify({ cameras }));
    assert.equal((await loadAgentConfig(path, {}, dir)).eventsPort, 0);
    assert.equal((await loadAgentConfig(path, { "events-port": "8787" }, dir)).eventsPort, 8787);
    await assert.rejects(
      () => loadAgentConfig(path, { "events-port": "70000" }, dir),
      /events-port must be a number from 0 to 65535, got "70000"/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
