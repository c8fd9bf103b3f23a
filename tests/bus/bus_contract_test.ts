/**
 * One contract for every event bus, run against the embedded log and against Apache Kafka (a real
 * broker from tests/support/kafka.ts) from the same code: per-key order, resuming after the last
 * commit, transient failures retried uncommitted, poison messages dead-lettered; on Kafka also a
 * group's consumers sharing the partitions, and a broker restarted while publishing.
 */
import assert from "node:assert/strict";
import {
  type BusMessage,
  type DeadLetter,
  type EventBus,
  KafkaBus,
  LogBus,
  PoisonMessageError,
} from "../../lib/bus/mod.ts";
import { parseBusUrl } from "../../lib/config/mod.ts";
import { UnavailableError } from "../../lib/errors/mod.ts";
import { type KafkaBroker, startKafka } from "../support/kafka.ts";

/** Opens the bus under test; a second call opens the same bus again (a restarted process). */
type OpenBus = () => EventBus & { deadLetters: { count(topic: string): number } };

interface Configuration {
  /** Consumers of one group share the work (Kafka's partitions); the log has one reader. */
  sharesGroups: boolean;
}

type Event = { n: number; key: string };
const TOPIC = "segments";
const WAIT_MS = 60_000;

const contract: Array<[string, (open: OpenBus, c: Configuration) => Promise<void>]> = [
  ["delivers each key's events in the order they were published", async (open) => {
    const bus = open();
    try {
      const keys = Array.from({ length: 8 }, (_, i) => `cam_${i}`);
      await Promise.all(
        Array.from({ length: 200 }, (_, n) => {
          const key = keys[n % keys.length];
          return bus.publish(TOPIC, key, { n, key });
        }),
      );
      const seen = await consume(bus, "indexer", (all) => distinct(all).size === 200);
      for (const key of keys) {
        const order = firstDeliveries(seen).filter((e) => e.key === key).map((e) => e.n);
        assert.deepEqual(order, [...order].sort((a, b) => a - b), `order of ${key}`);
        assert.equal(order.length, 25);
      }
    } finally {
      await bus.close();
    }
  }],
  ["resumes a group after its last commit when the consumer comes back", async (open) => {
    const first = open();
    for (let n = 0; n < 10; n++) await first.publish(TOPIC, "cam", { n, key: "cam" });
    assert.equal(distinct(await consume(first, "indexer", (all) => all.length >= 10)).size, 10);
    for (let n = 10; n < 15; n++) await first.publish(TOPIC, "cam", { n, key: "cam" });
    await first.close();

    const second = open();
    try {
      const rest = await consume(second, "indexer", (all) => distinct(all).size >= 5);
      // Stopped cleanly: nothing before the commit again, nothing after it missing.
      assert.deepEqual(rest.map((m) => m.value.n), [10, 11, 12, 13, 14]);
    } finally {
      await second.close();
    }
  }],
  ["retries a batch that fails transiently and commits nothing meanwhile", async (open) => {
    const bus = open();
    try {
      for (let n = 0; n < 3; n++) await bus.publish(TOPIC, "cam", { n, key: "cam" });
      let attempts = 0;
      const failing = bus.subscribe<Event>(TOPIC, "indexer", () => {
        attempts++;
        return Promise.reject(new UnavailableError("Catalog is unavailable"));
      });
      await until(() => attempts >= 2, WAIT_MS);
      await failing.close();
      // Nothing was committed: a new consumer of the group gets all three.
      const seen = await consume(bus, "indexer", (all) => distinct(all).size === 3);
      assert.deepEqual([...distinct(seen)].sort(), [0, 1, 2]);
      assert.equal(bus.deadLetters.count(TOPIC), 0);
    } finally {
      await bus.close();
    }
  }],
  ["moves a poison message to the dead-letter topic without blocking the rest", async (open) => {
    const bus = open();
    try {
      for (let n = 0; n < 6; n++) await bus.publish(TOPIC, "cam", { n, key: "cam" });
      const handled: number[] = [];
      const consumer = bus.subscribe<Event>(TOPIC, "indexer", (batch) => {
        for (const m of batch) {
          // 2 can never be read; 4 fails every time with an error of no known kind.
          if (m.value.n === 2) throw new PoisonMessageError(`Event 2 is malformed`);
          if (m.value.n === 4) throw new Error("Cannot index event 4");
        }
        handled.push(...batch.map((m) => m.value.n));
        return Promise.resolve();
      });
      await until(() => new Set(handled).size === 4, WAIT_MS);
      await consumer.close();
      assert.deepEqual([...new Set(handled)].sort(), [0, 1, 3, 5]);
      assert.equal(bus.deadLetters.count(TOPIC), 2);
      const letters = await consume<DeadLetter>(
        bus,
        "audit",
        (all) => all.length >= 2,
        `${TOPIC}.dead-letter`,
      );
      const dead = letters.map((m) => m.value);
      assert.deepEqual(dead.map((d) => (d.value as Event).n).sort(), [2, 4]);
      assert.match(dead.find((d) => (d.value as Event).n === 2)!.error, /Event 2 is malformed/);
      assert.ok(dead.find((d) => (d.value as Event).n === 4)!.attempts > 1);
    } finally {
      await bus.close();
    }
  }],
  ["shares a group's work between its consumers", async (open, c) => {
    if (!c.sharesGroups) return; // the log bus has one reader per group (see README)
    const bus = open();
    const seen: Array<{ consumer: string; n: number }> = [];
    const subscribe = (name: string) =>
      bus.subscribe<Event>(TOPIC, "indexer", (batch) => {
        seen.push(...batch.map((m) => ({ consumer: name, n: m.value.n })));
        return Promise.resolve();
      });
    const a = subscribe("a");
    const b = subscribe("b");
    try {
      // Publish until both have had work (the group settles its assignment meanwhile).
      let n = 0;
      const deadline = Date.now() + WAIT_MS;
      while (new Set(seen.map((s) => s.consumer)).size < 2) {
        if (Date.now() > deadline) throw new Error(`One consumer got everything: ${seen.length}`);
        await Promise.all(
          Array.from({ length: 16 }, (_, i) => bus.publish(TOPIC, `cam_${i}`, { n: n++ })),
        );
        await new Promise((r) => setTimeout(r, 200));
      }
      const published = n;
      await until(() => new Set(seen.map((s) => s.n)).size === published, WAIT_MS);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await bus.close();
    }
  }],
];

