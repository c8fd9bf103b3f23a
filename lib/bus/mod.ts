/** The event bus between ingest and the indexer: an embedded durable log, Kafka at scale. */
import type { WriteFailureSink } from "../disk/mod.ts";
import type { Logger } from "../log/mod.ts";
import { LogBus } from "./log_bus.ts";
import type { EventBus } from "./types.ts";

export * from "./types.ts";
export { LogBus } from "./log_bus.ts";

/** Topic of segment, init and recording events from ingest. */
export const SEGMENTS_TOPIC = "segments";

/**
 * Opens the bus named by `url`: `log:<dir>` (embedded, durable). Writes storage refuses are told
 * to `disk`.
 *
 * @example const bus = openBus("log:./data/bus");
 */
export function openBus(url: string, logger?: Logger, disk?: WriteFailureSink): EventBus {
  if (url.startsWith("log:")) return new LogBus(url.slice("log:".length), logger, disk);
  throw new TypeError(`Cannot open bus "${url}": unsupported scheme`);
}
