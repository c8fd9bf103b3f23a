import { createRoute, z } from "@hono/zod-openapi";
import { access, userOf } from "../../../lib/auth/mod.ts";
import { ForbiddenError } from "../../../lib/errors/mod.ts";
import { EmailSchema, FleetRoleSchema, IdSchema, PasswordSchema } from "../../../lib/fleet/mod.ts";
import { type ApiApp, secured } from "../../../lib/http/mod.ts";
import type { RouteDeps } from "../../deps.ts";
import { jsonBody, jsonResponse, UserView, userView } from "./views.ts";

const FleetParams = z.object({ fleetId: IdSchema });
const UserParams = z.object({ fleetId: IdSchema, userId: IdSchema });

/** People of a fleet, managed by its admins. */
export function registerUserRoutes(app: ApiApp, { registry, secure }: RouteDeps) {
  app.openapi(
    secured(
      secure,
      access.fleet(["admin"]),
      createRoute({
        method: "get",
        path: "/api/v1/fleets/{fleetId}/users",
        tags: ["users"],
        summary: "Users of a fleet",
        request: { params: FleetParams },
        responses: { 200: jsonResponse(z.object({ users: z.array(UserView) }), "Users") },
      }),
    ),
    async (c) => {
      const users = await registry.listUsers(c.req.valid("param").fleetId);
      return c.json({ users: users.map(userView) }, 200);
    },
  );

  app.openapi(
    secured(
      secure,
      access.fleet(["admin"]),
      createRoute({
        method: "post",
        path: "/api/v1/fleets/{fleetId}/users",
        tags: ["users"],
        summary: "Add a user to a fleet",
        description:
          "Emails are the platform-wide sign-in name. An email taken in this fleet is a 409; one taken in another fleet is a 409 only for platform owners: to a fleet admin the answer looks like a success and nothing is created, so no fleet learns another's emails.",
        request: {
          params: FleetParams,
          ...jsonBody(
            z.object({ email: EmailSchema, role: FleetRoleSchema, password: PasswordSchema })
              .strict(),
          ),
        },
        responses: {
          201: jsonResponse(UserView, "Created"),
          409: {
            description: "The email is taken in this fleet (for owners: by any user)",
          },
        },
      }),
    ),
    async (c) => {
      const { fleetId } = c.req.valid("param");
      const user = await registry.createUser({ fleetId, ...c.req.valid("json") }, {
        seesAllFleets: userOf(c).role === "owner",
      });
      return c.json(userView(user), 201);
    },
  );

  app.openapi(
    secured(
      secure,
      access.fleet(["admin"]),
      createRoute({
        method: "get",
        path: "/api/v1/fleets/{fleetId}/users/{userId}",
        tags: ["users"],
        summary: "A user of a fleet",
        request: { params: UserParams },
        responses: { 200: jsonResponse(UserView, "The user") },
      }),
    ),
    async (c) => {
      const { fleetId, userId } = c.req.valid("param");
      return c.json(userView(await registry.user(fleetId, userId)), 200);
    },
  );

  app.openapi(
    secured(
      secure,
      access.fleet(["admin"]),
      createRoute({
        method: "patch",
        path: "/api/v1/fleets/{fleetId}/users/{userId}",
        tags: ["users"],
        summary: "Change a user's role, password or disabled flag (signs them out)",
        request: {
          params: UserParams,
          ...jsonBody(
            z.object({
              role: FleetRoleSchema.optional(),
              password: PasswordSchema.optional(),
              disabled: z.boolean().optional(),
            }).strict(),
          ),
        },
        responses: {
          200: jsonResponse(UserView, "Updated"),
          400: { description: "Nothing to change (an empty body), or an invalid value" },
        },
      }),
    ),
    async (c) => {
      const { fleetId, userId } = c.req.valid("param");
      const user = await registry.updateUser(fleetId, userId, c.req.valid("json"));
      return c.json(userView(user), 200);
    },
  );

  app.openapi(
    secured(
      secure,
      access.fleet(["admin"]),
      createRoute({
        method: "delete",
        path: "/api/v1/fleets/{fleetId}/users/{userId}",
        tags: ["users"],
        summary: "Remove a user",
        request: { params: UserParams },
        responses: { 204: { description: "Removed" } },
      }),
    ),
    async (c) => {
      const { fleetId, userId } = c.req.valid("param");
      if (userId === userOf(c).userId) throw new ForbiddenError("You cannot remove yourself");
      await registry.deleteUser(fleetId, userId);
      return c.body(null, 204);
    },
  );
}
