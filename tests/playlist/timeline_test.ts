import assert from "node:assert/strict";
import {
  buildTimeline,
  type Timeline,
  type TimelineGap,
  type TimelineRun,
  type TimelineSegment,
} from "../../lib/playlist/mod.ts";
import { random, recording, run, shuffle, T0 } from "./fixture.ts";

function runs(timeline: Timeline): TimelineRun[] {
  return timeline.items.filter((item): item is TimelineRun => item.kind === "run");
}

function segmentsOf(item: TimelineRun): TimelineSegment[] {
  return item.entries.filter((entry): entry is TimelineSegment => entry.kind === "segment");
}

function gapsOf(item: TimelineRun): TimelineGap[] {
  return item.entries.filter((entry): entry is TimelineGap => entry.kind === "gap");
}

/** Every item and entry starts where the previous one ended: time never goes backwards. */
function assertContiguous(timeline: Timeline) {
  let cursor = timeline.startMs;
  let total = 0;
  for (const item of timeline.items) {
    const entries = item.kind === "run" ? item.entries : [item];
    if (item.kind === "run") {
      assert.equal(item.startMs, cursor);
      assert.equal(item.entries[0].kind, "segment");
      assert.equal(item.entries.at(-1)!.kind, "segment");
    }
    for (const entry of entries) {
      assert.equal(entry.startMs, cursor, "each entry starts where the previous ended");
      assert.ok(entry.durationMs > 0);
      cursor += entry.durationMs;
      total += entry.durationMs;
    }
    if (item.kind === "run") assert.equal(item.endMs, cursor);
  }
  assert.equal(timeline.endMs, cursor);
  assert.equal(total, timeline.endMs - timeline.startMs);
}

Deno.test("timeline of nothing is empty", () => {
  const timeline = buildTimeline({ recordings: [], segments: [] });
  assert.deepEqual(timeline.items, []);
  assert.equal(timeline.segmentCount, 0);
  assert.equal(timeline.startMs, 0);
  assert.equal(timeline.endMs, 0);
});

Deno.test("timeline of one segment is one run of it", () => {
  const timeline = buildTimeline({
    recordings: [recording("a")],
    segments: run("a", { count: 1 }),
  });
  assert.equal(timeline.runCount, 1);
  const [only] = runs(timeline);
  assert.equal(only.recordingId, "a");
  assert.equal(only.initKey, "cam/a/init.mp4");
  assert.deepEqual(only.entries, [{
    kind: "segment",
    sequence: 0,
    startMs: T0,
    durationMs: 2000,
    objectKey: "cam/a/0000000000.m4s",
    size: 250_000,
  }]);
  assert.equal(timeline.startMs, T0);
  assert.equal(timeline.endMs, T0 + 2000);
  assert.equal(timeline.maxSegmentDurationMs, 2000);
});

Deno.test("a window keeps whole every segment overlapping [from, to) and nothing else", () => {
  const segments = run("a", { count: 10 }); // T0 … T0 + 20 s
  const timeline = buildTimeline({
    recordings: [recording("a")],
    segments,
    fromMs: T0 + 3000, // inside segment 1
    toMs: T0 + 8000, // exactly where segment 4 starts: it is out
  });
  assert.deepEqual(segmentsOf(runs(timeline)[0]).map((s) => s.sequence), [1, 2, 3]);
  assert.equal(timeline.startMs, T0 + 2000);
  assert.equal(timeline.endMs, T0 + 8000);
  assert.equal(timeline.dropped.outside, 7);

  const touching = buildTimeline({
    recordings: [recording("a")],
    segments,
    fromMs: T0 + 4000, // segment 1 ends exactly here: it is out
    toMs: T0 + 4001,
  });
  assert.deepEqual(segmentsOf(runs(touching)[0]).map((s) => s.sequence), [2]);
});

Deno.test("duplicates of a recording's sequence are kept once, the earliest", () => {
  const segments = run("a", { count: 3 });
  const late = { ...segments[1], startMs: segments[1].startMs + 100, objectKey: "other" };
  const timeline = buildTimeline({
    recordings: [recording("a")],
    segments: [...segments, late, ...segments],
  });
  assert.deepEqual(segmentsOf(runs(timeline)[0]).map((s) => s.objectKey), [
    "cam/a/0000000000.m4s",
    "cam/a/0000000001.m4s",
    "cam/a/0000000002.m4s",
  ]);
  assert.equal(timeline.dropped.duplicate, 4);
});

Deno.test("unsorted input makes the same timeline as sorted input", () => {
  const recordings = [recording("a"), recording("b", T0 + 30_000)];
  const segments = [
    ...run("a", { count: 10 }),
    ...run("b", { count: 10, startMs: T0 + 30_000 }),
  ];
  const sorted = buildTimeline({ recordings, segments });
  for (let seed = 1; seed <= 5; seed++) {
    const next = random(seed);
    const shuffled = buildTimeline({
      recordings: shuffle(recordings, next),
      segments: shuffle(segments, next),
    });
    assert.deepEqual(shuffled, sorted);
  }
  assert.equal(sorted.runCount, 2);
});

