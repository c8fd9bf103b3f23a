import assert from "node:assert/strict";
import { silentLogger } from "../../lib/log/mod.ts";
import {
  type Instructions,
  InstructionsClient,
  parseInstructions,
  policyOf,
  renditionsOf,
  uploadsContinuously,
} from "../../vehicle/instructions.ts";
import type { TokenSource } from "../../vehicle/uploader.ts";
import { eventually } from "./agent_harness.ts";

const TOKENS: TokenSource = { token: () => Promise.resolve("device-token"), invalidate() {} };

function doc(version: string, extra: Record<string, unknown> = {}) {
  return {
    version,
    segmentSeconds: null,
    cameras: [{ camera: "front", mode: "on-request", proxy: { height: 320, bitrateKbps: 150 } }],
    defaultPolicy: { mode: "proxy", proxy: { height: 240, bitrateKbps: 100 } },
    recalls: [],
    ...extra,
  };
}

Deno.test("instructions name what is wrong in a document they refuse", () => {
  const refused = (value: unknown, message: RegExp) =>
    assert.throws(
      () => parseInstructions(value),
      (e: Error) => e instanceof TypeError && message.test(e.message),
    );
  refused([], /"instructions" must be an object/);
  refused(doc(""), /"version" must be a non-empty string/);
  refused(
    doc("v1", { cameras: [{ camera: "front", mode: "sometimes" }] }),
    /"cameras\[0\]\.mode" must be continuous, proxy, on-request/,
  );
  refused(
    doc("v1", {
      recalls: [{ id: "rcl_1", camera: "front", from: "2026-12-07T10:00:00Z", to: "yesterday" }],
    }),
    /"recalls\[0\]\.to" must be an RFC 3339 time/,
  );
  refused(
    doc("v1", {
      recalls: [{
        id: "rcl_1",
        camera: "front",
        from: "2026-12-07T10:00:00Z",
        to: "2026-12-07T09:00:00Z",
      }],
    }),
    /"recalls\[0\]\.to" must be after its from/,
  );
  refused(doc("v1", { segmentSeconds: 0 }), /"segmentSeconds" must be null or a number/);
  refused(
    doc("v1", { defaultPolicy: { mode: "proxy", proxy: { height: 2 } } }),
    /"defaultPolicy\.proxy\.height"/,
  );
});

Deno.test("instructions give each camera its policy, renditions and routing", () => {
  const instructions = parseInstructions(doc("v1"));
  const front = policyOf(instructions, "front");
  const rear = policyOf(instructions, "rear");
  assert.deepEqual(front, { mode: "on-request", proxy: { height: 320, bitrateKbps: 150 } });
  assert.deepEqual(
    rear,
    { mode: "proxy", proxy: { height: 240, bitrateKbps: 100 } },
    "the default",
  );
  assert.deepEqual(renditionsOf(front), ["full"]);
  assert.deepEqual(renditionsOf(rear), ["full", "proxy"]);
  assert.equal(uploadsContinuously(front, "full"), false);
  assert.equal(uploadsContinuously(rear, "full"), false);
  assert.equal(uploadsContinuously(rear, "proxy"), true);
  assert.equal(uploadsContinuously({ ...rear, mode: "continuous" }, "full"), true);
});

/** A stand-in for the server's long poll, as the contract describes it. */
function longPollServer() {
  let current = doc("v1");
  let changed = Promise.withResolvers<void>();
  const polls: Array<{ known: string | null; wait: string | null; status: number }> = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const url = new URL(request.url);
    assert.equal(url.pathname, "/api/v1/device/instructions");
    assert.equal(request.headers.get("authorization"), "Bearer device-token");
    const known = url.searchParams.get("known");
    const wait = url.searchParams.get("wait");
    if (known === current.version) {
      const timer = Promise.withResolvers<void>();
      const id = setTimeout(timer.resolve, Number(wait) * 1000);
      await Promise.race([changed.promise, timer.promise]);
      clearTimeout(id);
    }
    const status = known === current.version ? 304 : 200;
    polls.push({ known, wait, status });
    return status === 304 ? new Response(null, { status }) : Response.json(current);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    polls,
    change(next: ReturnType<typeof doc>) {
      current = next;
      changed.resolve();
      changed = Promise.withResolvers<void>();
    },
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

Deno.test("instructions client follows the long poll, keeps each new document, and reads it back at start", async () => {
  await using server = longPollServer();
  const stateDir = await Deno.makeTempDir({ prefix: "instructions-" });
  try {
    const applied: Instructions[] = [];
    const client = new InstructionsClient({
      serverUrl: server.url,
      tokens: TOKENS,
      stateDir,
      logger: silentLogger,
      waitSeconds: 2,
      apply: (next) => void applied.push(next),
    });
    await client.open();
    assert.equal(client.known, false, "nothing saved yet");
    client.start();
    await eventually("the first document", () => applied.length === 1, 10_000);
    assert.equal(client.current.version, "v1");
    // The same document again (the heartbeat's answer) changes nothing.
    assert.equal(await client.accept(doc("v1")), false);
    const recall = {
      id: "rcl_1",
      camera: "front",
      from: "2026-12-07T10:00:00.000Z",
      to: "2026-12-07T10:01:00.000Z",
    };
    server.change(doc("v2", { recalls: [recall] }));
    await eventually("the changed document", () => applied.length === 2, 10_000);
    assert.equal(applied[1].recalls[0].toMs - applied[1].recalls[0].fromMs, 60_000);
    // Nothing changes for a while: the poll is held and answered 304, then asked again.
    await eventually(
      "a poll held to its end",
      () => server.polls.some((p) => p.status === 304),
      10_000,
    );
    await client.close();
    assert.equal(applied.length, 2);
    assert.deepEqual(server.polls[0], { known: null, wait: "2", status: 200 });
    assert.ok(server.polls.slice(1).every((p) => p.known !== null));

    const again = new InstructionsClient({
      serverUrl: "http://127.0.0.1:9", // unreachable: the saved document is used
      tokens: TOKENS,
      stateDir,
      logger: silentLogger,
      apply: () => {},
    });
    await again.open();
    assert.equal(again.known, true);
    assert.deepEqual(again.current, applied[1]);
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("instructions client waits quietly on a server without the long poll", async () => {
  let calls = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    calls++;
    return Response.json({ title: "Not Found" }, { status: 404 });
  });
  const stateDir = await Deno.makeTempDir({ prefix: "instructions-" });
  try {
    const client = new InstructionsClient({
      serverUrl: `http://127.0.0.1:${server.addr.port}`,
      tokens: TOKENS,
      stateDir,
      logger: silentLogger,
      apply: () => {},
      unsupportedPauseMs: 60_000,
    });
    client.start();
    await eventually("the first poll", () => calls === 1, 5_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await client.close();
    assert.equal(calls, 1, "no second poll within the pause");
    assert.equal(client.known, false);
  } finally {
    await server.shutdown();
    await Deno.remove(stateDir, { recursive: true });
  }
});
