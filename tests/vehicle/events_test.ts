/**
 * The vehicle's event outbox against a real server (issue 12): an event raised while the server
 * is unreachable, or while no agent runs (`vehicle event`), is kept in the state dir and reaches
 * the server once it can; a post repeated after a lost answer is still one event; one the server
 * refuses is set aside, not lost and not resent.
 */
import assert from "node:assert/strict";
import { silentLogger } from "../../lib/log/mod.ts";
import { EventOutbox, type QueuedEvent, queueEvent } from "../../vehicle/events.ts";
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
