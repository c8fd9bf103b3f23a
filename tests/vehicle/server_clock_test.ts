import assert from "node:assert/strict";
import { DeviceTokens, enrol } from "../../vehicle/identity.ts";
import { ServerClock } from "../../vehicle/server_clock.ts";
import { makeFleet, startTestPlatform } from "../support/platform.ts";

const HOUR = 3_600_000;

/** Clocks a test moves by hand: the vehicle's wall clock runs `ahead` of the true time. */
function handClocks(ahead: number) {
  const clocks = { mono: 1_000, trueTime: Date.UTC(2026, 11, 7, 12), ahead };
  return {
    state: clocks,
    clocks: {
      wall: () => clocks.trueTime + clocks.ahead,
      monotonic: () => clocks.mono,
    },
    /** Lets `ms` pass on every clock. */
    pass(ms: number) {
      clocks.mono += ms;
      clocks.trueTime += ms;
    },
  };
}

/** One exchange: the server stamps its (true) time `serverAfterMs` into a round trip of `rttMs`. */
function exchange(
  clock: ServerClock,
  t: ReturnType<typeof handClocks>,
  rttMs: number,
  serverAfterMs = rttMs / 2,
) {
  const sent = t.state.mono;
  t.pass(serverAfterMs);
  const stated = t.state.trueTime;
  t.pass(rttMs - serverAfterMs);
  clock.sample(stated, sent, t.state.mono);
}

Deno.test("server clock takes the offset of the exchange with the shortest round trip", () => {
  const t = handClocks(HOUR);
  const clock = new ServerClock({ clocks: t.clocks });
  assert.equal(clock.offset(), undefined);
  assert.equal(clock.now(), t.clocks.wall(), "the wall clock until the server said anything");
  exchange(clock, t, 800, 50); // a slow upload: the server answered early in the round trip
  assert.ok(Math.abs(clock.offset()! + HOUR) > 300, "a long round trip leaves a large error");
  exchange(clock, t, 20, 5);
  exchange(clock, t, 600, 580);
  assert.ok(Math.abs(clock.offset()! + HOUR) <= 10, `offset ${clock.offset()}`);
  assert.equal(clock.uncertaintyMs, 10);
  assert.ok(Math.abs(clock.now() - t.state.trueTime) <= 10);
});

Deno.test("server clock lets old exchanges give way to newer ones after its window", () => {
  const t = handClocks(0);
  const clock = new ServerClock({ clocks: t.clocks, windowMs: 60_000 });
  exchange(clock, t, 10);
  t.state.ahead = -500; // the server's clock was stepped meanwhile: from now on it reads 500 ms on
  t.pass(61_000);
  exchange(clock, t, 200);
  assert.ok(Math.abs(clock.offset()! - 500) <= 100, `offset ${clock.offset()}`);
});

Deno.test("a wall-clock jump moves the offset, never the server's time", () => {
  const t = handClocks(-30_000);
  const clock = new ServerClock({ clocks: t.clocks });
  exchange(clock, t, 10);
  const before = clock.now();
  t.state.ahead = HOUR; // NTP, GPS or a driver steps the vehicle's clock an hour ahead
  assert.equal(clock.now(), before, "the server's time does not jump with the wall clock");
  assert.ok(Math.abs(clock.offset()! + HOUR) <= 5, `offset ${clock.offset()}`);
});

Deno.test("times captured before the offset was known are corrected through the monotonic clock", () => {
  const t = handClocks(HOUR);
  const clock = new ServerClock({ clocks: t.clocks });
  // Offline since boot: a segment is captured and harvested while the offset is unknown.
  const captured = t.clocks.wall();
  const trueCapture = t.state.trueTime;
  t.pass(1_500);
  const stamp = clock.stamp();
  assert.equal(stamp.serverOffsetMs, undefined);
  assert.equal(clock.correct(captured, stamp), undefined, "nothing to correct with yet");
  t.pass(60_000);
  t.state.ahead = -HOUR; // and the wall clock jumps before the server is reached
  exchange(clock, t, 10);
  assert.ok(Math.abs(clock.correct(captured, stamp)! - trueCapture) <= 5);
  // A stamp of an earlier run: only the offset known at its harvest counts.
  assert.equal(clock.correct(captured, { ...stamp, clockRun: "earlier" }), undefined);
  assert.equal(
    clock.correct(captured, { clockRun: "earlier", serverOffsetMs: -HOUR }),
    captured - HOUR,
  );
});

Deno.test("server clock reads Motorcade-Time, and Date (whole seconds) without it", () => {
  const t = handClocks(0);
  const clock = new ServerClock({ clocks: t.clocks });
  const server = t.state.trueTime + 12_345;
  const date = new Date(server).toUTCString(); // 12.345 s on: 12 s in Date, 345 ms lost
  assert.ok(clock.observe(new Response(null, { headers: { date } }), 1_000, 1_010));
  assert.ok(Math.abs(clock.offset()! - 12_345) <= 500, `offset ${clock.offset()}`);
  const stated = { "motorcade-time": String(server), date };
  assert.ok(clock.observe(new Response(null, { headers: stated }), 1_000, 1_010));
  assert.ok(Math.abs(clock.offset()! - 12_345) <= 5, `offset ${clock.offset()}`);
  assert.equal(clock.observe(new Response(null), 1_000, 1_010), false);
});

Deno.test("device tokens are obtained at once with the vehicle clock hours ahead or behind", async () => {
  await using platform = await startTestPlatform();
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    platform.app.fetch,
  );
  const url = `http://127.0.0.1:${server.addr.port}`;
  for (const ahead of [HOUR, 6 * 60_000, -3 * 60_000, -HOUR]) {
    const fleet = await makeFleet(platform, `Fleet${ahead}`);
    const stateDir = await Deno.makeTempDir({ prefix: "vehicle-state-" });
    try {
      const state = await enrol(url, fleet.enrolmentCode, stateDir);
      let requests = 0;
      const clock = new ServerClock({
        clocks: { wall: () => Date.now() + ahead, monotonic: () => performance.now() },
      });
      const fetch = clock.fetch;
      clock.fetch = (input, init) => (requests++, fetch(input, init));
      const tokens = new DeviceTokens(state, clock);
      const token = await tokens.token();
      assert.ok(token, `clock ${ahead} ms ahead: a token`);
      assert.equal(requests, 2, `clock ${ahead} ms ahead: refused once, then at once a token`);
      assert.ok(Math.abs(clock.offset()! + ahead) < 1000, `offset ${clock.offset()}`);
      tokens.invalidate();
      await tokens.token();
      assert.equal(requests, 3, "the next token needs one request");
    } finally {
      await Deno.remove(stateDir, { recursive: true });
    }
  }
});
