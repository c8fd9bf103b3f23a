/** The event bus between ingest and the indexer: an embedded durable log, Kafka at scale. */
import type { WriteFailureSink } from "../disk/mod.ts";
import type { Logger } from "../log/mod.ts";
import { type BusTarget, parseBusUrl } from "../config/bus_url.ts";
import { KafkaBus } from "./kafka_bus.ts";
import { LogBus } from "./log_bus.ts";
import type { EventBus } from "./types.ts";

export * from "./types.ts";
export { LogBus } from "./log_bus.ts";
export { KafkaBus, type KafkaBusOptions } from "./kafka_bus.ts";
export {
  type DeadLetter,
  DeadLetterCounter,
  deadLetterTopic,
  isTransient,
  PoisonMessageError,
} from "./dead_letter.ts";

/** Topic of segment, init and recording events from ingest. */
export const SEGMENTS_TOPIC = "segments";

/**
 * Opens the bus named by `url`: `log:<dir>` (embedded, durable) or `kafka://host:port,…?…`
 * (SASL credentials from `env`'s `KAFKA_SASL_*`). Writes storage refuses are told to `disk`.
 *
 * @example const bus = openBus("log:./data/bus");
 */
export function openBus(
  url: string | BusTarget,
  logger?: Logger,
  disk?: WriteFailureSink,
  env: Record<string, string | undefined> = {},
): EventBus {
  let target = typeof url === "string" ? undefined : url;
  try {
    target ??= parseBusUrl(url as string, env);
  } catch (error) {
    const name = (url as string).split("?")[0];
    throw new TypeError(`Cannot open bus "${name}": ${(error as Error).message}`);
  }
  if (target.kind === "log") return new LogBus(target.dir, logger, disk);
  return new KafkaBus(target, logger?.child({ part: "bus" }));
}
