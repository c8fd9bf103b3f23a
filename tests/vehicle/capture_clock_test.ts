import assert from "node:assert/strict";
import { CaptureClock, parseCaptureClockState } from "../../vehicle/capture_clock.ts";

/** Segment `n` of a 2 s grid starting at `t0`, which ffmpeg dates `lagMs` behind the truth. */
const T0 = Date.parse("2026-12-07T00:00:00Z");
const dated = (n: number, lagMs = 0) => ({ startMs: T0 + n * 2_000 - lagMs, durationS: 2 });
/** When segment `n` appears on disk: at its true end plus the encoder's delay. */
const appears = (n: number, delayMs = 600) => T0 + (n + 1) * 2_000 + delayMs;

Deno.test("capture clock keeps ffmpeg's times while they follow the wall clock", () => {
  const clock = new CaptureClock({ thresholdMs: 1_000 });
  for (let n = 0; n < 10; n++) {
    const placed = clock.place(dated(n), appears(n, 600 + (n % 3) * 200));
    assert.equal(placed.startMs, dated(n).startMs);
    assert.equal(placed.reanchored, false);
  }
  assert.deepEqual(clock.report(), {
    state: "ok",
    reanchors: 0,
    driftMs: 0,
    correctionMs: 0,
    lastReanchorAt: null,
  });
});

Deno.test("capture clock re-anchors when ffmpeg's times fall behind by more than the threshold", () => {
  const clock = new CaptureClock({ thresholdMs: 1_000 });
  // ffmpeg's dates fall 400 ms further behind with every segment (a starved encoder).
  const starts: number[] = [];
  let reanchors = 0;
  for (let n = 0; n < 20; n++) {
    const placed = clock.place(dated(n, n * 400), appears(n));
    starts.push(placed.startMs);
    if (placed.reanchored) reanchors++;
    // Off by at most the threshold plus one segment's growth (a drift must be confirmed).
    assert.ok(
      Math.abs(placed.startMs - dated(n).startMs) <= 1_400,
      `segment ${n} placed ${placed.startMs - dated(n).startMs} ms off`,
    );
  }
  assert.ok(reanchors >= 5, `${reanchors} re-anchors`);
  const report = clock.report();
  assert.equal(report.state, "reanchored");
  assert.equal(report.reanchors, reanchors);
  assert.ok(report.correctionMs >= 7_000, `correction ${report.correctionMs} ms`);
  assert.ok(report.lastReanchorAt);
});

Deno.test("capture clock re-anchors back when ffmpeg's times jump ahead, after warming up", () => {
  const clock = new CaptureClock({ thresholdMs: 1_000 });
  // A slow first segment only sets the baseline lower later: no re-anchor while warming up.
  assert.equal(clock.place(dated(0), appears(0, 2_500)).reanchored, false);
  assert.equal(clock.place(dated(1), appears(1)).reanchored, false);
  for (let n = 2; n < 5; n++) assert.equal(clock.place(dated(n), appears(n)).reanchored, false);
  // Then ffmpeg's dates run 3 s ahead of the truth: confirmed by the next segment.
  assert.equal(clock.place(dated(5, -3_000), appears(5)).reanchored, false);
  const placed = clock.place(dated(6, -3_000), appears(6));
  assert.equal(placed.reanchored, true);
  assert.equal(placed.startMs, dated(6).startMs);
  assert.equal(clock.report().correctionMs, -3_000);
});

Deno.test("capture clock ignores one late segment and only measures trusted times", () => {
  const clock = new CaptureClock({ thresholdMs: 1_000 });
  for (let n = 0; n < 4; n++) clock.place(dated(n), appears(n));
  // The disk was slow once: 3 s late, then back to normal.
  assert.equal(clock.place(dated(4), appears(4, 3_600)).reanchored, false);
  assert.equal(clock.place(dated(5), appears(5)).startMs, dated(5).startMs);
  // Times stamped by the capture clock are never moved, however late they appear.
  for (let n = 6; n < 9; n++) {
    const placed = clock.place(dated(n), appears(n, 4_000), true);
    assert.equal(placed.startMs, dated(n).startMs);
    assert.equal(placed.driftMs, 3_400);
  }
  assert.equal(clock.report().reanchors, 0);
});

Deno.test("capture clock state survives a restart through its saved form", () => {
  const clock = new CaptureClock({ thresholdMs: 1_000 });
  clock.place(dated(0), appears(0));
  clock.place(dated(1, 2_000), appears(1));
  clock.place(dated(2, 2_000), appears(2));
  assert.equal(clock.report().correctionMs, 2_000);
  assert.equal(clock.takeChanged(), true);
  assert.equal(clock.takeChanged(), false);
  const saved = parseCaptureClockState(JSON.parse(JSON.stringify(clock.state)));
  assert.deepEqual(saved, clock.state);
  const resumed = new CaptureClock({ thresholdMs: 1_000, state: saved });
  assert.equal(resumed.place(dated(3, 2_000), appears(3)).startMs, dated(3).startMs);
  assert.equal(parseCaptureClockState({ baselineMs: "x" }), undefined);
  assert.throws(() => new CaptureClock({ thresholdMs: 0 }), RangeError);
});
