import { createRoute, z } from "@hono/zod-openapi";
import { access, userOf } from "../../../lib/auth/mod.ts";
import { EmailSchema } from "../../../lib/fleet/mod.ts";
import { type ApiApp, clientAddress, secured } from "../../../lib/http/mod.ts";
import type { RouteDeps } from "../../deps.ts";
import { jsonBody, jsonResponse, UserView, userView } from "./views.ts";

const TokenPairView = z.object({
  tokenType: z.literal("Bearer"),
  accessToken: z.string(),
  expiresIn: z.number().int().openapi({ description: "Seconds until the access token expires" }),
  refreshToken: z.string(),
  refreshTokenExpiresAt: z.string().datetime(),
}).openapi("TokenPair");

const RefreshBody = z.object({ refreshToken: z.string().min(1).max(200) }).strict();

const pairView = (pair: {
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string;
  refreshTokenExpiresAt: Date;
}) => ({
  tokenType: "Bearer" as const,
  accessToken: pair.accessToken,
  expiresIn: Math.round((pair.accessTokenExpiresAt.getTime() - Date.now()) / 1000),
  refreshToken: pair.refreshToken,
  refreshTokenExpiresAt: pair.refreshTokenExpiresAt.toISOString(),
});

const RETRY_AFTER = {
  "Retry-After": { description: "Seconds to wait", schema: { type: "integer" as const } },
};

/** Sign-in, token refresh, logout and the caller's own profile. */
export function registerAuthRoutes(app: ApiApp, { identity, registry, secure }: RouteDeps) {
  app.openapi(
    secured(
      secure,
      access.public(),
      createRoute({
        method: "post",
        path: "/api/v1/auth/login",
        tags: ["auth"],
        summary: "Sign in with email and password",
        request: jsonBody(
          z.object({ email: EmailSchema, password: z.string().min(1).max(256) }).strict(),
        ),
        responses: {
          200: jsonResponse(TokenPairView, "Signed in"),
          401: { description: "Wrong email or password, or the user is disabled" },
          429: {
            description:
              "Too many failed sign-ins for this account from this address, from this address, or for this account; wait Retry-After seconds",
            headers: RETRY_AFTER,
          },
          503: {
            description: "Too many password checks queued; retry after Retry-After seconds",
            headers: RETRY_AFTER,
          },
        },
      }),
    ),
    async (c) => {
      const { email, password } = c.req.valid("json");
      // Throttled per client address as the server's TRUST_PROXY policy sees it.
      return c.json(
        pairView(await identity.signIn.attempt(email, password, clientAddress(c))),
        200,
      );
    },
  );

  app.openapi(
    secured(
      secure,
      access.public(),
      createRoute({
        method: "post",
        path: "/api/v1/auth/refresh",
        tags: ["auth"],
        summary: "Exchange a refresh token for a new pair (the old one stops working)",
        description: "Presenting an already-rotated refresh token revokes its whole session.",
        request: jsonBody(RefreshBody),
        responses: {
          200: jsonResponse(TokenPairView, "New token pair"),
          401: { description: "The refresh token is unknown, expired, used or revoked" },
        },
      }),
    ),
    async (c) => {
      const { refreshToken } = c.req.valid("json");
      return c.json(pairView(await identity.sessions.refresh(refreshToken)), 200);
    },
  );

  app.openapi(
    secured(
      secure,
      access.user(),
      createRoute({
        method: "post",
        path: "/api/v1/auth/logout",
        tags: ["auth"],
        summary: "End the session of the access token (and of a refresh token, if sent)",
        request: {
          body: {
            required: false,
            content: {
              "application/json": {
                schema: z.object({ refreshToken: z.string().max(200).optional() }).strict(),
              },
            },
          },
        },
        responses: { 204: { description: "Signed out" } },
      }),
    ),
    async (c) => {
      const user = userOf(c);
      // The validator yields {} when no body is sent; a chunked body has no content-length.
      const body = c.req.valid("json");
      await identity.sessions.end(user.sessionId);
      if (body.refreshToken) await identity.sessions.logout(body.refreshToken);
      return c.body(null, 204);
    },
  );

  app.openapi(
    secured(
      secure,
      access.user(),
      createRoute({
        method: "get",
        path: "/api/v1/me",
        tags: ["auth"],
        summary: "The signed-in user",
        responses: { 200: jsonResponse(UserView, "The user") },
      }),
    ),
    async (c) => c.json(userView(await registry.user(null, userOf(c).userId)), 200),
  );
}
