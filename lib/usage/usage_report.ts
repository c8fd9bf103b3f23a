import { type Catalog, USAGE_KINDS, type UsageDay, type UsageKind } from "../catalog/mod.ts";
import { usageDay } from "../catalog/usage_day.ts";
import { ValidationError } from "../errors/mod.ts";

const DAY_MS = 86_400_000;
/** Days one usage report spans at most. */
export const MAX_USAGE_DAYS = 366;
/** Days a usage report spans when no `from` is given (ending on `to`). */
export const DEFAULT_USAGE_DAYS = 30;

/** Bytes per usage kind, and their sum. */
export type UsageTotals = Record<UsageKind | "all", number>;

/** A vehicle's data usage over whole UTC days: per camera, day and kind, and totals. */
export interface UsageReport {
  vehicleId: string;
  /** First and last UTC day covered (`YYYY-MM-DD`, inclusive). */
  from: string;
  to: string;
  /** One entry per camera, day and kind with bytes, by day. */
  days: UsageDay[];
  /** Per camera id, bytes by kind. */
  cameras: Array<{ cameraId: string; bytes: UsageTotals }>;
  /** Bytes by kind over the whole span. */
  bytes: UsageTotals;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** The UTC day a `from`/`to` parameter names: a `YYYY-MM-DD` day, or the day of an RFC 3339 time. */
function dayOf(value: string, field: string): string {
  const ms = Date.parse(DAY.test(value) ? `${value}T00:00:00Z` : value);
  if (!Number.isFinite(ms) || (DAY.test(value) && usageDay(ms) !== value)) {
    throw new ValidationError(
      `Cannot read "${field}" "${
        value.slice(0, 40)
      }": must be a day (YYYY-MM-DD) or an RFC 3339 time`,
      [{ path: `query.${field}`, message: "invalid" }],
    );
  }
  return usageDay(ms);
}

const zero = (): UsageTotals =>
  Object.fromEntries([...USAGE_KINDS, "all"].map((k) => [k, 0])) as UsageTotals;

/**
 * The data usage of a vehicle (whose fleet the caller checked) over the UTC days `from`..`to`
 * (inclusive; default: the 30 days ending today): the bytes the server stored, as ingest counted
 * them, by camera, day and kind.
 */
export async function usageReport(
  catalog: Catalog,
  fleetId: string,
  vehicleId: string,
  query: { from?: string; to?: string },
  now = Date.now(),
): Promise<UsageReport> {
  const to = query.to === undefined ? usageDay(now) : dayOf(query.to, "to");
  const from = query.from === undefined
    ? usageDay(Date.parse(`${to}T00:00:00Z`) - (DEFAULT_USAGE_DAYS - 1) * DAY_MS)
    : dayOf(query.from, "from");
  if (to < from) {
    throw new ValidationError(`Cannot report usage from ${from} to ${to}: "to" is before "from"`);
  }
  const span = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS + 1;
  if (span > MAX_USAGE_DAYS) {
    throw new ValidationError(
      `Cannot report usage over ${span} days: one report spans at most ${MAX_USAGE_DAYS}`,
    );
  }
  const days = await catalog.usage.list(fleetId, vehicleId, from, to);
  const bytes = zero();
  const cameras = new Map<string, UsageTotals>();
  for (const entry of days) {
    const camera = cameras.get(entry.cameraId) ?? zero();
    cameras.set(entry.cameraId, camera);
    for (const totals of [bytes, camera]) {
      totals[entry.kind] += entry.bytes;
      totals.all += entry.bytes;
    }
  }
  return {
    vehicleId,
    from,
    to,
    days,
    cameras: [...cameras].map(([cameraId, bytes]) => ({ cameraId, bytes })),
    bytes,
  };
}
