/**
 * Retention: a fleet's recordings are kept `retentionDays` days, then a background sweep deletes
 * them from the object store and the catalog.
 *
 * @example
 * const sweep = new RetentionSweep(catalog, store, { intervalMs: 600_000, logger });
 * sweep.registerMetrics(metrics.registry);
 * sweep.start();
 */
export {
  DAY_MS,
  MAX_RETENTION_BATCH,
  retentionCutoff,
  RetentionSweep,
  type RetentionSweepOptions,
  type SweepResult,
} from "./retention_sweep.ts";
