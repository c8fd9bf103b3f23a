import { createRoute, z } from "@hono/zod-openapi";
import { access } from "../lib/auth/mod.ts";
import { UnauthorizedError } from "../lib/errors/mod.ts";
import { type ApiApp, secured } from "../lib/http/mod.ts";
import type { RouteDeps } from "./deps.ts";

const Readiness = z.object({
  status: z.enum(["ready", "not ready"]),
  checks: z.record(z.string(), z.object({ ok: z.boolean(), error: z.string().optional() })),
}).openapi("Readiness");

/** Liveness, readiness, metrics and the JWKS. */
export function registerSystemRoutes(app: ApiApp, deps: RouteDeps) {
  const { secure, identity, metrics, readiness, config } = deps;

  app.openapi(
    secured(
      secure,
      access.public(),
      createRoute({
        method: "get",
        path: "/healthz",
        tags: ["system"],
        summary: "Liveness: the process answers",
        responses: {
          200: {
            description: "Alive",
            content: { "application/json": { schema: z.object({ status: z.literal("ok") }) } },
          },
        },
      }),
    ),
    (c) => c.json({ status: "ok" as const }, 200),
  );

  app.openapi(
    secured(
      secure,
      access.public(),
      createRoute({
        method: "get",
        path: "/readyz",
        tags: ["system"],
        summary: "Readiness: the state of each dependency",
        responses: {
          200: { description: "Ready", content: { "application/json": { schema: Readiness } } },
          503: { description: "Not ready", content: { "application/json": { schema: Readiness } } },
        },
      }),
    ),
    async (c) => {
      const checks: Record<string, { ok: boolean; error?: string }> = {};
      await Promise.all(readiness.map(async ({ name, check }) => {
        try {
          await check();
          checks[name] = { ok: true };
        } catch (error) {
          checks[name] = {
            ok: false,
            error: error instanceof Error ? error.message : String(error),
          };
        }
      }));
      const ok = Object.values(checks).every((x) => x.ok);
      return ok
        ? c.json({ status: "ready" as const, checks }, 200)
        : c.json({ status: "not ready" as const, checks }, 503);
    },
  );

  app.openapi(
    secured(
      secure,
      access.public(),
      createRoute({
        method: "get",
        path: "/metrics",
        tags: ["system"],
        summary: "Prometheus metrics (Bearer METRICS_TOKEN when configured)",
        responses: {
          200: {
            description: "Exposition text",
            content: { "text/plain": { schema: z.string() } },
          },
        },
      }),
    ),
    async (c) => {
      if (config.metricsToken) {
        const header = c.req.header("authorization") ?? "";
        if (header !== `Bearer ${config.metricsToken}`) {
          throw new UnauthorizedError("Metrics need the METRICS_TOKEN bearer token");
        }
      }
      return c.text(await metrics.render(), 200, { "content-type": metrics.contentType });
    },
  );

  app.openapi(
    secured(
      secure,
      access.public(),
      createRoute({
        method: "get",
        path: "/.well-known/jwks.json",
        tags: ["system"],
        summary: "Public keys that verify Motorcade's tokens",
        responses: {
          200: {
            description: "JWK Set",
            content: {
              "application/json": {
                schema: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }),
              },
            },
          },
        },
      }),
    ),
    (c) => {
      // Short, so verifiers elsewhere see a rotated key soon (they should also refetch on unknown kid).
      c.header("cache-control", "public, max-age=60");
      return c.json(identity.keyring.jwks() as { keys: Record<string, unknown>[] }, 200);
    },
  );
}
