import {
  type Admin,
  type Consumer as KafkaConsumer,
  Kafka,
  type LogEntry,
  logLevel,
  Partitioners,
  type Producer,
} from "kafkajs";
import type { Registry } from "prom-client";
import type { BusTarget } from "../config/bus_url.ts";
import { UnavailableError } from "../errors/mod.ts";
import type { Logger } from "../log/mod.ts";
import {
  DeadLetterCounter,
  deadLettering,
  deadLetterTopic,
  isTransient,
  sendToDeadLetters,
} from "./dead_letter.ts";
import type { BatchHandler, BusMessage, Consumer, EventBus } from "./types.ts";

/** Settings of a Kafka bus, as `BUS_URL` names them (see lib/config/bus_url.ts). */
export type KafkaBusOptions = Extract<BusTarget, { kind: "kafka" }>;

const TOPIC_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** Most events one produce request carries; concurrent publishes beyond wait for the next. */
const MAX_BATCH = 1000;

/** Longest wait between two attempts of a batch whose handler failed transiently. */
const MAX_RETRY_MS = 10_000;

interface Pending {
  topic: string;
  key: string;
  value: string;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * The event bus on Apache Kafka (kafkajs): a topic per event kind (`<prefix><topic>`, created at
 * first use with the configured partitions and replication, beside `<topic>.dead-letter`), keyed
 * by vehicle so each vehicle's events keep their order; an idempotent producer with acks from
 * every in-sync replica, concurrent publishes sharing one produce request. Subscribers of a group
 * share the partitions; a batch's offsets are committed only after its handler resolved; a
 * transient failure is retried without committing, and a message that cannot be processed goes to
 * the dead-letter topic instead of blocking its partition.
 */
export class KafkaBus implements EventBus {
  readonly kind = "kafka";
  /** Messages moved to dead-letter topics (`motorcade_bus_dead_letters_total`). */
  readonly deadLetters = new DeadLetterCounter();
  readonly #kafka: Kafka;
  readonly #topics = new Map<string, Promise<void>>();
  readonly #consumers = new Set<Consumer>();
  #admin: Promise<Admin> | undefined;
  #producer: Promise<Producer> | undefined;
  #queue: Pending[] = [];
  #sending: Promise<void> | undefined;
  #closed = false;

