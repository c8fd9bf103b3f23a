import assert from "node:assert/strict";
import type { Segment } from "../../lib/catalog/mod.ts";
import { playbackFixture, T0 } from "./fixture.ts";

const lean = ({ recordingId, sequence, startMs, durationMs, size }: Segment) => ({
  recordingId,
  sequence,
  startMs,
  durationMs,
  size,
});

Deno.test("the catalog's playlist segments are its segments, less digest and key", async () => {
  await using f = await playbackFixture();
  const { recordings } = f.platform.catalog;
  const { cameraId } = f.camera;
  await f.init("a");
  await f.index("a", { count: 40, startMs: T0, durationMs: 1500 });
  await f.init("b");
  await f.index("b", { sequence: 3, count: 20, startMs: T0 + 30_000, durationMs: 2500 }); // overlaps
  await f.index("ts", { count: 5, startMs: T0 + 200_000, durationMs: 60_000 });

  for (
    const [fromMs, toMs] of [
      [T0, T0 + 3_600_000],
      [T0 + 1_000, T0 + 31_000], // starts inside a segment, ends on a start
      [T0 + 230_000, T0 + 270_000], // inside a minute-long segment
      [T0 - 10_000, T0], // before everything
    ]
  ) {
    const full = await recordings.segmentsBetween(cameraId, fromMs, toMs);
    assert.deepEqual(
      await recordings.playlistSegmentsBetween(cameraId, fromMs, toMs),
      full.map(lean),
    );
  }
  for (const id of ["a", "b", "ts", "none"]) {
    const full = await recordings.segments(cameraId, id);
    assert.deepEqual(await recordings.playlistSegments(cameraId, id), full.map(lean));
  }
  assert.equal((await recordings.playlistSegmentsBetween(cameraId, T0, T0 + 31_000)).length, 22);
});
