/**
 * Which role answers which path (`ROLES`): a process answers the routes of its roles and refuses
 * the others with 421 Misdirected Request naming the role, so a load balancer routing by path
 * (see README "Roles") is told at once where it went wrong. Every process answers `/healthz`,
 * `/readyz`, `/metrics` and the JWKS.
 */
import type { MiddlewareHandler } from "hono";
import type { ServerRole } from "../lib/config/mod.ts";
import { MisdirectedRequestError } from "../lib/errors/mod.ts";

const EVERY_ROLE = /^\/(healthz|readyz|metrics|\.well-known\/jwks\.json)$/;
const INGEST = /^\/api\/v1\/ingest(\/|$)/;
const LIVE =
  /^\/api\/v1\/(live(\/|$)|fleets\/[^/]+\/vehicles\/[^/]+\/cameras\/[^/]+\/(whep|whip|live-links)$)/;

/** The role that answers `path`, or null for the routes every process answers. */
export function roleOfPath(path: string): ServerRole | null {
  if (EVERY_ROLE.test(path)) return null;
  if (INGEST.test(path)) return "ingest";
  if (LIVE.test(path)) return "live";
  // The indexer answers no request of its own: it consumes the bus.
  return "api";
}

/** Refuses requests for roles this process does not have (none are refused with every role). */
export function servedRoles(roles: ReadonlySet<ServerRole>): MiddlewareHandler {
  return async function servedRoles(c, next) {
    const role = roleOfPath(c.req.path);
    if (role && !roles.has(role)) throw new MisdirectedRequestError(c.req.path, role);
    await next();
  };
}
