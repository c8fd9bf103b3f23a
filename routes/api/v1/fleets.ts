import { createRoute, z } from "@hono/zod-openapi";
import { access, userOf } from "../../../lib/auth/mod.ts";
import {
  FleetNameSchema,
  IdSchema,
  LiveLadderSchema,
  RetentionDaysSchema,
  type RetentionPreview,
  SegmentSecondsSchema,
  TimeZoneSchema,
} from "../../../lib/fleet/mod.ts";
import { type ApiApp, secured } from "../../../lib/http/mod.ts";
import type { RouteDeps } from "../../deps.ts";
import { FleetView, fleetView, jsonBody, jsonResponse } from "./views.ts";

const FleetParams = z.object({ fleetId: IdSchema });
const FleetBody = z.object({ name: FleetNameSchema }).strict();
const FleetChanges = z.object({
  name: FleetNameSchema.optional().openapi({ description: "Platform owners only" }),
  retentionDays: RetentionDaysSchema.optional().openapi({
    description: "Days recordings are kept (1 to 3650); null keeps them forever",
  }),
  timeZone: TimeZoneSchema.optional().openapi({
    description: "IANA time zone the fleet's times are shown in; null: UTC",
    example: "Europe/Berlin",
  }),
  segmentSeconds: SegmentSecondsSchema.optional().openapi({
    description:
      "Default segment length (0.5 to 30 s); stored, delivered to vehicles by issue 12's policy delivery (the agent has no such channel yet); null: the agent's own",
  }),
  liveLadder: LiveLadderSchema.optional().openapi({
    description:
      "Live quality ladder, LIVE_LADDER syntax: auto (three rungs derived from each camera's height) or three rungs height:bitrate, lowest first; applies to the fleet's live streams started after it is set; null: the server's LIVE_LADDER",
    example: "auto",
  }),
}).strict();
const RetentionQuery = z.object({
  retentionDays: z.string().regex(/^[0-9]+$/, "must be a whole number of days").optional()
    .openapi({
      description: "Count for this many days instead of the fleet's own retention (1 to 3650)",
      example: "30",
    }),
});
const RetentionView = z.object({
  retentionDays: z.number().int().nullable().openapi({
    description: "The retention counted for (the fleet's own unless the query names one)",
  }),
  cutoff: z.string().datetime().nullable().openapi({
    description: "Segments that ended by this instant are expired; null when kept forever",
  }),
  expired: z.object({
    segments: z.number().int(),
    bytes: z.number().int(),
    recordings: z.number().int().openapi({
      description: "Recordings that go whole: ended, and closed by their vehicle, by the cutoff",
    }),
  }),
}).openapi("RetentionPreview");

const retentionView = (preview: RetentionPreview) => ({
  retentionDays: preview.retentionDays,
  cutoff: preview.cutoff && preview.cutoff.toISOString(),
  expired: preview.expired,
});

/** Fleets: owners create, name and delete them; a fleet's users see their own. */
export function registerFleetRoutes(
  app: ApiApp,
  { registry, secure, instructions }: RouteDeps,
) {
  app.openapi(
    secured(
      secure,
      access.user(),
      createRoute({
        method: "get",
        path: "/api/v1/fleets",
        tags: ["fleets"],
        summary: "Fleets the caller can see (owners: all)",
        responses: { 200: jsonResponse(z.object({ fleets: z.array(FleetView) }), "Fleets") },
      }),
    ),
    async (c) => {
      const user = userOf(c);
      const fleets = user.role === "owner"
        ? await registry.listFleets()
        : [await registry.fleet(user.fleetId!)];
      return c.json({ fleets: fleets.map(fleetView) }, 200);
    },
  );

  app.openapi(
    secured(
      secure,
      access.owner(),
      createRoute({
        method: "post",
        path: "/api/v1/fleets",
        tags: ["fleets"],
        summary: "Create a fleet",
        request: jsonBody(FleetBody),
        responses: {
          201: jsonResponse(FleetView, "Created"),
          409: { description: "A fleet of that name exists" },
        },
      }),
    ),
    async (c) => c.json(fleetView(await registry.createFleet(c.req.valid("json").name)), 201),
  );

  app.openapi(
    secured(
      secure,
      access.fleet(["admin", "operator", "viewer"]),
      createRoute({
        method: "get",
        path: "/api/v1/fleets/{fleetId}",
        tags: ["fleets"],
        summary: "A fleet",
        request: { params: FleetParams },
        responses: { 200: jsonResponse(FleetView, "The fleet") },
      }),
    ),
    async (c) => c.json(fleetView(await registry.fleet(c.req.valid("param").fleetId)), 200),
  );

  app.openapi(
    secured(
      secure,
      access.fleet(["admin"]),
      createRoute({
        method: "patch",
        path: "/api/v1/fleets/{fleetId}",
        tags: ["fleets"],
        summary:
          "Rename a fleet or change its settings: retention, time zone, segment length, live ladder",
        description:
          "The fleet's admins (and owners) set `retentionDays`: recordings that ended longer ago are deleted in the background, from the object store and the catalog; null keeps them forever. Fleet names are unique labels the platform owner gives tenants, so only owners set them (403 otherwise): a fleet admin renaming would learn which names other fleets hold.",
        request: { params: FleetParams, ...jsonBody(FleetChanges) },
        responses: {
          200: jsonResponse(FleetView, "Changed"),
          409: { description: "A fleet of that name exists" },
        },
      }),
    ),
    async (c) => {
      const { fleetId } = c.req.valid("param");
      const fleet = await registry.updateFleet(fleetId, c.req.valid("json"), {
        seesAllFleets: userOf(c).role === "owner",
      });
      // The segment length is part of every vehicle's instructions.
      instructions.changed(fleetId);
      return c.json(fleetView(fleet), 200);
    },
  );

  app.openapi(
    secured(
      secure,
      access.fleet(["admin"]),
      createRoute({
        method: "get",
        path: "/api/v1/fleets/{fleetId}/retention",
        tags: ["fleets"],
        summary: "Retention dry-run: what the sweep would delete now",
        description:
          "Counts the fleet's media segments that ended before now − retention, their bytes, and the recordings that would go whole, without deleting anything. With `retentionDays`, counts for that retention instead of the fleet's own (to see what a change would delete).",
        request: { params: FleetParams, query: RetentionQuery },
        responses: { 200: jsonResponse(RetentionView, "The dry-run count") },
      }),
    ),
    async (c) => {
      const { fleetId } = c.req.valid("param");
      const { retentionDays } = c.req.valid("query");
      const days = retentionDays === undefined ? undefined : Number(retentionDays);
      return c.json(retentionView(await registry.retention(fleetId, days)), 200);
    },
  );

  app.openapi(
    secured(
      secure,
      access.owner("fleetId"),
      createRoute({
        method: "delete",
        path: "/api/v1/fleets/{fleetId}",
        tags: ["fleets"],
        summary: "Delete an empty fleet",
        request: { params: FleetParams },
        responses: {
          204: { description: "Deleted" },
          409: { description: "The fleet still has users or vehicles" },
        },
      }),
    ),
    async (c) => {
      await registry.deleteFleet(c.req.valid("param").fleetId);
      return c.body(null, 204);
    },
  );
}
