import assert from "node:assert/strict";
import { silentLogger } from "../../lib/log/mod.ts";
import { inventoryOf } from "../../vehicle/inventory.ts";
import { parseCapturePlaylist } from "../../vehicle/playlist.ts";
import type { QueueEntry } from "../../vehicle/queue_entry.ts";
import { type Route, type RouteQuery, Spool, type SpoolOptions } from "../../vehicle/spool.ts";
import { material, playlistText, T0, writeSegments } from "./spool_fixture.ts";

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

/** "front" keeps its full quality on the vehicle (on-request); every other camera uploads it. */
const onRequestFront = (query: RouteQuery): Route =>
  query.camera === "front" ? { to: "ring" } : { to: "queue" };

/** Takes and acknowledges everything that may go, returning what went in order. */
async function drainAll(spool: Spool): Promise<string[]> {
  const order: string[] = [];
  let entry: QueueEntry | undefined;
  while ((entry = spool.take())) {
    order.push(`${entry.camera}/${entry.file}${entry.recallId ? ` ${entry.recallId}` : ""}`);
    await spool.done(entry);
  }
  return order;
}

async function record(spool: Spool, camera: string, recordingId: string, sequences: number[]) {
  const harvest = await spool.begin(camera, recordingId);
  await writeSegments(harvest.dir, sequences);
  await spool.harvest(harvest, parseCapturePlaylist(playlistText(sequences)));
  return harvest;
}

