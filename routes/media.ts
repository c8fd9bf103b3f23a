import { createRoute, z } from "@hono/zod-openapi";
import { access } from "../lib/auth/mod.ts";
import { serveObject } from "../lib/delivery/mod.ts";
import { IdSchema } from "../lib/fleet/mod.ts";
import { type ApiApp, secured } from "../lib/http/mod.ts";
import type { RouteDeps } from "./deps.ts";

const MediaParams = z.object({
  fleetId: IdSchema,
  vehicleId: IdSchema,
  cameraId: IdSchema,
  recordingId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  file: z.string().regex(/^(init\.mp4|\d{10}\.(m4s|ts))$/, "must be init.mp4 or a segment"),
});

/** The path prefix a camera's media signature covers. */
export const mediaPrefix = (fleetId: string, vehicleId: string, cameraId: string) =>
  `/media/fleets/${fleetId}/vehicles/${vehicleId}/cameras/${cameraId}/`;

/** Segment bytes behind signed URLs: what players, and a CDN in front, fetch. */
export function registerMediaRoutes(app: ApiApp, { store, secure }: RouteDeps) {
  app.openapi(
    secured(
      secure,
      access.signedPrefix((c) =>
        mediaPrefix(c.req.param("fleetId")!, c.req.param("vehicleId")!, c.req.param("cameraId")!)
      ),
      createRoute({
        method: "get",
        path:
          "/media/fleets/{fleetId}/vehicles/{vehicleId}/cameras/{cameraId}/{recordingId}/{file}",
        tags: ["playback"],
        summary: "A stored init or media segment (signed URL; Range, ETag, immutable)",
        request: { params: MediaParams, query: z.object({ exp: z.string(), sig: z.string() }) },
        responses: {
          200: {
            description: "The bytes",
            content: { "video/iso.segment": { schema: z.string() } },
          },
          206: { description: "A byte range" },
          304: { description: "Not modified" },
          416: { description: "Range not satisfiable" },
        },
      }),
    ),
    async (c) => {
      const p = c.req.valid("param");
      const key =
        `fleets/${p.fleetId}/vehicles/${p.vehicleId}/cameras/${p.cameraId}/${p.recordingId}/${p.file}`;
      const response = await serveObject(store, key, {
        range: c.req.header("range"),
        ifNoneMatch: c.req.header("if-none-match"),
      });
      // Through the context, so middleware headers (CORS) are kept.
      return c.newResponse(response.body, response) as never;
    },
  );
}
