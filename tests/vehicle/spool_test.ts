import assert from "node:assert/strict";
import { silentLogger } from "../../lib/log/mod.ts";
import { parseCapturePlaylist } from "../../vehicle/playlist.ts";
import { type QueueEntry, TicketQueue } from "../../vehicle/queue_entry.ts";
import { Spool, type SpoolOptions } from "../../vehicle/spool.ts";
import { sha256Base64 } from "../../vehicle/spool_files.ts";
import { readQueue } from "./agent_harness.ts";
import { material, playlistText, segmentName as name, T0, writeSegments } from "./spool_fixture.ts";

function options(dir: string, extra: Partial<SpoolOptions> = {}): SpoolOptions {
  return {
    dir,
    diskBudgetBytes: 1e9,
    quarantineBudgetBytes: 1e8,
    drainOrder: "oldest",
    segmentSeconds: 2,
    logger: silentLogger,
    ...extra,
  };
}

/** Takes and acknowledges everything that may go, returning what went in order. */
async function drainAll(spool: Spool): Promise<string[]> {
  const order: string[] = [];
  let entry: QueueEntry | undefined;
  while ((entry = spool.take())) {
    order.push(`${entry.recordingId}/${entry.file}`);
    await spool.done(entry);
  }
  return order;
}

Deno.test("spool recovers a crashed capture folder: finished segments queued once, .tmp dropped", async () => {
  const dir = await Deno.makeTempDir({ prefix: "spool-" });
  try {
    // A first run queues the init and segments 0-1, then ffmpeg finishes 2 and 3 …
    const first = new Spool(options(dir));
    await first.open();
    const harvest = await first.begin("front", "rA");
    await writeSegments(harvest.dir, [0, 1]);
    await Deno.writeTextFile(`${harvest.dir}/index.m3u8`, playlistText([0, 1]));
    assert.equal(await first.harvest(harvest, parseCapturePlaylist(playlistText([0, 1]))), 3);
    await writeSegments(harvest.dir, [2, 3]);
    await Deno.writeTextFile(`${harvest.dir}/index.m3u8`, playlistText([0, 1, 2]));
    await Deno.writeFile(`${harvest.dir}/0000000004.m4s.tmp`, new Uint8Array(1000));
    // … and the agent dies having written segment 2's sidecar but not moved the file yet;
    // segment 3 was renamed by ffmpeg just before it too was killed, so it is not listed.
    await Deno.writeTextFile(
      `${dir}/queue/front/rA/${name(2)}.json`,
      JSON.stringify({
        ticket: 99,
        kind: "segment",
        camera: "front",
        recordingId: "rA",
        file: name(2),
        bytes: 1,
        sha256: "x",
        sequence: 2,
        startMs: 1,
        durationS: 2,
      }),
    );

    const second = new Spool(options(dir));
    await second.open();
    const queue = await readQueue(dir);
    assert.deepEqual(queue.get("front")?.get("rA"), {
      init: true,
      sequences: [0, 1, 2, 3],
      end: true,
    });
    await assert.rejects(() => Deno.stat(`${dir}/capture/front/rA`), Deno.errors.NotFound);
    await assert.rejects(
      () => Deno.stat(`${dir}/capture/front/rA.recovering`),
      Deno.errors.NotFound,
    );
    assert.equal(second.stats("front").queueDepth, 5);

    // Opening again (another crash before any upload) changes nothing and duplicates nothing.
    const third = new Spool(options(dir));
    await third.open();
    assert.deepEqual(await readQueue(dir), queue);
    assert.equal(third.size, 6, "init, four segments and the end");

    const taken: QueueEntry[] = [];
    let entry: QueueEntry | undefined;
    while ((entry = third.take())) {
      taken.push(entry);
      if (entry.kind !== "end") {
        const bytes = await third.read(entry);
        assert.equal(await sha256Base64(bytes), entry.sha256, `${entry.file} digest`);
      }
      await third.done(entry);
    }
    assert.deepEqual(taken.map((e) => e.file), [
      "init.mp4",
      name(0),
      name(1),
      name(2),
      name(3),
      "end",
    ]);
    const segments = taken.filter((e) => e.kind === "segment");
    assert.deepEqual(segments.map((e) => e.startMs), [0, 1, 2, 3].map((n) => T0 + n * 2000));
    assert.deepEqual(segments.map((e) => e.estimated), [false, false, false, true]);
    assert.equal(taken.at(-1)?.endedAtMs, T0 + 8000, "the recording ends with its last segment");
    assert.equal(third.size, 0);
    assert.deepEqual([...(await readQueue(dir)).get("front")!.keys()], [], "nothing left behind");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("spool over its disk budget evicts the oldest segments, keeps the init, and counts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "spool-" });
  try {
    const { init, segments } = await material();
    const size = segments[1].bytes.byteLength;
    const budget = init.byteLength + 2 * size + 10;
    const spool = new Spool(options(dir, { diskBudgetBytes: budget }));
    await spool.open();
    const a = await spool.begin("front", "rA");
    await writeSegments(a.dir, [0, 1, 2, 3]);
    await spool.harvest(a, parseCapturePlaylist(playlistText([0, 1, 2, 3])));
    assert.deepEqual((await readQueue(dir)).get("front")?.get("rA")?.sequences, [2, 3]);
    assert.equal((await readQueue(dir)).get("front")?.get("rA")?.init, true, "init kept");
    const stats = spool.stats("front");
    assert.equal(stats.evictedSegments, 2);
    assert.equal(stats.evictedBytes, 2 * size);
    assert.equal(stats.queueDepth, 3);
    assert.equal(stats.bytesPending, budget - 10);

    // The recording ends and a new one fills the disk: rA's segments go first, then its init,
    // which nothing needs any more; the evictions survive a restart.
    await spool.end(a, T0 + 8000);
    const b = await spool.begin("front", "rB");
    await writeSegments(b.dir, [0, 1]);
    await spool.harvest(b, parseCapturePlaylist(playlistText([0, 1])));
    const queue = (await readQueue(dir)).get("front")!;
    assert.deepEqual(queue.get("rA"), { init: false, sequences: [], end: true });
    assert.deepEqual(queue.get("rB"), { init: true, sequences: [0, 1], end: false });
    const counters = JSON.parse(await Deno.readTextFile(`${dir}/counters.json`));
    assert.deepEqual(counters.front, {
      evictedSegments: 5,
      evictedBytes: 4 * size + init.byteLength,
      quarantined: 0,
    });
    const reopened = new Spool(options(dir, { diskBudgetBytes: budget }));
    await reopened.open();
    assert.equal(reopened.stats("front").evictedSegments, 5);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("spool drains newest first when asked, init before its segments, end last", async () => {
  const dir = await Deno.makeTempDir({ prefix: "spool-" });
  try {
    const spool = new Spool(options(dir, { drainOrder: "newest" }));
    await spool.open();
    const a = await spool.begin("front", "rA");
    await writeSegments(a.dir, [0, 1]);
    await spool.harvest(a, parseCapturePlaylist(playlistText([0, 1])));
    await spool.end(a, T0 + 4000);
    const b = await spool.begin("front", "rB");
    await writeSegments(b.dir, [0, 1, 2]);
    await spool.harvest(b, parseCapturePlaylist(playlistText([0, 1, 2])));

    // Two uploads at once: each recording's init may go, no segment before its init is stored.
    const first = spool.take()!;
    const second = spool.take()!;
    assert.deepEqual([first.recordingId, first.file], ["rB", "init.mp4"]);
    assert.deepEqual([second.recordingId, second.file], ["rA", "init.mp4"]);
    assert.equal(spool.take(), undefined);
    spool.release(first);
    spool.release(second);

    assert.deepEqual(await drainAll(spool), [
      "rB/init.mp4",
      `rB/${name(2)}`,
      `rB/${name(1)}`,
      `rB/${name(0)}`,
      "rA/init.mp4",
      `rA/${name(1)}`,
      `rA/${name(0)}`,
      "rA/end",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("spool sends a recording's end only after its files, and not while it records", async () => {
  const dir = await Deno.makeTempDir({ prefix: "spool-" });
  try {
    const spool = new Spool(options(dir));
    await spool.open();
    const a = await spool.begin("rear", "rA");
    await writeSegments(a.dir, [0]);
    await spool.harvest(a, parseCapturePlaylist(playlistText([0])));
    await spool.end(a, T0 + 2000);
    const init = spool.take()!;
    assert.equal(spool.take(), undefined, "segment waits for the init, end for both");
    await spool.done(init);
    const segment = spool.take()!;
    assert.equal(segment.file, name(0));
    assert.equal(spool.take(), undefined, "end waits for the segment in flight");
    spool.release(segment);
    assert.deepEqual(await drainAll(spool), [`rA/${name(0)}`, "rA/end"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("spool quarantines a refused file, counts it, and keeps it out of the queue", async () => {
  const dir = await Deno.makeTempDir({ prefix: "spool-" });
  try {
    const spool = new Spool(options(dir));
    await spool.open();
    const a = await spool.begin("front", "rA");
    await writeSegments(a.dir, [0, 1]);
    await spool.harvest(a, parseCapturePlaylist(playlistText([0, 1])));
    await spool.done(spool.take()!);
    const refused = spool.take()!;
    await spool.quarantine(refused, "415: Segment must be fMP4 (CMAF) or MPEG-TS");
    const moved = JSON.parse(await Deno.readTextFile(`${dir}/quarantine/front/rA/${name(0)}.json`));
    assert.equal(moved.reason, "415: Segment must be fMP4 (CMAF) or MPEG-TS");
    assert.equal((await Deno.stat(`${dir}/quarantine/front/rA/${name(0)}`)).size, refused.bytes);
    assert.equal(spool.stats("front").quarantined, 1);
    assert.equal(spool.stats("front").queueDepth, 1);
    assert.deepEqual(await drainAll(spool), [`rA/${name(1)}`]);
    const reopened = new Spool(options(dir));
    await reopened.open();
    assert.equal(reopened.stats("front").quarantined, 1, "counted across restarts");
    assert.equal(reopened.size, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ticket queue keeps ticket order through interleaved adds and many deletions", () => {
  const queue = new TicketQueue();
  const entry = (ticket: number): QueueEntry => ({
    ticket,
    kind: "segment",
    camera: "front",
    recordingId: "r",
    file: name(ticket),
    bytes: 1,
  });
  const entries = Array.from({ length: 5000 }, (_, i) => entry(i));
  for (let i = 0; i < entries.length; i += 2) {
    queue.add(entries[i + 1]);
    queue.add(entries[i]); // a harvest that got its ticket first but finished second
  }
  assert.deepEqual([...queue.ascending()].slice(0, 4).map((e) => e.ticket), [0, 1, 2, 3]);
  for (const e of entries) if (e.ticket % 3 !== 0) queue.delete(e);
  assert.equal(queue.size, 1667);
  const ascending = [...queue.ascending()].map((e) => e.ticket);
  assert.deepEqual(ascending, entries.filter((e) => e.ticket % 3 === 0).map((e) => e.ticket));
  assert.deepEqual([...queue.descending()].map((e) => e.ticket), ascending.toReversed());
});
