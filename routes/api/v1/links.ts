import { createRoute, z } from "@hono/zod-openapi";
import { access, userOf } from "../../../lib/auth/mod.ts";
import type { Link } from "../../../lib/catalog/mod.ts";
import { parseDuration } from "../../../lib/config/mod.ts";
import { ValidationError } from "../../../lib/errors/mod.ts";
import { IdSchema } from "../../../lib/fleet/mod.ts";
import { type ApiApp, secured } from "../../../lib/http/mod.ts";
import type { RouteDeps } from "../../deps.ts";
import { jsonResponse } from "./views.ts";

const ALL = ["admin", "operator", "viewer"] as const;
const LINKS = "/api/v1/fleets/{fleetId}/links";
const LinkId = z.string().regex(/^lnk_[0-9a-z]{20}$/, "must be a link id");
const Filter = z.object({
  cameraId: IdSchema.optional(),
  createdBy: IdSchema.optional(),
  kind: z.enum(["playback", "live"]).optional(),
});

/** A playback or live link as the API shows it (its URLs are shown once, when it is made). */
export const LinkView = z.object({
  id: z.string(),
  kind: z.enum(["playback", "live"]),
  vehicleId: z.string(),
  cameraId: z.string(),
  createdBy: z.string(),
  createdAt: z.string().datetime(),
  expiresAt: z.string().datetime(),
  from: z.string().datetime().nullable(),
  to: z.string().datetime().nullable(),
  revokedAt: z.string().datetime().nullable(),
}).openapi("Link");

/** Longest life of a playback or live link, in seconds: 30 days. */
export const LINK_TTL_MAX_SECONDS = 30 * 86_400;

/**
 * The request members that say how long a link lasts: `ttlSeconds` (an integer, the one form
 * documented), or the deprecated `ttl` duration string (`90s`, `15m`, `6h`, `30d`) that playback
 * links took before, accepted with the same bounds. Read them with {@linkcode lifetimeSeconds}.
 */
export function lifetimeFields(minSeconds: number, what: string) {
  return {
    ttlSeconds: z.number().int().min(minSeconds).max(LINK_TTL_MAX_SECONDS).optional().openapi({
      description:
        `How long the link lasts, in seconds (${minSeconds} to ${LINK_TTL_MAX_SECONDS}); ${what}`,
      example: 3600,
    }),
    ttl: z.string().regex(/^\d+(ms|s|m|h|d)?$/, "must be a duration such as 6h").optional()
      .openapi({
        deprecated: true,
        description:
          "Deprecated: the lifetime as a duration (`90s`, `15m`, `6h`, `30d`); send `ttlSeconds` instead. Accepted with the same bounds; an answer to a request using it carries `Deprecation: true`.",
      }),
  };
}

/**
 * A link's lifetime in seconds from `ttlSeconds` or the deprecated `ttl`, within `min` and 30 days;
 * `fallback` when neither is given, and a ValidationError naming `ttlSeconds` when there is none.
 */
export function lifetimeSeconds(
  body: { ttlSeconds?: number; ttl?: string },
  min: number,
  fallback?: number,
): { seconds: number; deprecated: boolean } {
  const bounds = `${min} to ${LINK_TTL_MAX_SECONDS}`;
  if (body.ttlSeconds !== undefined && body.ttl !== undefined) {
    throw new ValidationError("Request json is invalid: give ttlSeconds or ttl, not both", [
      { path: "json.ttl", message: "deprecated: send only ttlSeconds" },
    ]);
  }
  if (body.ttl !== undefined) {
    const ms = parseDuration(body.ttl)!;
    if (ms < min * 1000 || ms > LINK_TTL_MAX_SECONDS * 1000) {
      const message = `must be between ${min} s and 30 days (ttlSeconds ${bounds})`;
      throw new ValidationError(`Request json is invalid: json.ttl: ${message}`, [
        { path: "json.ttl", message },
      ]);
    }
    return { seconds: Math.ceil(ms / 1000), deprecated: true };
  }
  const seconds = body.ttlSeconds ?? fallback;
  if (seconds === undefined) {
    const message = `required: how long the link lasts, in seconds (${bounds})`;
    throw new ValidationError(`Request json is invalid: json.ttlSeconds: ${message}`, [
      { path: "json.ttlSeconds", message },
    ]);
  }
  return { seconds, deprecated: false };
}

