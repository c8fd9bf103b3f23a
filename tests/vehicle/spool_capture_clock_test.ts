import assert from "node:assert/strict";
import { silentLogger } from "../../lib/log/mod.ts";
import { parseCapturePlaylist } from "../../vehicle/playlist.ts";
import { Spool, type SpoolOptions } from "../../vehicle/spool.ts";
import { playlistText, segmentName as name, T0, writeSegments } from "./spool_fixture.ts";

function options(dir: string): SpoolOptions {
  return {
    dir,
    diskBudgetBytes: 1e9,
    quarantineBudgetBytes: 1e8,
    drainOrder: "oldest",
    segmentSeconds: 2,
    reanchorMs: 1_000,
    logger: silentLogger,
  };
}

/** ffmpeg lost 1.5 s of media time from segment 2 on: each file appears that much later. */
const LOST_MS = 1_500;
const appearedAt = (n: number) => new Date(T0 + (n + 1) * 2_000 + 600 + (n >= 2 ? LOST_MS : 0));

async function setAppearance(dir: string, sequences: number[]): Promise<void> {
  for (const n of sequences) await Deno.utime(`${dir}/${name(n)}`, appearedAt(n), appearedAt(n));
}

async function queuedStart(dir: string, n: number): Promise<number> {
  return JSON.parse(await Deno.readTextFile(`${dir}/queue/front/rA/${name(n)}.json`)).startMs;
}

Deno.test("spool re-anchors drifting segment times and crash recovery keeps the correction", async () => {
  const dir = await Deno.makeTempDir({ prefix: "spool-clock-" });
  try {
    const first = new Spool(options(dir));
    await first.open();
    const harvest = await first.begin("front", "rA");
    await writeSegments(harvest.dir, [0, 1, 2, 3]);
    await setAppearance(harvest.dir, [0, 1, 2, 3]);
    await first.harvest(harvest, parseCapturePlaylist(playlistText([0, 1, 2, 3])));
    // Segment 2 alone could be a slow disk; segment 3 confirms the drift: re-anchored from it.
    assert.equal(await queuedStart(dir, 2), T0 + 2 * 2_000);
    assert.equal(await queuedStart(dir, 3), T0 + 3 * 2_000 + LOST_MS);
    assert.deepEqual(
      { ...harvest.clock.report(), lastReanchorAt: null },
      {
        state: "reanchored",
        reanchors: 1,
        driftMs: LOST_MS,
        correctionMs: LOST_MS,
        lastReanchorAt: null,
      },
    );

    // The agent dies; ffmpeg finished segments 4 and 5 (5 not even listed). Recovery places them
    // with the same correction.
    await writeSegments(harvest.dir, [4, 5]);
    await setAppearance(harvest.dir, [4, 5]);
    await Deno.writeTextFile(`${harvest.dir}/index.m3u8`, playlistText([0, 1, 2, 3, 4]));
    const second = new Spool(options(dir));
    await second.open();
    assert.equal(await queuedStart(dir, 4), T0 + 4 * 2_000 + LOST_MS);
    assert.equal(await queuedStart(dir, 5), T0 + 5 * 2_000 + LOST_MS);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