Deno.test("log bus meets the bus contract", async (t) => {
  for (const [name, body] of contract) {
    const dir = await Deno.makeTempDir();
    try {
      await t.step(name, () => body(() => new LogBus(dir), { sharesGroups: false }));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("kafka bus meets the bus contract", async (t) => {
  await using kafka = await startKafka();
  let run = 0;
  for (const [name, body] of contract) {
    const open = kafkaBus(kafka, `contract${run++}.`);
    await t.step(name, () => body(open, { sharesGroups: true }));
  }
});

Deno.test("kafka bus loses no event when the broker restarts during publishing", async () => {
  await using kafka = await startKafka();
  const bus = kafkaBus(kafka, "restart.")();
  try {
    const refusals: unknown[] = [];
    let published = 0;
    /** Events published when the restart ended: publishing goes on for 50 more. */
    const restart: { endedAt?: number } = {};
    // A vehicle's uploads: each retried after a refusal until it is acknowledged.
    const publishing = (async () => {
      for (let n = 0; restart.endedAt === undefined || published < restart.endedAt + 50; n++) {
        const deadline = Date.now() + WAIT_MS;
        for (;;) {
          try {
            await bus.publish(TOPIC, `cam_${n % 4}`, { n, key: `cam_${n % 4}` });
            published++;
            break;
          } catch (error) {
            refusals.push(error);
            if (Date.now() > deadline) throw error;
            await new Promise((r) => setTimeout(r, 200));
          }
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    await until(() => published >= 20, WAIT_MS);
    await kafka.restart();
    restart.endedAt = published;
    await publishing;
    const total = published;
    assert.ok(
      refusals.every((e) => e instanceof UnavailableError),
      `refusals other than UnavailableError: ${
        refusals.filter((e) => !(e instanceof UnavailableError))
      }`,
    );
    const seen = await consume(bus, "indexer", (all) => distinct(all).size === total);
    assert.equal(distinct(seen).size, total);
  } finally {
    await bus.close();
  }
});

Deno.test("kafka bus refuses a publish with UnavailableError while the broker is down", async () => {
  await using kafka = await startKafka();
  const bus = kafkaBus(kafka, "down.", "&timeout=3s")();
  try {
    await bus.publish(TOPIC, "cam", { n: 0, key: "cam" });
    await kafka.halt();
    const refused = await bus.publish(TOPIC, "cam", { n: 1, key: "cam" }).catch((e) => e);
    assert.ok(refused instanceof UnavailableError, String(refused));
    assert.match(refused.message, /Cannot publish to Kafka now/);
    assert.equal(refused.retryAfterSeconds, 5);
    await kafka.restart();
    // The caller's retry (the vehicle's, through ingest's 503) lands.
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      try {
        await bus.publish(TOPIC, "cam", { n: 1, key: "cam" });
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
      }
    }
    const seen = await consume(bus, "indexer", (all) => distinct(all).size === 2);
    assert.deepEqual([...distinct(seen)].sort(), [0, 1]);
  } finally {
    await bus.close();
  }
});

/** Opens Kafka buses with topics and groups of their own on `kafka` (`prefix`). */
function kafkaBus(kafka: KafkaBroker, prefix: string, more = ""): OpenBus {
  const target = parseBusUrl(
    `${kafka.busUrl}?topicPrefix=${prefix}&partitions=4&replication=1&attempts=3${more}`,
  );
  if (target.kind !== "kafka") throw new TypeError("not a Kafka URL");
  return () => new KafkaBus(target);
}

/** Consumes `topic` as `group` until `done` holds for everything received, then stops. */
async function consume<T = Event>(
  bus: EventBus,
  group: string,
  done: (all: BusMessage<T>[]) => boolean,
  topic = TOPIC,
): Promise<BusMessage<T>[]> {
  const seen: BusMessage<T>[] = [];
  const consumer = bus.subscribe<T>(topic, group, (batch) => {
    seen.push(...batch);
    return Promise.resolve();
  });
  try {
    await until(() => done(seen), WAIT_MS);
  } finally {
    await consumer.close();
  }
  return seen;
}

function distinct(messages: BusMessage<Event>[]): Set<number> {
  return new Set(messages.map((m) => m.value.n));
}

/** Each event as first delivered (a redelivery repeats what came before it). */
function firstDeliveries(messages: BusMessage<Event>[]): Event[] {
  const seen = new Set<number>();
  return messages.map((m) => m.value).filter((e) => !seen.has(e.n) && seen.add(e.n));
}

/** Waits until `condition` holds, checking every 50 ms; fails after `ms`. */
async function until(condition: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
