import type { Context, MiddlewareHandler } from "hono";
import type { Role } from "../catalog/mod.ts";
import { ForbiddenError, NotFoundError, UnauthorizedError } from "../errors/mod.ts";
import type { Identity } from "./identity.ts";
import type { DevicePrincipal, Principal, UserPrincipal } from "./principal.ts";

/**
 * Who may call a route. Every route declares one; there is no default, so a route that forgets
 * does not compile.
 */
export type Access =
  | { kind: "public" }
  | { kind: "owner"; fleetParam?: string }
  | {
    kind: "user";
    roles: readonly Role[];
    fleetParam?: string;
    orSigned?: boolean;
    /** Also accept a live link's Bearer token `mcs.…` signing this path prefix. */
    orSignedBearer?: (c: Context) => string;
  }
  | { kind: "device"; vehicleParam?: string }
  | { kind: "signed-prefix"; prefix: (c: Context) => string };

/** Constructors of {@linkcode Access} rules. */
export const access = {
  /** Anyone, signed in or not. */
  public: (): Access => ({ kind: "public" }),
  /**
   * Platform owners only. With `param`, a user of another fleet than the one that path parameter
   * names gets 404, as for {@linkcode access.fleet}, and a user of that fleet gets 403.
   */
  owner: (param?: string): Access => ({ kind: "owner", fleetParam: param }),
  /** Any signed-in user (owners included). */
  user: (): Access => ({ kind: "user", roles: ["owner", "admin", "operator", "viewer"] }),
  /**
   * Users holding one of `roles` in the fleet named by the path parameter `param`; owners act in
   * every fleet. A user of another fleet gets 404, as if the fleet did not exist.
   */
  fleet: (roles: readonly Role[], param = "fleetId"): Access => ({
    kind: "user",
    roles,
    fleetParam: param,
  }),
  /**
   * Like {@linkcode access.fleet}, or a URL signed exactly for this path and query (`exp`, `kid`,
   * `link`, `sig`) by a link not revoked, so a player with a shared link needs no token.
   */
  fleetOrSigned: (roles: readonly Role[], param = "fleetId"): Access => ({
    kind: "user",
    roles,
    fleetParam: param,
    orSigned: true,
  }),
  /**
   * Like {@linkcode access.fleet}, or a live link's Bearer token `mcs.<exp>.<kid>.<link>.<sig>`
   * that signs the path prefix `prefix(c)` — one camera's live stream for a third-party player.
   */
  fleetOrSignedBearer: (
    roles: readonly Role[],
    prefix: (c: Context) => string,
    param = "fleetId",
  ): Access => ({ kind: "user", roles, fleetParam: param, orSignedBearer: prefix }),
  /**
   * A URL whose `exp`, `kid`, `link` and `sig` sign the path prefix `prefix(c)` (media segments);
   * `prefix` sees whether the URL names a link, whose signatures cover narrower prefixes.
   */
  signedPrefix: (prefix: (c: Context) => string): Access => ({ kind: "signed-prefix", prefix }),
  /** A vehicle's device token; with `param`, only for the vehicle named by that path parameter. */
  device: (param?: string): Access => ({ kind: "device", vehicleParam: param }),
} as const;

/** Prefix of a Bearer token that is a signature over a path prefix, not a JWT. */
export const SIGNED_BEARER = "mcs.";

/**
 * A live link's Bearer token for `prefix` until `expiresAt` (see
 * {@linkcode access.fleetOrSignedBearer}).
 */
export function signedBearer(
  identity: Identity,
  prefix: string,
  expiresAt: Date,
  link: string,
): string {
  return SIGNED_BEARER + identity.urls.signBearer(prefix, expiresAt, link);
}

/** Context variables the access middleware sets. */
export type AuthVariables = { principal?: Principal };

/** Reads the bearer token of a request; undefined when there is none. */
export function bearerToken(c: Context): string | undefined {
  const header = c.req.header("authorization");
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new UnauthorizedError('Authorization header must be "Bearer <token>"');
  return match[1];
}

/** Middleware enforcing `rule`: authenticates the bearer token and checks the caller fits. */
export function authorize(identity: Identity, rule: Access): MiddlewareHandler {
  return async function authorizeRequest(c, next) {
    if (rule.kind === "public") return await next();
    if (rule.kind === "signed-prefix") {
      const { exp, kid, link, seq, sig } = c.req.query();
      await identity.urls.verifyPrefix(rule.prefix(c), { exp, kid, link, seq, sig });
      return await next();
    }
    if (rule.kind === "user" && rule.orSigned && c.req.query("sig") !== undefined) {
      await identity.urls.verifyExact(new URL(c.req.url));
      return await next();
    }
    const token = bearerToken(c);
    if (!token) throw new UnauthorizedError("Authentication required: send a Bearer token");
    if (rule.kind === "user" && rule.orSignedBearer && token.startsWith(SIGNED_BEARER)) {
      await identity.urls.verifyBearer(rule.orSignedBearer(c), token.slice(SIGNED_BEARER.length));
      return await next();
    }
    const principal = await identity.authenticate(token);
    c.set("principal", principal);
    if (rule.kind === "device") {
      checkDevice(principal, rule.vehicleParam && c.req.param(rule.vehicleParam));
    } else {
      checkUser(principal, rule, rule.fleetParam, c);
    }
    await next();
  };
}

function checkDevice(principal: Principal, vehicleId: string | undefined) {
  if (principal.kind !== "device") {
    throw new ForbiddenError("This endpoint is for vehicles: a user token cannot call it");
  }
  if (vehicleId !== undefined && vehicleId !== principal.vehicleId) {
    throw new ForbiddenError(
      `Device token of vehicle "${principal.vehicleId}" cannot act for vehicle "${vehicleId}"`,
    );
  }
}

function checkUser(principal: Principal, rule: Access, fleetParam: string | undefined, c: Context) {
  if (principal.kind !== "user") {
    throw new ForbiddenError("This endpoint is for users: a device token cannot call it");
  }
  if (principal.role === "owner") return;
  if (fleetParam !== undefined) {
    const fleetId = c.req.param(fleetParam);
    if (fleetId !== principal.fleetId) throw new NotFoundError(`Fleet "${fleetId}" not found`);
  }
  if (rule.kind === "owner") throw new ForbiddenError("Only platform owners may do this");
  if (rule.kind === "user" && !rule.roles.includes(principal.role)) {
    throw new ForbiddenError(
      `Role "${principal.role}" may not do this; it needs one of: ${rule.roles.join(", ")}`,
    );
  }
}

/** The authenticated user of a request, for handlers behind a user rule. */
export function userOf(c: Context): UserPrincipal {
  const principal = c.get("principal") as Principal | undefined;
  if (principal?.kind !== "user") throw new UnauthorizedError();
  return principal;
}

/** The authenticated vehicle of a request, for handlers behind a device rule. */
export function deviceOf(c: Context): DevicePrincipal {
  const principal = c.get("principal") as Principal | undefined;
  if (principal?.kind !== "device") throw new UnauthorizedError();
  return principal;
}
