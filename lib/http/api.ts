import { OpenAPIHono, type RouteConfig, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import {
  type Access,
  authorize,
  type AuthVariables,
  type BrowserVariables,
  type Identity,
} from "../auth/mod.ts";
import { PayloadTooLargeError, ValidationError } from "../errors/mod.ts";

/** Hono environment of the Motorcade app: what middleware puts on the context. */
export type AppEnv = { Variables: AuthVariables & BrowserVariables & { requestId: string } };

/** The OpenAPI-aware Hono app every route registers on. */
export type ApiApp = OpenAPIHono<AppEnv>;

/** Schema of RFC 9457 problem documents, for the OpenAPI document. */
export const ProblemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  instance: z.string(),
  code: z.string(),
  requestId: z.string().optional(),
  issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
}).openapi("Problem");

const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: ProblemSchema } },
});

/** Creates the app; a request that fails its schema becomes a ValidationError naming each field. */
export function createApiApp(): ApiApp {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook(result) {
      if (result.success) return;
      const issues = result.error.issues.map((issue) => ({
        path: [result.target, ...issue.path.map(String)].join("."),
        message: issue.message,
      }));
      const summary = issues.map((i) => `${i.path}: ${i.message}`).join("; ");
      throw new ValidationError(`Request ${result.target} is invalid: ${summary}`, issues);
    },
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "signedUrl", {
    type: "apiKey",
    in: "query",
    name: "sig",
    description: "HMAC signature with an `exp` query parameter, as handed out in signed URLs",
  });
  return app;
}

/** Options of {@linkcode secured}. */
export interface SecuredOptions {
  identity: Identity;
  /** Largest request body; defaults to the configured MAX_BODY_BYTES. */
  maxBodyBytes: number;
}

/** Body limits of one route, for {@linkcode secured}. */
export interface BodyLimits {
  /** Largest request body; defaults to {@linkcode SecuredOptions.maxBodyBytes}. */
  maxBodyBytes?: number;
  /**
   * The handler streams the body and enforces `maxBodyBytes` itself as it reads: only a larger
   * `Content-Length` is refused up front, and the body is not buffered first.
   */
  streamed?: boolean;
}

/**
 * Makes a route definition carry its access rule: the rule runs as the route's first middleware
 * (after a body-size limit) and is documented in OpenAPI as `security` and `x-motorcade-access`,
 * with the problem responses it can produce. Every route goes through this; none can omit a rule.
 *
 * @example app.openapi(secured(opts, access.fleet(["admin"]), { method: "get", ... }), handler)
 */
export function secured<R extends RouteConfig>(
  options: SecuredOptions,
  rule: Access,
  route: R,
  limits: BodyLimits = {},
): R {
  const max = limits.maxBodyBytes ?? options.maxBodyBytes;
  const middleware: MiddlewareHandler[] = [
    limits.streamed ? declaredBodyLimit(max) : bodyLimit({
      maxSize: max,
      onError: () => {
        throw new PayloadTooLargeError(max);
      },
    }),
    authorize(options.identity, rule),
  ];
  const responses: RouteConfig["responses"] = {
    400: problem("The request is malformed or a value is invalid"),
    413: problem("The request body is too large"),
    // Zod's JSON validator answers 415 to a body of another media type.
    ...(jsonBodied(route) ? { 415: problem("The body is not application/json") } : {}),
    ...(rule.kind === "public" ? {} : {
      401: problem("No valid token: missing, expired, tampered with or revoked"),
      403: problem("The token is valid but may not do this"),
      404: problem("Not found, or in a fleet the caller cannot see"),
    }),
    ...route.responses,
  };
  return {
    ...route,
    middleware: [...middleware, ...[route.middleware ?? []].flat()],
    security: rule.kind === "public"
      ? []
      : rule.kind === "signed-prefix"
      ? [{ signedUrl: [] }]
      : rule.kind === "user" && rule.orSigned
      ? [{ bearer: [] }, { signedUrl: [] }]
      : [{ bearer: [] }],
    responses,
    operationId: route.operationId ?? operationIdOf(route.method, route.path),
    "x-motorcade-access": describeAccess(rule),
  } as R;
}

/**
 * A stable camelCase operationId from the method and path, for routes that name none: the verb
 * (`list` a collection, `get` one, `create` in a collection, `update`, `replace`, `delete`; a POST
 * to a single resource is the action itself) and the path's fixed segments after `/api/v1`.
 *
 * @example operationIdOf("get", "/api/v1/fleets/{fleetId}/vehicles") // "listFleetVehicles"
 */
export function operationIdOf(method: string, path: string): string {
  const parts = path.replace(/^\/api\/v1\//, "/").split("/").filter(Boolean);
  const item = parts.at(-1)?.startsWith("{") ?? false;
  const words = parts.filter((p) => !p.startsWith("{")).flatMap((p) => p.split(/[^A-Za-z0-9]+/))
    .filter(Boolean);
  const last = words.length - 1;
  const nouns = words.map((word, i) =>
    // Segments before a parameter name one of a collection: "fleets/{id}" reads "Fleet".
    (i < last || item || method.toLowerCase() === "post") && word.endsWith("s") &&
      !word.endsWith("ss")
      ? word.slice(0, -1)
      : word
  );
  const collection = !item && words[last]?.endsWith("s");
  const verb = {
    get: item || !collection ? "get" : "list",
    post: collection ? "create" : "",
    put: "replace",
    patch: "update",
    delete: "delete",
  }[method.toLowerCase()] ?? method.toLowerCase();
  const name = [verb, ...nouns].filter(Boolean)
    .map((w, i) => i === 0 ? w.toLowerCase() : w[0].toUpperCase() + w.slice(1))
    .join("");
  return name[0].toLowerCase() + name.slice(1);
}

/** Whether the route takes a JSON request body. */
function jsonBodied(route: RouteConfig): boolean {
  const content = route.request?.body?.content ?? {};
  return Object.keys(content).some((type) => /^application\/(.+\+)?json$/.test(type));
}

/** Refuses a request whose declared `Content-Length` is over `max`, without reading it. */
function declaredBodyLimit(max: number): MiddlewareHandler {
  return async function limitDeclaredBody(c, next) {
    const declared = c.req.header("content-length");
    if (declared !== undefined && Number(declared) > max) throw new PayloadTooLargeError(max);
    await next();
  };
}

function describeAccess(rule: Access): string {
  switch (rule.kind) {
    case "public":
      return "public";
    case "owner":
      return "platform owner";
    case "device":
      return rule.vehicleParam ? `device of vehicle {${rule.vehicleParam}}` : "device";
    case "signed-prefix":
      return "signed URL (exp, sig) over the path prefix";
    case "user":
      if (rule.orSignedBearer) {
        return `${
          rule.roles.join("|")
        } of fleet {${rule.fleetParam}} (or owner), or a live link token (Bearer mcs.…)`;
      }
      if (rule.orSigned) {
        return `${rule.roles.join("|")} of fleet {${rule.fleetParam}} (or owner), or a signed URL`;
      }
      return rule.fleetParam
        ? `${rule.roles.join("|")} of fleet {${rule.fleetParam}} (or owner)`
        : `${rule.roles.join("|")}`;
  }
}
