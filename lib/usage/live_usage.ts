import type { Counter } from "prom-client";
import type { Catalog } from "../catalog/mod.ts";
import { usageDay } from "../catalog/usage_day.ts";
import { NotFoundError } from "../errors/mod.ts";

/** Live bytes as the live service measures them (see lib/live's LiveUsageMeter). */
export interface LiveBytesEntry {
  fleetId: string;
  vehicleId: string;
  camera: string;
  bytes: number;
  atMs: number;
}

/**
 * Where the live service's measured bytes go: the vehicle's usage of its camera (found by name),
 * kind "live", on the UTC day they were measured, and `counter` (motorcade_upload_bytes_total).
 */
export function liveUsageSink(
  catalog: Catalog,
  counter: Counter<"kind">,
): (entry: LiveBytesEntry) => Promise<void> {
  return async ({ fleetId, vehicleId, camera, bytes, atMs }) => {
    const cameras = await catalog.cameras.list(fleetId, vehicleId);
    const cameraId = cameras.find((c) => c.name === camera)?.id;
    if (!cameraId) {
      throw new NotFoundError(`Cannot count ${bytes} live bytes: camera "${camera}" not found`);
    }
    const day = usageDay(atMs);
    await catalog.usage.add(fleetId, { vehicleId, cameraId, day, kind: "live", bytes });
    counter.inc({ kind: "live" }, bytes);
  };
}
