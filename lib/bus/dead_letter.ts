import { Counter, type Registry } from "prom-client";
import { UnavailableError, ValidationError } from "../errors/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { BatchHandler, BusMessage } from "./types.ts";

/** Thrown by a handler for a message that can never be processed: it goes to the dead letters. */
export class PoisonMessageError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PoisonMessageError";
  }
}

/** Name of the topic where messages of `topic` that cannot be processed go. */
export function deadLetterTopic(topic: string): string {
  return `${topic}.dead-letter`;
}

/** What a dead-letter topic holds for each message it received. */
export interface DeadLetter {
  topic: string;
  partition?: number;
  offset: number;
  key: string;
  /** The message's value, or its raw text when it was not JSON. */
  value: unknown;
  publishedAt: number;
  error: string;
  attempts: number;
  deadAt: number;
}

/**
 * True for a failure that passes by itself (a dependency unavailable, storage full, a lost
 * connection): the message is retried, never dead-lettered, however long it lasts.
 */
export function isTransient(error: unknown): boolean {
  if (error instanceof UnavailableError) return true;
  if (
    error instanceof Deno.errors.ConnectionRefused ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.TimedOut || error instanceof Deno.errors.Interrupted
  ) return true;
  const code = String((error as { code?: unknown })?.code ?? "");
  return /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EAI_AGAIN|SQLITE_BUSY|SQLITE_LOCKED)/.test(
    code,
  ) ||
    /database is locked/.test(String((error as Error)?.message));
}

/** True for a failure retrying cannot cure: the message is dead-lettered at once. */
function isPermanent(error: unknown): boolean {
  return error instanceof PoisonMessageError || error instanceof ValidationError ||
    error instanceof SyntaxError;
}

/** Options of {@linkcode deadLettering}. */
export interface DeadLetterOptions {
  topic: string;
  group: string;
  /** Attempts of one message failing with an unknown error before it is dead-lettered. */
  attempts: number;
  /** Makes the dead letter durable; a rejection leaves the batch uncommitted (retried). */
  publish(deadLetter: DeadLetter, key: string): Promise<void>;
  counter: DeadLetterCounter;
  logger?: Logger;
  /** Wait before attempt `n` (2, 3, …) of one message. */
  delayMs?: (attempt: number) => number;
}

/**
 * Wraps a batch handler so that a message that cannot be processed never blocks its partition:
 * a transient failure (see {@linkcode isTransient}) is thrown on, and the bus retries the batch
 * without committing; any other failure makes the batch run again one message at a time, in
 * order, and a message that fails permanently ({@linkcode PoisonMessageError}, a validation
 * error) or `attempts` times goes to the dead-letter topic and is committed past.
 */
export function deadLettering<T>(
  handler: BatchHandler<T>,
  options: DeadLetterOptions,
): BatchHandler<T> {
  const delayMs = options.delayMs ?? ((attempt) => Math.min(2000, 50 * 2 ** attempt));
  return async (batch) => {
    try {
      return await handler(batch);
    } catch (error) {
      if (isTransient(error)) throw error;
      if (batch.length === 1) return await one(batch[0], error, 1);
    }
    for (const message of batch) {
      let first: unknown;
      try {
        await handler([message]);
        continue;
      } catch (error) {
        if (isTransient(error)) throw error;
        first = error;
      }
      await one(message, first, 1);
    }
  };

  /** Retries one message that failed `attempt` times with `error`, then dead-letters it. */
  async function one(message: BusMessage<T>, error: unknown, attempt: number): Promise<void> {
    while (!isPermanent(error) && attempt < options.attempts) {
      await new Promise((resolve) => setTimeout(resolve, delayMs(attempt + 1)));
      attempt++;
      try {
        return await handler([message]);
      } catch (next) {
        if (isTransient(next)) throw next;
        error = next;
      }
    }
    await sendToDeadLetters(message, error, attempt, options);
  }
}

/** Publishes `message` to its topic's dead letters, counts and logs it. */
export async function sendToDeadLetters(
  message: Pick<BusMessage, "topic" | "offset" | "key" | "value" | "publishedAt"> & {
    partition?: number;
  },
  error: unknown,
  attempts: number,
  options: Pick<DeadLetterOptions, "publish" | "counter" | "logger" | "group">,
): Promise<void> {
  const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  await options.publish({
    topic: message.topic,
    partition: message.partition,
    offset: message.offset,
    key: message.key,
    value: message.value,
    publishedAt: message.publishedAt,
    error: reason,
    attempts,
    deadAt: Date.now(),
  }, message.key);
  options.counter.add(message.topic);
  options.logger?.error("bus message cannot be processed; moved to the dead-letter topic", {
    topic: message.topic,
    deadLetterTopic: deadLetterTopic(message.topic),
    group: options.group,
    partition: message.partition,
    offset: message.offset,
    key: message.key,
    attempts,
    error: reason,
  });
}

/** Messages moved to a dead-letter topic, by source topic (a Prometheus counter). */
export class DeadLetterCounter {
  readonly counter = new Counter({
    name: "motorcade_bus_dead_letters_total",
    help: "Bus messages that could not be processed and went to the dead-letter topic, by topic",
    labelNames: ["topic"],
    registers: [],
  });
  readonly #counts = new Map<string, number>();

  add(topic: string): void {
    this.counter.inc({ topic });
    this.#counts.set(topic, (this.#counts.get(topic) ?? 0) + 1);
  }

  /** Dead letters so far from `topic`. */
  count(topic: string): number {
    return this.#counts.get(topic) ?? 0;
  }

  registerMetrics(registry: Registry): void {
    registry.registerMetric(this.counter);
  }
}
