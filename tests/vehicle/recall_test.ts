import assert from "node:assert/strict";
import { silentLogger } from "../../lib/log/mod.ts";
import type { RecallOrder } from "../../vehicle/instructions.ts";
import { inventoryOf } from "../../vehicle/inventory.ts";
import { parseCapturePlaylist } from "../../vehicle/playlist.ts";
import type { QueueEntry } from "../../vehicle/queue_entry.ts";
import { RecallBook } from "../../vehicle/recall.ts";
import { Spool } from "../../vehicle/spool.ts";
import { material, playlistText, T0, writeSegments } from "./spool_fixture.ts";

/** A spool whose "front" camera keeps its full quality on the vehicle, and its recall book. */
async function openVehicle(dir: string, now: { ms: number }, budget = 1e9) {
  const spool = new Spool({
    dir,
    diskBudgetBytes: budget,
    quarantineBudgetBytes: 1e8,
    drainOrder: "oldest",
    segmentSeconds: 2,
    logger: silentLogger,
  });
  let changes = 0;
  const book = new RecallBook({
    path: `${dir}/recalls.json`,
    spool,
    logger: silentLogger,
    settleMs: 9_000,
    now: () => now.ms,
    onChange: () => void changes++,
  });
  await book.open();
  spool.route = (query) =>
    book.route(query) ?? (query.camera === "front" ? { to: "ring" } : { to: "queue" });
  spool.onUploaded = (entry) => book.uploaded(entry);
  await spool.open();
  return { spool, book, changes: () => changes };
}

function order(id: string, fromMs: number, toMs: number, camera = "front"): RecallOrder {
  const from = new Date(fromMs).toISOString();
  const to = new Date(toMs).toISOString();
  return { id, camera, from, to, fromMs, toMs };
}

async function record(
  spool: Spool,
  recordingId: string,
  sequences: number[],
  end?: number,
  camera = "front",
) {
  const harvest = await spool.begin(camera, recordingId);
  await writeSegments(harvest.dir, sequences);
  await spool.harvest(harvest, parseCapturePlaylist(playlistText(sequences)), true);
  if (end !== undefined) await spool.end(harvest, end);
  return harvest;
}

/** Uploads everything that may go, as the server would acknowledge it; returns the files. */
async function drainAll(spool: Spool): Promise<string[]> {
  const sent: string[] = [];
  let entry: QueueEntry | undefined;
  while ((entry = spool.take())) {
    sent.push(`${entry.file}${entry.recallId ? ` ${entry.recallId}` : ""}`);
    await spool.done(entry);
  }
  return sent;
}