  constructor(readonly options: KafkaBusOptions, private readonly logger?: Logger) {
    this.#kafka = new Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      ssl: options.tls,
      sasl: options.sasl
        ? { ...options.sasl } as ConstructorParameters<typeof Kafka>[0]["sasl"]
        : undefined,
      connectionTimeout: 3000,
      requestTimeout: 15_000,
      retry: { initialRetryTime: 200, maxRetryTime: 3000, retries: 8 },
      logLevel: logLevel.WARN,
      logCreator: () => (entry) => this.#log(entry),
    });
  }

  /** Kafka's own log lines, at most warnings, with only fields that cannot hold a secret. */
  #log({ level, namespace, log }: LogEntry): void {
    if (!this.logger || level > logLevel.WARN) return;
    const fields: Record<string, unknown> = { part: "kafka", namespace };
    for (const name of ["broker", "error", "groupId", "topic", "retryCount", "retryTime"]) {
      if (log[name] !== undefined) fields[name] = log[name];
    }
    // A request's error answer (a coordinator loading, a topic already there) is retried by
    // kafkajs or expected: what matters is what the operation finally does.
    if (namespace === "Connection") this.logger.debug(`kafka: ${log.message}`, fields);
    else this.logger.warn(`kafka: ${log.message}`, fields);
  }

  #name(topic: string): string {
    if (!TOPIC_NAME.test(topic)) throw new TypeError(`Topic name "${topic}" is not valid`);
    return this.options.topicPrefix + topic;
  }

  #adminClient(): Promise<Admin> {
    this.#admin ??= (async () => {
      const admin = this.#kafka.admin();
      try {
        await admin.connect();
      } catch (error) {
        this.#admin = undefined;
        throw error;
      }
      return admin;
    })();
    return this.#admin;
  }

  /** Creates `topic` and its dead-letter topic unless they exist (once per bus). */
  ensureTopic(topic: string): Promise<void> {
    const base = topic.endsWith(".dead-letter") ? topic.slice(0, -".dead-letter".length) : topic;
    let ready = this.#topics.get(base);
    if (!ready) {
      ready = (async () => {
        const admin = await this.#adminClient();
        await admin.createTopics({
          waitForLeaders: true,
          topics: [base, deadLetterTopic(base)].map((name) => ({
            topic: this.#name(name),
            numPartitions: this.options.partitions,
            replicationFactor: this.options.replication,
          })),
        });
      })();
      this.#topics.set(base, ready);
      ready.catch(() => this.#topics.delete(base));
    }
    return ready;
  }

  #producerClient(): Promise<Producer> {
    this.#producer ??= (async () => {
      const producer = this.#kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
        // Unbounded, as idempotence needs: `timeout` bounds a publish, and a producer that timed
        // out is replaced.
        retry: { initialRetryTime: 200, maxRetryTime: 3000, retries: Number.MAX_SAFE_INTEGER },
      });
      try {
        await producer.connect();
      } catch (error) {
        this.#producer = undefined;
        throw error;
      }
      return producer;
    })();
    return this.#producer;
  }

  /** Drops the producer after a failed send: the next one starts a new idempotent session. */
  #resetProducer(): void {
    const producer = this.#producer;
    this.#producer = undefined;
    producer?.then((p) => p.disconnect()).catch(() => {});
  }

  publish(topic: string, key: string, value: unknown): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("Bus is closed"));
    this.#name(topic);
    return new Promise((resolve, reject) => {
      this.#queue.push({ topic, key, value: JSON.stringify(value), resolve, reject });
      if (!this.#sending) queueMicrotask(() => this.#send());
    });
  }

  /** Sends everything queued, a produce request at a time, until the queue is empty. */
  #send(): void {
    if (this.#sending) return;
    this.#sending = (async () => {
      while (this.#queue.length) {
        const batch = this.#queue.splice(0, MAX_BATCH);
        try {
          await withTimeout(this.#produce(batch), this.options.publishTimeoutMs);
          for (const p of batch) p.resolve();
        } catch (error) {
          this.#resetProducer();
          const reason = error instanceof Error ? error.message : String(error);
          this.logger?.warn("Cannot publish to Kafka", { count: batch.length, error: reason });
          const refused = new UnavailableError(`Cannot publish to Kafka now: ${reason}`, 5);
          for (const p of batch) p.reject(refused);
        }
      }
    })().finally(() => {
      this.#sending = undefined;
      // Published while the loop was ending: send it too.
      if (this.#queue.length) this.#send();
    });
  }

  async #produce(batch: Pending[]): Promise<void> {
    const byTopic = new Map<string, Array<{ key: string; value: string }>>();
    for (const { topic, key, value } of batch) {
      let messages = byTopic.get(topic);
      if (!messages) byTopic.set(topic, messages = []);
      messages.push({ key, value });
    }
    await Promise.all([...byTopic.keys()].map((topic) => this.ensureTopic(topic)));
    const producer = await this.#producerClient();
    await producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, messages]) => ({
        topic: this.#name(topic),
        messages,
      })),
    });
  }

  subscribe<T>(topic: string, group: string, handler: BatchHandler<T>): Consumer {
    if (!TOPIC_NAME.test(group)) throw new TypeError(`Group name "${group}" is not valid`);
    const name = this.#name(topic);
    const logger = this.logger?.child({ topic, group });
    const dead = {
      group,
      counter: this.deadLetters,
      logger,
      publish: (letter: unknown, key: string) => this.publish(deadLetterTopic(topic), key, letter),
    };
    const handle = deadLettering(handler, { ...dead, topic, attempts: this.options.attempts });
    const kafkaConsumer: KafkaConsumer = this.#kafka.consumer({
      groupId: this.options.topicPrefix + group,
      allowAutoTopicCreation: false,
      sessionTimeout: 10_000,
      heartbeatInterval: 1000,
      maxWaitTimeInMs: 500,
      retry: { initialRetryTime: 200, maxRetryTime: 5000, retries: 10 },
    });
    let stopping = false;
    const run = async () => {
      await this.ensureTopic(topic);
      await kafkaConsumer.connect();
      await kafkaConsumer.subscribe({ topics: [name], fromBeginning: true });
      await kafkaConsumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
          if (batch.messages.length === 0) return;
          const messages: BusMessage<T>[] = [];
          for (const m of batch.messages) {
            const text = m.value?.toString() ?? "";
            const message = {
              topic,
              partition: batch.partition,
              offset: Number(m.offset),
              key: m.key?.toString() ?? "",
              publishedAt: Number(m.timestamp),
            };
            try {
              messages.push({ ...message, value: JSON.parse(text) as T });
            } catch (error) {
              // Not JSON: no handler can read it.
              await sendToDeadLetters({ ...message, value: text }, error, 1, dead);
            }
          }
          let failures = 0;
          while (messages.length) {
            if (stopping || !isRunning() || isStale()) return; // uncommitted: delivered again
            try {
              await handle(messages);
              break;
            } catch (error) {
              failures++;
              const fields = { partition: batch.partition, offset: messages[0].offset, failures };
              if (isTransient(error)) {
                logger?.warn("bus consumer cannot index now; retrying the batch", {
                  ...fields,
                  error,
                });
              } else logger?.error("bus consumer failed; retrying the batch", { ...fields, error });
              const wait = Math.min(MAX_RETRY_MS, 100 * 2 ** failures);
              for (let waited = 0; waited < wait && !stopping; waited += 500) {
                await new Promise((r) => setTimeout(r, Math.min(500, wait - waited)));
                await heartbeat().catch(() => {});
              }
            }
          }
          const last = batch.messages.at(-1)!.offset;
          resolveOffset(last);
          await kafkaConsumer.commitOffsets([{
            topic: name,
            partition: batch.partition,
            offset: (BigInt(last) + 1n).toString(),
          }]);
          await heartbeat();
        },
      });
    };
    // Kafka unreachable at start: try again until it answers or the subscription is closed.
    const started = (async () => {
      for (let attempt = 1; !stopping; attempt++) {
        try {
          await run();
          return;
        } catch (error) {
          logger?.warn("Cannot start the bus consumer; retrying", { attempt, error });
          await kafkaConsumer.disconnect().catch(() => {});
          await new Promise((r) => setTimeout(r, Math.min(MAX_RETRY_MS, 250 * 2 ** attempt)));
        }
      }
    })();
    const consumer: Consumer = {
      close: async () => {
        stopping = true;
        await started;
        await kafkaConsumer.disconnect().catch(() => {});
        this.#consumers.delete(consumer);
      },
    };
    this.#consumers.add(consumer);
    return consumer;
  }

  async ping(): Promise<void> {
    const admin = await withTimeout(this.#adminClient(), 5000);
    await withTimeout(admin.describeCluster(), 5000);
  }

  /** The bus's counters on a Prometheus registry. */
  registerMetrics(registry: Registry): void {
    this.deadLetters.registerMetrics(registry);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await Promise.all([...this.#consumers].map((c) => c.close()));
    this.#closed = true;
    await this.#sending;
    await Promise.all([
      this.#producer?.then((p) => p.disconnect()).catch(() => {}),
      this.#admin?.then((a) => a.disconnect()).catch(() => {}),
    ]);
  }
}

/** `promise`, or a rejection naming the wait once `ms` pass. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer from Kafka within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