/** The header that marks an answer to a request in a deprecated form (RFC 9745). */
export const deprecationHeader = (deprecated: boolean): Record<string, string> =>
  deprecated ? { deprecation: "true" } : {};

const iso = (ms: number | null) => ms === null ? null : new Date(ms).toISOString();

/** The API's view of a link. */
export const linkView = (link: Link) => ({
  id: link.id,
  kind: link.kind,
  vehicleId: link.vehicleId,
  cameraId: link.cameraId,
  createdBy: link.createdBy,
  createdAt: link.createdAt.toISOString(),
  expiresAt: link.expiresAt.toISOString(),
  from: iso(link.fromMs),
  to: iso(link.toMs),
  revokedAt: link.revokedAt && link.revokedAt.toISOString(),
});

/**
 * A fleet's playback and live links: listed, and revoked by id or in bulk by camera and/or maker
 * (`DELETE` on the collection with the listing's filter). Admins manage every link of their fleet; others only the links they made.
 */
export function registerLinkRoutes(app: ApiApp, { identity, secure }: RouteDeps) {
  const links = () => identity.urls.links;

  app.openapi(
    secured(
      secure,
      access.fleet(ALL),
      createRoute({
        method: "get",
        path: LINKS,
        tags: ["playback"],
        summary: "Unexpired links of a fleet (admins: all; others: their own)",
        request: { params: z.object({ fleetId: IdSchema }), query: Filter },
        responses: { 200: jsonResponse(z.object({ links: z.array(LinkView) }), "Links") },
      }),
    ),
    async (c) => {
      const { fleetId } = c.req.valid("param");
      const found = await links().list(fleetId, c.req.valid("query"), userOf(c));
      return c.json({ links: found.map(linkView) }, 200);
    },
  );

  app.openapi(
    secured(
      secure,
      access.fleet(ALL),
      createRoute({
        method: "delete",
        path: `${LINKS}/{linkId}`,
        tags: ["playback"],
        summary: "Revoke a link: its playlist, segment and live URLs stop working within seconds",
        request: { params: z.object({ fleetId: IdSchema, linkId: LinkId }) },
        responses: { 200: jsonResponse(LinkView, "Revoked (or already revoked)") },
      }),
    ),
    async (c) => {
      const { fleetId, linkId } = c.req.valid("param");
      const caller = userOf(c);
      await links().get(fleetId, linkId, caller);
      await links().revoke(fleetId, { id: linkId }, caller);
      return c.json(linkView(await links().get(fleetId, linkId, caller)), 200);
    },
  );

  app.openapi(
    secured(
      secure,
      access.fleet(ALL),
      createRoute({
        method: "delete",
        path: LINKS,
        tags: ["playback"],
        summary: "Revoke every unexpired link of a camera, of a maker, or both",
        description:
          "The same filter as the listing; at least one of `cameraId` and `createdBy`. Admins revoke any link of the fleet; others only their own.",
        request: { params: z.object({ fleetId: IdSchema }), query: Filter },
        responses: {
          200: jsonResponse(z.object({ revoked: z.array(z.string()) }), "The links revoked"),
        },
      }),
    ),
    async (c) => {
      const { fleetId } = c.req.valid("param");
      const filter = c.req.valid("query");
      if (filter.cameraId === undefined && filter.createdBy === undefined) {
        throw new ValidationError("Say which links to revoke: cameraId, createdBy or both", [
          { path: "query.cameraId", message: "required unless createdBy is given" },
        ]);
      }
      const revoked = await links().revoke(fleetId, filter, userOf(c));
      return c.json({ revoked }, 200);
    },
  );
}
