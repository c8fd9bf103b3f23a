/**
 * Benchmark: the two Kafka clients that run under Deno, kafkajs (the bus's) and
 * @platformatic/kafka, against one broker (tests/support/kafka.ts) in the same run: publish
 * throughput with one send per event and with concurrent events sharing a send (as KafkaBus
 * sends), and consume throughput with a commit per batch. Both idempotent, acks=all, keyed by
 * camera. Rounds alternate which client goes first. Prints figures only; fails on nothing.
 *
 *   deno run --allow-all bench/bus_clients.ts [--events 20000] [--rounds 4] [--inflight 64]
 */
import * as platformatic from "@platformatic/kafka";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { parseArgs } from "node:util";
import { startKafka } from "../tests/support/kafka.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    events: { type: "string", default: "20000" },
    rounds: { type: "string", default: "4" },
    inflight: { type: "string", default: "64" },
  },
});
const EVENTS = Number(values.events);
const ROUNDS = Number(values.rounds);
const IN_FLIGHT = Number(values.inflight);
const PARTITIONS = 6;

/** A segment event as ingest publishes it (about 320 bytes). */
const event = (n: number) =>
  JSON.stringify({
    type: "segment.stored",
    fleetId: "flt_0123456789",
    vehicleId: "veh_0123456789",
    cameraId: `cam_${n % 100}`,
    recordingId: "rec_0123456789abcdef",
    sequence: n,
    startMs: 1_700_000_000_000 + n * 2000,
    durationMs: 2000,
    size: 514_000,
    sha256: "a".repeat(64),
    objectKey: `flt/veh/cam_${n % 100}/rec/${n}.m4s`,
  });

/** Runs `publish(i)` for every event, `IN_FLIGHT` at a time. */
async function publishAll(publish: (i: number) => Promise<unknown>): Promise<number> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < EVENTS) await publish(next++);
    }),
  );
  return EVENTS / ((performance.now() - started) / 1000);
}

/** Concurrent publishes wait for one send of everything queued, as KafkaBus does. */
function sharingSends(send: (batch: Array<{ key: string; value: string }>) => Promise<unknown>) {
  let queue: Array<{ key: string; value: string; done: () => void; fail: (e: unknown) => void }> =
    [];
  let sending = false;
  const pump = async () => {
    if (sending) return;
    sending = true;
    while (queue.length) {
      const batch = queue;
      queue = [];
      try {
        await send(batch.map(({ key, value }) => ({ key, value })));
        for (const m of batch) m.done();
      } catch (error) {
        for (const m of batch) m.fail(error);
      }
    }
    sending = false;
  };
  return (key: string, value: string) =>
    new Promise<void>((done, fail) => {
      queue.push({ key, value, done, fail });
      queueMicrotask(pump);
    });
}

const figures = new Map<string, number[]>();
const note = (name: string, value: number) =>
  figures.set(name, [...figures.get(name) ?? [], value]);

await using kafka = await startKafka();
const brokers = [kafka.bootstrap];

async function kafkajs(round: number): Promise<void> {
  const topic = `kafkajs-${round}`;
  const client = new Kafka({ clientId: "bench", brokers, logLevel: logLevel.NOTHING });
  const admin = client.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }],
    waitForLeaders: true,
  });
  await admin.disconnect();
  const producer = client.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  note(
    "kafkajs: publish, one send per event",
    await publishAll((i) =>
      producer.send({ topic, acks: -1, messages: [{ key: `cam_${i % 100}`, value: event(i) }] })
    ),
  );
  const shared = sharingSends((messages) => producer.send({ topic, acks: -1, messages }));
  note(
    "kafkajs: publish, sends shared",
    await publishAll((i) => shared(`cam_${i % 100}`, event(i))),
  );
  await producer.disconnect();

  const consumer = client.consumer({ groupId: `bench-${topic}` });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let received = 0;
  let first = 0;
  let done!: () => void;
  const all = new Promise<void>((resolve) => done = resolve);
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      first ||= performance.now();
      received += batch.messages.length;
      await consumer.commitOffsets([{
        topic,
        partition: batch.partition,
        offset: (BigInt(batch.lastOffset()) + 1n).toString(),
      }]);
      if (received >= 2 * EVENTS) done();
    },
  });
  await all;
  note("kafkajs: consume, commit per batch", 2 * EVENTS / ((performance.now() - first) / 1000));
  await consumer.disconnect();
}

async function platformaticKafka(round: number): Promise<void> {
  const topic = `platformatic-${round}`;
  const admin = new platformatic.Admin({ clientId: "bench", bootstrapBrokers: brokers });
  await admin.createTopics({ topics: [topic], partitions: PARTITIONS, replicas: 1 });
  await admin.close();
  const producer = new platformatic.Producer({
    clientId: "bench",
    bootstrapBrokers: brokers,
    serializers: platformatic.stringSerializers,
    idempotent: true,
    acks: platformatic.ProduceAcks.ALL,
  });
  note(
    "platformatic: publish, one send per event",
    await publishAll((i) =>
      producer.send({ messages: [{ topic, key: `cam_${i % 100}`, value: event(i) }] })
    ),
  );
  const shared = sharingSends((messages) =>
    producer.send({ messages: messages.map((m) => ({ topic, ...m })) })
  );
  note(
    "platformatic: publish, sends shared",
    await publishAll((i) => shared(`cam_${i % 100}`, event(i))),
  );
  await producer.close();

  const consumer = new platformatic.Consumer({
    clientId: "bench",
    groupId: `bench-${topic}`,
    bootstrapBrokers: brokers,
    deserializers: platformatic.stringDeserializers,
  });
  const stream = await consumer.consume({
    topics: [topic],
    mode: platformatic.MessagesStreamModes.COMMITTED,
    fallbackMode: platformatic.MessagesStreamFallbackModes.EARLIEST,
    autocommit: false,
  });
  let received = 0;
  let first = 0;
  let done!: () => void;
  const all = new Promise<void>((resolve) => done = resolve);
  // Offsets to commit by partition; committed once per turn of the event loop (a batch).
  const pending = new Map<number, { offset: bigint; leaderEpoch: number }>();
  let committing = false;
  let closed = false;
  const commit = async () => {
    if (committing || closed || pending.size === 0) return;
    committing = true;
    stream.pause();
    const offsets = [...pending].map(([partition, { offset, leaderEpoch }]) => ({
      topic,
      partition,
      offset: offset + 1n,
      leaderEpoch,
    }));
    pending.clear();
    await consumer.commit({ offsets });
    committing = false;
    stream.resume();
    if (received >= 2 * EVENTS && pending.size === 0) done();
  };
  stream.on("data", (message) => {
    first ||= performance.now();
    received++;
    pending.set(message.partition, { offset: message.offset, leaderEpoch: message.leaderEpoch });
    setTimeout(commit, 0);
  });
  await all;
  note(
    "platformatic: consume, commit per batch",
    2 * EVENTS / ((performance.now() - first) / 1000),
  );
  closed = true;
  await stream.close();
  await consumer.close();
}

for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? [kafkajs, platformaticKafka] : [platformaticKafka, kafkajs];
  for (const client of order) await client(round);
}
console.log(
  `${EVENTS} events (~320 bytes, 100 keys) per publish mode, ${PARTITIONS} partitions, ` +
    `${IN_FLIGHT} publishes in flight, idempotent, acks=all; events/s per round:`,
);
for (const [name, values] of [...figures].sort()) {
  console.log(`  ${name.padEnd(42)} ${values.map((v) => Math.round(v)).join("  ")}`);
}
