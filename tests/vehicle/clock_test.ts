import assert from "node:assert/strict";
import { type ClockJump, ClockWatch } from "../../vehicle/clock.ts";

/** Clocks a test moves by hand. */
function manualClocks(startWall = Date.parse("2026-11-24T10:00:00Z")) {
  const clocks = { wallMs: startWall, monoMs: 1_000 };
  return {
    clocks,
    source: { wall: () => clocks.wallMs, monotonic: () => clocks.monoMs },
    tick(ms: number) {
      clocks.wallMs += ms;
      clocks.monoMs += ms;
    },
  };
}

Deno.test("clock watch sees a step forward and a step back, not steady time", () => {
  const manual = manualClocks();
  const jumps: ClockJump[] = [];
  const watch = new ClockWatch({
    thresholdMs: 2_000,
    clocks: manual.source,
    onJump: (j) => jumps.push(j),
  });
  for (let i = 0; i < 10; i++) {
    manual.tick(1_000);
    assert.equal(watch.check(), undefined);
  }
  assert.deepEqual(watch.report(), { state: "ok", lastJumpAt: null, jumps: 0 });

  manual.tick(1_000);
  manual.clocks.wallMs += 3_600_000; // NTP steps the clock an hour ahead
  const forward = watch.check();
  assert.equal(forward?.deltaMs, 3_600_000);
  assert.equal(jumps.length, 1);

  manual.tick(1_000);
  assert.equal(watch.check(), undefined, "the new offset is the reference now");

  manual.tick(1_000);
  manual.clocks.wallMs -= 5_000; // and back by five seconds
  assert.equal(watch.check()?.deltaMs, -5_000);
  const report = watch.report();
  assert.equal(report.state, "jumped");
  assert.equal(report.jumps, 2);
  assert.equal(report.lastJumpAt, new Date(manual.clocks.wallMs).toISOString());
});

Deno.test("clock watch ignores small steps, slewing and a stalled event loop", () => {
  const manual = manualClocks();
  const watch = new ClockWatch({ thresholdMs: 2_000, clocks: manual.source });
  manual.tick(1_000);
  manual.clocks.wallMs += 1_500; // below the threshold
  assert.equal(watch.check(), undefined);
  for (let i = 0; i < 3_600; i++) {
    manual.tick(1_000);
    manual.clocks.wallMs += 0.5; // NTP slewing at 500 ppm: 1.8 s over an hour
    assert.equal(watch.check(), undefined);
  }
  manual.tick(45_000); // the process was not scheduled for 45 s: both clocks moved
  assert.equal(watch.check(), undefined);
  assert.equal(watch.report().jumps, 0);
});

Deno.test("clock state stays jumped until a heartbeat carrying it was delivered", () => {
  const manual = manualClocks();
  const watch = new ClockWatch({ thresholdMs: 2_000, clocks: manual.source });
  manual.clocks.wallMs += 10_000;
  watch.check();
  const first = watch.report();
  assert.equal(first.state, "jumped");
  assert.equal(watch.report().state, "jumped", "a failed heartbeat does not clear it");
  manual.clocks.wallMs += 10_000;
  watch.check();
  watch.delivered(first);
  assert.equal(watch.report().state, "jumped", "a newer jump is still unreported");
  watch.delivered(watch.report());
  assert.deepEqual({ ...watch.report(), lastJumpAt: null }, {
    state: "ok",
    lastJumpAt: null,
    jumps: 2,
  });
});

Deno.test("clock watch checks on its own every interval until closed", async () => {
  const manual = manualClocks();
  const jumps: ClockJump[] = [];
  const watch = new ClockWatch({
    thresholdMs: 2_000,
    intervalMs: 20,
    clocks: manual.source,
    onJump: (j) => jumps.push(j),
  });
  watch.start();
  manual.clocks.wallMs -= 60_000;
  await new Promise((resolve) => setTimeout(resolve, 80));
  watch.close();
  watch.close();
  assert.equal(jumps.length, 1);
  assert.equal(jumps[0].deltaMs, -60_000);
});
