import assert from "node:assert/strict";
import { type BusMessage, LogBus } from "../../lib/bus/mod.ts";
import { createLogger } from "../../lib/log/mod.ts";

async function collect(bus: LogBus, group: string, count: number, fail = 0) {
  const seen: BusMessage<{ n: number }>[] = [];
  let failures = fail;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => done = resolve);
  const consumer = bus.subscribe<{ n: number }>("segments", group, (batch) => {
    if (failures-- > 0) return Promise.reject(new Error("indexer down"));
    seen.push(...batch);
    if (seen.length >= count) done();
    return Promise.resolve();
  });
  await finished;
  await consumer.close();
  return seen;
}

Deno.test("log bus delivers every published event in order, once per group", async () => {
  const dir = await Deno.makeTempDir();
  const bus = new LogBus(dir);
  try {
    await Promise.all(Array.from({ length: 500 }, (_, n) => bus.publish("segments", "cam", { n })));
    const a = await collect(bus, "indexer", 500);
    assert.deepEqual(a.map((m) => m.value.n), Array.from({ length: 500 }, (_, n) => n));
    assert.ok(a.every((m, i) => i === 0 || m.offset > a[i - 1].offset));
    const b = await collect(bus, "audit", 500);
    assert.equal(b.length, 500);
  } finally {
    await bus.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("log bus resumes a group after its last commit, across a restart", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = new LogBus(dir);
    for (let n = 0; n < 10; n++) await first.publish("segments", "cam", { n });
    assert.equal((await collect(first, "indexer", 10)).length, 10);
    for (let n = 10; n < 15; n++) await first.publish("segments", "cam", { n });
    await first.close();

    const second = new LogBus(dir);
    const rest = await collect(second, "indexer", 5);
    assert.deepEqual(rest.map((m) => m.value.n), [10, 11, 12, 13, 14]);
    await second.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("log bus retries a batch whose handler failed (at least once)", async () => {
  const dir = await Deno.makeTempDir();
  const bus = new LogBus(dir);
  try {
    for (let n = 0; n < 3; n++) await bus.publish("segments", "cam", { n });
    const seen = await collect(bus, "indexer", 3, 2);
    assert.deepEqual(seen.map((m) => m.value.n), [0, 1, 2]);
  } finally {
    await bus.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("log bus drops a torn last line left by a crash and keeps appending whole lines", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = new LogBus(dir);
    await first.publish("segments", "cam", { n: 1 });
    await first.close();
    const file = `${dir}/segments/${"0".padStart(20, "0")}.log`;
    await Deno.writeTextFile(file, '{"k":"cam","v":{"n":', { append: true });

    const second = new LogBus(dir);
    await second.publish("segments", "cam", { n: 2 });
    const seen = await collect(second, "indexer", 2);
    assert.deepEqual(seen.map((m) => m.value.n), [1, 2]);
    await second.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("log bus refuses topic names that could escape its folder", () => {
  const bus = new LogBus(Deno.makeTempDirSync());
  assert.throws(() => bus.publish("../etc", "k", {}), /Topic name "..\/etc" is not valid/);
});

Deno.test("log bus consumer survives offset commits that fail and commits once writing works", async () => {
  const dir = await Deno.makeTempDir();
  const records: Record<string, unknown>[] = [];
  const reported: string[] = [];
  const logger = createLogger("info", (record) => void records.push(record));
  const bus = new LogBus(dir, logger, {
    report: (component) => {
      reported.push(component);
      return true;
    },
  });
  // A folder where the offset's temporary file goes: every commit fails, as on a full disk.
  const blocker = `${dir}/segments/indexer.offset.tmp`;
  await Deno.mkdir(blocker, { recursive: true });
  const seen: number[] = [];
  const consumer = bus.subscribe<{ n: number }>("segments", "indexer", (batch) => {
    seen.push(...batch.map((m) => m.value.n));
    return Promise.resolve();
  });
  try {
    for (let n = 0; n < 3; n++) await bus.publish("segments", "cam", { n });
    await until(() => records.some((r) => String(r.msg).startsWith("Cannot commit")), 10_000);
    assert.ok(reported.length > 0 && reported.every((c) => c === "bus"), String(reported));
    // Consuming goes on while commits fail.
    await bus.publish("segments", "cam", { n: 3 });
    await until(() => seen.length === 4, 10_000);

    await Deno.remove(blocker);
    const offsetFile = `${dir}/segments/indexer.offset`;
    const end = (await Deno.stat(`${dir}/segments/${"0".padStart(20, "0")}.log`)).size;
    await until(async () => {
      const text = await Deno.readTextFile(offsetFile).catch(() => "");
      return Number(text) === end;
    }, 10_000);
    assert.ok(records.some((r) => r.msg === "bus consumer commits its offset again"));
    assert.deepEqual(seen, [0, 1, 2, 3]);
  } finally {
    await consumer.close();
    await bus.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** Waits until `condition` holds, checking every 50 ms; fails after `ms`. */
async function until(condition: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