Deno.test("recall sends the ring's overlapping segments and ends done with what was never recorded", async () => {
  const dir = await Deno.makeTempDir({ prefix: "recall-" });
  try {
    const now = { ms: T0 + 60_000 };
    const { spool, book, changes } = await openVehicle(dir, now);
    await record(spool, "rF", [0, 1, 2, 3], T0 + 8000);
    // 2 s into the recording until 4 s after its end.
    await book.sync([order("rcl_a", T0 + 2000, T0 + 12_000)]);
    const { segments } = await material();
    const size = segments[1].bytes.byteLength;
    assert.deepEqual(book.reports(), [{
      id: "rcl_a",
      state: "uploading",
      segmentsTotal: 3,
      segmentsDone: 0,
      bytesTotal: 3 * size,
      bytesDone: 0,
      missing: [],
    }]);
    assert.deepEqual(await drainAll(spool), [
      "init.mp4",
      "0000000001.m4s rcl_a",
      "0000000002.m4s rcl_a",
      "0000000003.m4s rcl_a",
      "end",
    ]);
    await book.check();
    assert.deepEqual(book.reports(), [{
      id: "rcl_a",
      state: "done",
      segmentsTotal: 3,
      segmentsDone: 3,
      bytesTotal: 3 * size,
      bytesDone: 3 * size,
      missing: [{
        from: new Date(T0 + 8000).toISOString(),
        to: new Date(T0 + 12_000).toISOString(),
        reason: "not-recorded",
      }],
    }]);
    assert.equal(changes(), 2, "uploading, then done: each change told once");
    assert.deepEqual(inventoryOf(spool.held()), [
      { camera: "front", rendition: "full", ranges: [[T0, T0 + 2000]] },
    ]);

    // The server drops the recall from its list: the vehicle forgets it.
    await book.sync([]);
    assert.deepEqual(book.reports(), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("recall of a range the ring evicted ends done with nothing, the time reported evicted", async () => {
  const dir = await Deno.makeTempDir({ prefix: "recall-" });
  try {
    const { init, segments } = await material();
    const budget = init.byteLength + 2 * segments[1].bytes.byteLength + 10;
    const now = { ms: T0 + 60_000 };
    const { spool, book } = await openVehicle(dir, now, budget);
    await record(spool, "rF", [0, 1, 2, 3], T0 + 8000);
    await book.sync([order("rcl_old", T0, T0 + 4000), order("rcl_mixed", T0 + 3000, T0 + 6000)]);
    await drainAll(spool);
    await book.check();
    const reports = Object.fromEntries(book.reports().map((r) => [r.id, r]));
    assert.equal(reports.rcl_old.state, "done");
    assert.equal(reports.rcl_old.segmentsTotal, 0);
    assert.deepEqual(reports.rcl_old.missing, [{
      from: new Date(T0).toISOString(),
      to: new Date(T0 + 4000).toISOString(),
      reason: "evicted",
    }]);
    assert.equal(reports.rcl_mixed.segmentsDone, 1);
    assert.deepEqual(reports.rcl_mixed.missing, [{
      from: new Date(T0 + 3000).toISOString(),
      to: new Date(T0 + 4000).toISOString(),
      reason: "evicted",
    }]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("recall survives a restart: queued segments keep their recall and progress is kept", async () => {
  const dir = await Deno.makeTempDir({ prefix: "recall-" });
  try {
    const now = { ms: T0 + 60_000 };
    const first = await openVehicle(dir, now);
    await record(first.spool, "rF", [0, 1, 2, 3], T0 + 8000);
    const orders = [order("rcl_r", T0, T0 + 8000)];
    await first.book.sync(orders);
    // Two go (the init and segment 0), then the agent stops.
    for (let i = 0; i < 2; i++) await first.spool.done(first.spool.take()!);
    await first.book.close();

    const second = await openVehicle(dir, now);
    await second.book.sync(orders);
    const [before] = second.book.reports();
    assert.equal(before.state, "uploading");
    assert.equal(before.segmentsDone, 1);
    assert.equal(before.segmentsTotal, 4, "counted once across the restart");
    assert.deepEqual(await drainAll(second.spool), [
      "0000000001.m4s rcl_r",
      "0000000002.m4s rcl_r",
      "0000000003.m4s rcl_r",
      "end",
    ]);
    await second.book.check();
    const [after] = second.book.reports();
    assert.equal(after.state, "done");
    assert.equal(after.segmentsDone, 4);
    assert.deepEqual(after.missing, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("recall reaching into the future stays pending until capture passes its end", async () => {
  const dir = await Deno.makeTempDir({ prefix: "recall-" });
  try {
    const now = { ms: T0 };
    const { spool, book } = await openVehicle(dir, now);
    await book.sync([order("rcl_f", T0 + 2000, T0 + 6000)]);
    assert.equal(book.reports()[0].state, "pending");
    // Capture goes on: segments in the recall's time are queued for it as they are harvested,
    // the others stay in the ring.
    const harvest = await spool.begin("front", "rF");
    await writeSegments(harvest.dir, [0, 1, 2]);
    await spool.harvest(harvest, parseCapturePlaylist(playlistText([0, 1, 2])), true);
    now.ms = T0 + 6000;
    await book.check();
    assert.equal(book.reports()[0].state, "uploading");
    assert.deepEqual(await drainAll(spool), [
      "init.mp4",
      "0000000001.m4s rcl_f",
      "0000000002.m4s rcl_f",
    ]);
    await book.check();
    assert.equal(book.reports()[0].state, "done", "capture harvested past its end");
    assert.deepEqual(book.reports()[0].missing, []);
    await writeSegments(harvest.dir, [3]);
    await spool.harvest(harvest, parseCapturePlaylist(playlistText([0, 1, 2, 3])), true);
    assert.equal(spool.take(), undefined, "later segments stay in the ring");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("recall of time already uploaded as continuous traffic completes with nothing missing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "recall-" });
  try {
    const now = { ms: T0 + 60_000 };
    const first = await openVehicle(dir, now);
    await record(first.spool, "rR", [0, 1, 2], T0 + 6000, "rear");
    await drainAll(first.spool);
    await first.spool.saveSent();
    // Across a restart: what the server acknowledged is remembered.
    const { book } = await openVehicle(dir, now);
    await book.sync([order("rcl_sent", T0 + 1000, T0 + 5000, "rear")]);
    assert.deepEqual(book.reports(), [{
      id: "rcl_sent",
      state: "done",
      segmentsTotal: 0,
      segmentsDone: 0,
      bytesTotal: 0,
      bytesDone: 0,
      missing: [],
    }]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("recall ends done as its last segment is acknowledged, without waiting for the next check", async () => {
  const dir = await Deno.makeTempDir({ prefix: "recall-" });
  try {
    const now = { ms: T0 + 60_000 };
    const { spool, book, changes } = await openVehicle(dir, now);
    await record(spool, "rF", [0, 1, 2, 3], T0 + 8000);
    await book.sync([order("rcl_now", T0, T0 + 8000)]);
    assert.equal(book.reports()[0].state, "uploading");
    await drainAll(spool);
    // No check() here (the agent's runs once a second): the last acknowledgement finished it.
    await book.close();
    const [report] = book.reports();
    assert.equal(report.state, "done");
    assert.equal(report.segmentsDone, 4);
    assert.deepEqual(report.missing, []);
    assert.equal(changes(), 2, "uploading, then done");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
