/**
 * Data usage: the bytes each vehicle's uploads stored on the server, per camera, UTC day and kind
 * (continuous, proxy, recall, event), as the indexer counted them into the catalog, and live: what
 * Janus received from the vehicle's live publications, as the live service read it.
 *
 * @example const report = await usageReport(catalog, fleetId, vehicleId, { from: "2026-12-01" });
 */
export {
  DEFAULT_USAGE_DAYS,
  MAX_USAGE_DAYS,
  type UsageReport,
  usageReport,
  type UsageTotals,
} from "./usage_report.ts";
export { type LiveBytesEntry, liveUsageSink } from "./live_usage.ts";