Deno.test("spool keeps what the policy does not send in the ring and lists it in the inventory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "spool-ring-" });
  try {
    const spool = new Spool(options(dir));
    spool.route = onRequestFront;
    await spool.open();
    const front = await record(spool, "front", "rF", [0, 1, 2, 3]);
    await spool.end(front, T0 + 8000);
    assert.equal(spool.take(), undefined, "nothing of an on-request camera is uploaded");
    assert.equal(spool.size, 0);
    const { segments } = await material();
    assert.equal(spool.ringBytes, 4 * segments[1].bytes.byteLength);
    assert.deepEqual(inventoryOf(spool.held()), [
      { camera: "front", rendition: "full", ranges: [[T0, T0 + 8000]] },
    ]);

    // A restart finds the ring as it was.
    const again = new Spool(options(dir));
    again.route = onRequestFront;
    await again.open();
    assert.deepEqual(inventoryOf(again.held()), inventoryOf(spool.held()));
    assert.equal(again.take(), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("spool recall sends ring segments ahead of continuous traffic, init first, across a restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "spool-ring-" });
  try {
    const spool = new Spool(options(dir));
    spool.route = onRequestFront;
    await spool.open();
    const rear = await record(spool, "rear", "rR", [0, 1]);
    const front = await record(spool, "front", "rF", [0, 1, 2, 3]);
    await spool.end(front, T0 + 8000);
    // Segments 1 (2-4 s) and 2 (4-6 s) overlap 2.5-5 s; 0 ends where the range starts.
    const found = await spool.recall("rcl_1", "front", T0 + 2500, T0 + 5000);
    assert.deepEqual(found.map((f) => [f.key, f.recalled]), [["rF/1", true], ["rF/2", true]]);
    assert.deepEqual(
      (await spool.recall("rcl_1", "front", T0 + 2500, T0 + 5000)).map((f) => f.key),
      ["rF/1", "rF/2"],
      "asking again binds nothing twice",
    );
    assert.deepEqual(inventoryOf(spool.held()).find((e) => e.camera === "front")?.ranges, [
      [T0, T0 + 8000],
    ], "queued for the recall, still on the vehicle");

    const restarted = new Spool(options(dir));
    restarted.route = onRequestFront;
    await restarted.open();
    await restarted.end(rear, T0 + 4000);
    assert.deepEqual(await drainAll(restarted), [
      "front/init.mp4",
      "front/0000000001.m4s rcl_1",
      "front/0000000002.m4s rcl_1",
      "rear/init.mp4",
      "rear/0000000000.m4s",
      "rear/0000000001.m4s",
      "front/end",
      "rear/end",
    ]);
    assert.deepEqual(inventoryOf(restarted.held()), [
      { camera: "front", rendition: "full", ranges: [[T0, T0 + 2000], [T0 + 6000, T0 + 8000]] },
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("spool recall marks queued segments, and a dropped recall puts ring segments back", async () => {
  const dir = await Deno.makeTempDir({ prefix: "spool-ring-" });
  try {
    const spool = new Spool(options(dir));
    spool.route = onRequestFront;
    await spool.open();
    await record(spool, "rear", "rR", [0, 1, 2]);
    const found = await spool.recall("rcl_r", "rear", T0 + 4000, T0 + 6000);
    assert.deepEqual(found.map((f) => f.key), ["rR/2"]);
    const front = await record(spool, "front", "rF", [0, 1]);
    await spool.end(front, T0 + 4000);
    await spool.recall("rcl_f", "front", T0, T0 + 4000);
    assert.equal(await spool.forgetRecall("rcl_f"), 2);
    assert.deepEqual(await drainAll(spool), [
      "rear/init.mp4",
      "rear/0000000002.m4s rcl_r",
      "rear/0000000000.m4s",
      "rear/0000000001.m4s",
    ], "nothing of front is sent: not its init, nor the end of a recording the server never saw");
    assert.deepEqual(inventoryOf(spool.held()), [
      { camera: "front", rendition: "full", ranges: [[T0, T0 + 4000]] },
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("spool over its budget evicts the ring before queued uploads and remembers the time lost", async () => {
  const dir = await Deno.makeTempDir({ prefix: "spool-ring-" });
  try {
    const { init, segments } = await material();
    const size = segments[1].bytes.byteLength;
    const spool = new Spool(options(dir, { diskBudgetBytes: init.byteLength + 5 * size + 10 }));
    spool.route = onRequestFront;
    await spool.open();
    await record(spool, "front", "rF", [0, 1, 2]);
    // The rear camera's four uploads push the total over: front's oldest two go, not rear's.
    await record(spool, "rear", "rR", [0, 1, 2, 3]);
    assert.equal(spool.stats("rear").evictedSegments, 0);
    assert.equal(spool.stats("rear").queueDepth, 5);
    assert.equal(spool.stats("front").evictedSegments, 2);
    assert.deepEqual(spool.evicted("front"), [[T0, T0 + 4000]]);
    assert.deepEqual(inventoryOf(spool.held()).find((e) => e.camera === "front")?.ranges, [
      [T0 + 4000, T0 + 6000],
    ]);
    const again = new Spool(options(dir, { diskBudgetBytes: 1e9 }));
    await again.open();
    assert.deepEqual(again.evicted("front"), [[T0, T0 + 4000]], "remembered across a restart");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("spool does not send an init again after a restart once the server has it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "spool-ring-" });
  try {
    const spool = new Spool(options(dir));
    await spool.open();
    const harvest = await spool.begin("rear", "rR");
    await writeSegments(harvest.dir, [0, 1]);
    await spool.harvest(harvest, parseCapturePlaylist(playlistText([0])));
    assert.deepEqual(await drainAll(spool), ["rear/init.mp4", "rear/0000000000.m4s"]);
    // The agent dies with segment 1 finished but not harvested; the next run recovers it.
    await Deno.writeTextFile(`${harvest.dir}/index.m3u8`, playlistText([0, 1]));
    const restarted = new Spool(options(dir));
    await restarted.open();
    assert.deepEqual(await drainAll(restarted), ["rear/0000000001.m4s", "rear/end"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("spool queues what it held once the policy says the camera uploads it, with its init and end", async () => {
  const dir = await Deno.makeTempDir({ prefix: "spool-ring-" });
  try {
    const spool = new Spool(options(dir));
    let holding = true;
    spool.route = () => holding ? { to: "ring" } : { to: "queue" };
    let woken = 0;
    spool.onQueued = () => woken++;
    await spool.open();
    const first = await record(spool, "front", "rA", [0, 1]);
    await spool.end(first, T0 + 4000);
    const second = await record(spool, "front", "rB", [0, 1, 2]);
    await record(spool, "rear", "rC", [0]);
    assert.equal(spool.take(), undefined, "held: nothing to upload yet");

    holding = false;
    assert.equal(await spool.promote("front", "full"), 5);
    assert.ok(woken > 0, "the uploader is woken");
    await spool.end(second, T0 + 6000);
    assert.deepEqual(await drainAll(spool), [
      "front/init.mp4",
      "front/0000000000.m4s",
      "front/0000000001.m4s",
      "front/end",
      "front/init.mp4",
      "front/0000000000.m4s",
      "front/0000000001.m4s",
      "front/0000000002.m4s",
      "front/end",
    ]);
    assert.deepEqual(inventoryOf(spool.held()), [
      { camera: "rear", rendition: "full", ranges: [[T0, T0 + 2000]] },
    ], "another camera's ring is left alone");
    assert.equal(await spool.promote("front", "full"), 0, "nothing left to queue");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
