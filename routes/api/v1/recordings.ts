import { createRoute, z } from "@hono/zod-openapi";
import { access } from "../../../lib/auth/mod.ts";
import { IdSchema } from "../../../lib/fleet/mod.ts";
import { type ApiApp, secured } from "../../../lib/http/mod.ts";
import type { RouteDeps } from "../../deps.ts";
import { jsonResponse } from "./views.ts";

const CameraParams = z.object({ fleetId: IdSchema, vehicleId: IdSchema, cameraId: IdSchema });
const ALL = ["admin", "operator", "viewer"] as const;

/** A time query parameter: RFC 3339. */
export const TimeParam = z.string().datetime({ offset: true, error: "must be an RFC 3339 time" });

const RecordingView = z.object({
  id: z.string(),
  cameraId: z.string(),
  startedAt: z.string().datetime(),
  endedAt: z.string().datetime(),
  segmentCount: z.number().int(),
  rendition: z.enum(["full", "proxy"]).openapi({
    description: "Full quality, or the low-bitrate proxy the same capture made beside it",
  }),
  closedAt: z.string().datetime().nullable(),
}).openapi("Recording");

/** Recordings of a camera and their time ranges. */
export function registerRecordingRoutes(app: ApiApp, { registry, catalog, secure }: RouteDeps) {
  app.openapi(
    secured(
      secure,
      access.fleet(ALL),
      createRoute({
        method: "get",
        path: "/api/v1/fleets/{fleetId}/vehicles/{vehicleId}/cameras/{cameraId}/recordings",
        tags: ["playback"],
        summary: "Recordings of a camera overlapping a time range, oldest first",
        request: {
          params: CameraParams,
          query: z.object({
            from: TimeParam.optional(),
            to: TimeParam.optional(),
            rendition: z.enum(["full", "proxy"]).optional().openapi({
              description: "Only recordings of this rendition; absent: both",
            }),
          }),
        },
        responses: {
          200: jsonResponse(z.object({ recordings: z.array(RecordingView) }), "Recordings"),
        },
      }),
    ),
    async (c) => {
      const { fleetId, vehicleId, cameraId } = c.req.valid("param");
      const { from, to, rendition } = c.req.valid("query");
      await registry.camera(fleetId, vehicleId, cameraId);
      const recordings = await catalog.recordings.list(
        fleetId,
        cameraId,
        from ? Date.parse(from) : undefined,
        to ? Date.parse(to) : undefined,
        rendition,
      );
      return c.json({
        recordings: recordings.map((r) => ({
          id: r.id,
          cameraId: r.cameraId,
          startedAt: r.startedAt.toISOString(),
          endedAt: r.endedAt.toISOString(),
          segmentCount: r.segmentCount,
          rendition: r.rendition,
          closedAt: r.closedAt?.toISOString() ?? null,
        })),
      }, 200);
    },
  );
}