Deno.test("a segment arriving late fills the gap its absence left", () => {
  const segments = run("a", { count: 4 });
  const before = buildTimeline({
    recordings: [recording("a")],
    segments: [segments[0], segments[1], segments[3]],
  });
  const [first] = runs(before);
  assert.deepEqual(first.entries.map((e) => e.kind), ["segment", "segment", "gap", "segment"]);
  assert.deepEqual(gapsOf(first), [{ kind: "gap", startMs: T0 + 4000, durationMs: 2000 }]);
  assert.equal(segmentsOf(first)[2].startMs, T0 + 6000);
  assertContiguous(before);

  const after = buildTimeline({ recordings: [recording("a")], segments: [...segments].reverse() });
  assert.deepEqual(runs(after)[0].entries.map((e) => e.kind), Array(4).fill("segment"));
  assertContiguous(after);
});

Deno.test("a hole exactly at the tolerance is jitter, one millisecond more is a gap", () => {
  const [s0, s1] = run("a", { count: 2 });
  const at = buildTimeline({
    recordings: [recording("a")],
    segments: [s0, { ...s1, startMs: s1.startMs + 500 }],
  });
  assert.equal(gapsOf(runs(at)[0]).length, 0);
  // Absorbed: the second segment is placed right after the first.
  assert.equal(segmentsOf(runs(at)[0])[1].startMs, T0 + 2000);

  const over = buildTimeline({
    recordings: [recording("a")],
    segments: [s0, { ...s1, startMs: s1.startMs + 501 }],
  });
  assert.deepEqual(gapsOf(runs(over)[0]), [{ kind: "gap", startMs: T0 + 2000, durationMs: 501 }]);
  assert.equal(segmentsOf(runs(over)[0])[1].startMs, T0 + 2501);

  const custom = buildTimeline({
    recordings: [recording("a")],
    segments: [s0, { ...s1, startMs: s1.startMs + 100 }],
    gapToleranceMs: 50,
  });
  assert.equal(gapsOf(runs(custom)[0])[0].durationMs, 100);
});

Deno.test("recordings become runs, with a gap item when time passes between them", () => {
  const timeline = buildTimeline({
    recordings: [recording("a"), recording("b", T0 + 10_000), recording("c", T0 + 16_300)],
    segments: [
      ...run("a", { count: 3 }), // ends T0 + 6 s
      ...run("b", { count: 3, startMs: T0 + 10_000 }), // 4 s later; ends T0 + 16 s
      ...run("c", { count: 1, startMs: T0 + 16_300 }), // 300 ms later: absorbed
    ],
  });
  assert.deepEqual(
    timeline.items.map((item) => item.kind === "run" ? item.recordingId : `gap ${item.durationMs}`),
    ["a", "gap 4000", "b", "c"],
  );
  assert.equal(runs(timeline)[2].startMs, T0 + 16_000);
  assertContiguous(timeline);
});

