/**
 * The health of the storage the server writes to: which failed writes are the storage's (full,
 * over quota, failing, read-only), and the watch that refuses uploads and reports not ready while
 * they happen, until storage accepts writes again.
 *
 * @example
 * const disk = new DiskHealth({ paths: [config.dataDir], minFreeBytes: config.minFreeBytes });
 * disk.start();
 * try { await write(); } catch (error) { disk.report("bus", error); throw error; }
 */
export { DiskHealth, type DiskHealthOptions } from "./disk_health.ts";
export { writeFailureOf, type WriteFailureSink } from "./write_failure.ts";
