import { createRoute, z } from "@hono/zod-openapi";
import { access, userOf } from "../../../lib/auth/mod.ts";
import { FleetNameSchema, IdSchema } from "../../../lib/fleet/mod.ts";
import { type ApiApp, secured } from "../../../lib/http/mod.ts";
import type { RouteDeps } from "../../deps.ts";
import { FleetView, fleetView, jsonBody, jsonResponse } from "./views.ts";

const FleetParams = z.object({ fleetId: IdSchema });
const FleetBody = z.object({ name: FleetNameSchema }).strict();

/** Fleets: owners create, name and delete them; a fleet's users see their own. */
export function registerFleetRoutes(app: ApiApp, { registry, secure }: RouteDeps) {
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
      access.owner("fleetId"),
      createRoute({
        method: "patch",
        path: "/api/v1/fleets/{fleetId}",
        tags: ["fleets"],
        summary: "Rename a fleet",
        description:
          "Fleet names are unique labels the platform owner gives tenants, so only owners set them: a fleet admin renaming would learn which names other fleets hold.",
        request: { params: FleetParams, ...jsonBody(FleetBody) },
        responses: {
          200: jsonResponse(FleetView, "Renamed"),
          409: { description: "A fleet of that name exists" },
        },
      }),
    ),
    async (c) => {
      const { fleetId } = c.req.valid("param");
      return c.json(fleetView(await registry.renameFleet(fleetId, c.req.valid("json").name)), 200);
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
