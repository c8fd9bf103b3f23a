import type { Recall } from "../catalog/mod.ts";

const iso = (ms: number) => new Date(ms).toISOString();

/** A recall as the API and the webhook show it: times in RFC 3339. */
export function recallView(r: Recall) {
  return {
    id: r.id,
    fleetId: r.fleetId,
    vehicleId: r.vehicleId,
    cameraId: r.cameraId,
    from: iso(r.fromMs),
    to: iso(r.toMs),
    origin: r.origin,
    createdBy: r.createdBy,
    state: r.state,
    progress: r.progress && {
      ...r.progress,
      missing: r.progress.missing.map((g) => ({
        from: iso(g.fromMs),
        to: iso(g.toMs),
        reason: g.reason,
      })),
    },
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
    finishedAt: r.finishedAt?.toISOString() ?? null,
  };
}
