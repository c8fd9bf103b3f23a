import type { Catalog } from "../catalog/mod.ts";
import { ValidationError } from "../errors/mod.ts";
import type { FleetRegistry } from "../fleet/mod.ts";

/** Where a moment of a camera's recording is: uploaded, only on the vehicle, or nowhere. */
export type Whereabouts = "server" | "vehicle" | "none";

/** A stretch of time with one whereabouts. */
export interface AvailabilitySpan {
  fromMs: number;
  toMs: number;
  where: Whereabouts;
}

/** Ranges closer than this are one: a segment boundary is not a hole. */
export const RANGE_JOIN_MS = 1000;

/** Longest range one availability read covers. */
export const AVAILABILITY_MAX_MS = 7 * 86_400_000;

/** `ranges` clipped to [fromMs, toMs), sorted, and merged where less than `joinMs` apart. */
export function mergeRanges(
  ranges: Iterable<readonly [number, number]>,
  fromMs: number,
  toMs: number,
  joinMs = RANGE_JOIN_MS,
): Array<[number, number]> {
  const clipped = [...ranges]
    .map(([a, b]) => [Math.max(a, fromMs), Math.min(b, toMs)] as [number, number])
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  const merged: Array<[number, number]> = [];
  for (const [a, b] of clipped) {
    const last = merged.at(-1);
    if (last && a - last[1] < joinMs) last[1] = Math.max(last[1], b);
    else merged.push([a, b]);
  }
  return merged;
}

/**
 * Splits [fromMs, toMs) into spans by where the recording is: on the server wherever it was
 * uploaded, else on the vehicle wherever it holds it, else nowhere.
 */
export function availabilitySpans(
  fromMs: number,
  toMs: number,
  server: Iterable<readonly [number, number]>,
  vehicle: Iterable<readonly [number, number]>,
): AvailabilitySpan[] {
  const onServer = mergeRanges(server, fromMs, toMs);
  const onVehicle = mergeRanges(vehicle, fromMs, toMs);
  const cuts = [
    ...new Set([fromMs, toMs, ...onServer.flat(), ...onVehicle.flat()]),
  ].sort((a, b) => a - b);
  const within = (ranges: Array<[number, number]>, at: number) =>
    ranges.some(([a, b]) => a <= at && at < b);
  const spans: AvailabilitySpan[] = [];
  for (let i = 0; i + 1 < cuts.length; i++) {
    const [a, b] = [cuts[i], cuts[i + 1]];
    const where: Whereabouts = within(onServer, a)
      ? "server"
      : within(onVehicle, a)
      ? "vehicle"
      : "none";
    const last = spans.at(-1);
    if (last?.where === where) last.toMs = b;
    else spans.push({ fromMs: a, toMs: b, where });
  }
  return spans;
}

/** One rendition's spans over a range. */
export interface RenditionAvailability {
  rendition: "full" | "proxy";
  spans: AvailabilitySpan[];
}

/**
 * Where a camera's recording is over a time range, per rendition: what the catalog indexed
 * (server) and what the vehicle last reported holding (its inventory).
 */
export class Availability {
  constructor(private readonly catalog: Catalog, private readonly registry: FleetRegistry) {}

  /** The spans of [fromMs, toMs) for each rendition. */
  async camera(
    fleetId: string,
    vehicleId: string,
    cameraId: string,
    fromMs: number,
    toMs: number,
  ): Promise<{ renditions: RenditionAvailability[]; inventoryReportedAt: Date | null }> {
    const camera = await this.registry.camera(fleetId, vehicleId, cameraId);
    if (!(toMs > fromMs) || toMs - fromMs > AVAILABILITY_MAX_MS) {
      throw new ValidationError(
        `Cannot read availability of "${new Date(fromMs).toISOString()}/${
          new Date(toMs).toISOString()
        }": "to" must be after "from", by at most ${AVAILABILITY_MAX_MS / 86_400_000} days`,
        [{ path: "to", message: "must be after from, by at most 7 days" }],
      );
    }
    const [full, proxy, inventory] = await Promise.all([
      this.catalog.recordings.playlistSegmentsBetween(cameraId, fromMs, toMs, "full"),
      this.catalog.recordings.playlistSegmentsBetween(cameraId, fromMs, toMs, "proxy"),
      this.catalog.inventory.list(vehicleId),
    ]);
    // Each rendition's own segments: a proxy on the server is not full quality there.
    const spansOf = (segments: typeof full) =>
      segments.map((s) => [s.startMs, s.startMs + s.durationMs] as [number, number]);
    const server = { full: spansOf(full), proxy: spansOf(proxy) };
    const held = (rendition: "full" | "proxy") =>
      inventory.find((entry) => entry.camera === camera.name && entry.rendition === rendition)
        ?.ranges ?? [];
    const reported = inventory.filter((entry) => entry.camera === camera.name);
    return {
      renditions: (["full", "proxy"] as const).map((rendition) => ({
        rendition,
        spans: availabilitySpans(fromMs, toMs, server[rendition], held(rendition)),
      })),
      inventoryReportedAt: reported.length
        ? new Date(Math.max(...reported.map((entry) => entry.reportedAt.getTime())))
        : null,
    };
  }
}
