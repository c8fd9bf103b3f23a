/**
 * Ingest worker threads sharing the server's port (`INGEST_WORKERS`): the server thread's side
 * (start, relay events to its bus, forward other requests to its app, restart what fails) and
 * the relays a worker thread uses instead of a bus and a broadcast of its own.
 *
 * @example
 * const workers = await IngestWorkers.start({
 *   count: config.ingestWorkers - 1, entry: new URL("./ingest_worker.ts", import.meta.url),
 *   env: Deno.env.toObject(), hostname, port: server.addr.port, limits,
 *   bus: platform.bus, broadcast: platform.broadcast, handler: platform.app.fetch, logger,
 * });
 */
export { IngestWorkers, type IngestWorkersOptions, shareLimits } from "./ingest_workers.ts";
export { ThreadBroadcast, ThreadBus } from "./thread_relays.ts";
export { forwardTo } from "./forward.ts";
export type { FromWorker, ListenerLimits, PublishFailure, ToWorker } from "./messages.ts";
