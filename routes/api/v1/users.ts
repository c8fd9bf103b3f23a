import { createRoute, z } from "@hono/zod-openapi";
import { access, PASSWORD_RESET_CODE, userOf } from "../../../lib/auth/mod.ts";
import { ForbiddenError } from "../../../lib/errors/mod.ts";
import { EmailSchema, FleetRoleSchema, IdSchema, PasswordSchema } from "../../../lib/fleet/mod.ts";
import { type ApiApp, secured } from "../../../lib/http/mod.ts";
import type { RouteDeps } from "../../deps.ts";
import { jsonBody, jsonResponse, UserView, userView } from "./views.ts";

const FleetParams = z.object({ fleetId: IdSchema });
const UserParams = z.object({ fleetId: IdSchema, userId: IdSchema });

/** People of a fleet, managed by its admins. */
export function registerUserRoutes(app: ApiApp, { registry, secure, identity }: RouteDeps) {
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

  app.openapi(
    secured(
      secure,
      access.fleet(["admin"]),
      createRoute({
        method: "post",
        operationId: "issuePasswordReset",
        path: "/api/v1/fleets/{fleetId}/users/{userId}/password-reset",
        tags: ["users"],
        summary: "Issue a one-time password reset code for a user",
        description:
          "The code is shown once (only its hash is kept) and is valid for PASSWORD_RESET_TTL (24 h by default); issuing another revokes the user's unused one. Hand it to the user, who sets a new password with `POST /api/v1/auth/password-reset`. The user's sessions go on until then.",
        request: { params: UserParams },
        responses: {
          201: jsonResponse(
            z.object({
              userId: z.string(),
              code: z.string().regex(PASSWORD_RESET_CODE),
              expiresAt: z.string().datetime(),
            }).openapi("PasswordReset"),
            "The code, shown once",
          ),
        },
      }),
    ),
    async (c) => {
      const { fleetId, userId } = c.req.valid("param");
      await registry.user(fleetId, userId);
      const { code, expiresAt } = await identity.passwordResets.issue(userId);
      return c.json({ userId, code, expiresAt: expiresAt.toISOString() }, 201);
    },
  );

  app.openapi(
    secured(
      secure,
      access.public(),
      createRoute({
        method: "post",
        operationId: "resetPassword",
        path: "/api/v1/auth/password-reset",
        tags: ["auth"],
        summary: "Set a new password with a one-time reset code (ends all the user's sessions)",
        description:
          "The password policy applies, and a refused password leaves the code usable. A code works once, until it expires or another is issued; every session of the user ends, so they sign in again with the new password.",
        request: {
          ...jsonBody(z.object({ code: z.string().max(64), password: PasswordSchema }).strict()),
        },
        responses: {
          204: { description: "The password is set and every session of the user ended" },
        },
      }),
    ),
    async (c) => {
      const { code, password } = c.req.valid("json");
      const userId = await identity.passwordResets.redeem(code);
      await registry.updateUser(null, userId, { password });
      return c.body(null, 204);
    },
  );
}