Deno.test("overlapping recordings never make time go backwards: the earlier one keeps it", () => {
  // A clock jump: b claims T0 + 10 s … T0 + 30 s while a runs until T0 + 20 s.
  const timeline = buildTimeline({
    recordings: [recording("a"), recording("b", T0 + 10_000)],
    segments: [...run("a", { count: 10 }), ...run("b", { count: 10, startMs: T0 + 10_000 })],
  });
  const [a, b] = runs(timeline);
  assert.equal(timeline.runCount, 2);
  assert.deepEqual(segmentsOf(a).map((s) => s.sequence), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // b's segments starting before a ends (T0 + 10 … 18 s) are dropped; from T0 + 20 s it plays.
  assert.deepEqual(segmentsOf(b).map((s) => s.sequence), [5, 6, 7, 8, 9]);
  assert.equal(b.startMs, T0 + 20_000);
  assert.equal(timeline.dropped.overlapping, 5);
  assertContiguous(timeline);

  // On equal start times the older recording wins, whatever the ids.
  const tie = buildTimeline({
    recordings: [recording("z-older", T0 - 1), recording("a-newer", T0)],
    segments: [...run("a-newer", { count: 3 }), ...run("z-older", { count: 3 })],
  });
  assert.deepEqual(runs(tie).map((r) => r.recordingId), ["z-older"]);
  assert.equal(tie.dropped.overlapping, 3);
});

Deno.test("a recording overlapping by less than the tolerance is placed after the other", () => {
  const timeline = buildTimeline({
    recordings: [recording("a"), recording("b", T0 + 5800)],
    segments: [...run("a", { count: 3 }), ...run("b", { count: 2, startMs: T0 + 5800 })],
  });
  const [, b] = runs(timeline);
  assert.equal(b.startMs, T0 + 6000);
  assertContiguous(timeline);
});

Deno.test("fMP4 segments wait for their init segment; MPEG-TS ones need none", () => {
  const timeline = buildTimeline({
    recordings: [recording("fmp4", T0, null), recording("ts", T0 + 10_000, null)],
    segments: [
      ...run("fmp4", { count: 2 }),
      ...run("ts", { count: 2, startMs: T0 + 10_000, extension: "ts" }),
      ...run("unknown", { count: 1, startMs: T0 + 20_000 }),
    ],
  });
  assert.deepEqual(runs(timeline).map((r) => [r.recordingId, r.initKey]), [["ts", null]]);
  assert.equal(timeline.dropped.noInit, 3);
});

Deno.test("segments without object keys place alike, but cannot prove they are MPEG-TS", () => {
  const keyless = (segments: ReturnType<typeof run>) =>
    segments.map(({ objectKey: _, ...rest }) => rest);
  const input = {
    recordings: [recording("a"), recording("b", T0 + 7_000), recording("ts", T0 + 20_000, null)],
    segments: [
      ...run("a", { count: 3 }),
      ...run("b", { count: 3, startMs: T0 + 7_000 }),
      ...run("ts", { count: 2, startMs: T0 + 20_000, extension: "ts" }),
    ],
  };
  const withKeys = buildTimeline(input);
  const without = buildTimeline({ ...input, segments: keyless(input.segments) });
  const placed = (timeline: Timeline) =>
    runs(timeline).map((r) => [r.recordingId, segmentsOf(r).map((s) => [s.sequence, s.startMs])]);
  assert.deepEqual(placed(without), placed(withKeys).slice(0, 2));
  assert.equal(without.dropped.noInit, 2);
  assert.ok(runs(without).every((r) => segmentsOf(r).every((s) => s.objectKey === undefined)));
});

Deno.test("invalid segments are dropped and counted", () => {
  const [good] = run("a", { count: 1 });
  const timeline = buildTimeline({
    recordings: [recording("a")],
    segments: [
      good,
      { ...good, sequence: 1, durationMs: 0 },
      { ...good, sequence: 2, startMs: NaN },
      { ...good, sequence: -1 },
      { ...good, sequence: 1.5 },
    ],
  });
  assert.equal(timeline.segmentCount, 1);
  assert.equal(timeline.dropped.invalid, 4);
  assert.throws(
    () => buildTimeline({ recordings: [], segments: [], gapToleranceMs: -1 }),
    RangeError,
  );
});

Deno.test("a sequence going backwards within a recording starts a new run of it", () => {
  const [s0, s1, s2] = run("a", { count: 3 });
  const timeline = buildTimeline({
    recordings: [recording("a")],
    // Sequence 0 carries a time after sequence 2's (the vehicle's clock jumped forward).
    segments: [s1, s2, { ...s0, startMs: s2.startMs + 2000 }],
  });
  assert.deepEqual(
    runs(timeline).map((r) => [r.recordingId, segmentsOf(r).map((s) => s.sequence)]),
    [["a", [1, 2]], ["a", [0]]],
  );
  assertContiguous(timeline);
});

Deno.test("any mix of recordings, holes, overlaps and duplicates stays contiguous", () => {
  for (let seed = 1; seed <= 40; seed++) {
    const next = random(seed);
    const recordings = [];
    const segments = [];
    for (let r = 0; r < 4; r++) {
      const id = `r${r}`;
      const startMs = T0 + Math.floor(next() * 60_000);
      recordings.push(recording(id, startMs));
      let at = startMs;
      for (let sequence = 0; sequence < 20; sequence++) {
        const durationMs = 1500 + Math.floor(next() * 1000);
        const segment = {
          recordingId: id,
          sequence,
          startMs: at + Math.floor(next() * 1200) - 300,
          durationMs,
          objectKey: `${id}/${sequence}.m4s`,
        };
        at += durationMs;
        if (next() < 0.1) continue; // never arrived
        segments.push(segment);
        if (next() < 0.1) segments.push(segment); // arrived twice
      }
    }
    const timeline = buildTimeline({
      recordings,
      segments: shuffle(segments, next),
      fromMs: T0 + 5000,
      toMs: T0 + 70_000,
    });
    assertContiguous(timeline);
    const dropped = Object.values(timeline.dropped).reduce((a, b) => a + b, 0);
    assert.equal(timeline.segmentCount + dropped, segments.length);
    for (const item of runs(timeline)) {
      const sequences = segmentsOf(item).map((s) => s.sequence);
      assert.deepEqual(sequences, [...sequences].sort((a, b) => a - b), "sequences rise in a run");
    }
  }
});
