import { createRoute, z } from "@hono/zod-openapi";
import type { Access } from "../../../lib/auth/mod.ts";
import { type ApiApp, secured } from "../../../lib/http/mod.ts";
import type { RouteDeps } from "../../deps.ts";

const ADMINS: Access = { kind: "user", roles: ["owner", "admin"] };

const Check = z.object({ ok: z.boolean(), error: z.string().optional() });

const HealthView = z.object({
  at: z.string().datetime(),
  ok: z.boolean().openapi({ description: "Every check passed" }),
  checks: z.record(z.string(), Check).openapi({
    description:
      "The /readyz checks of this process's roles: catalog, object-store, bus, storage, janus (with live on)",
  }),
  ingest: z.object({
    segmentsPerSecond: z.number(),
    bytesPerSecond: z.number(),
    lagMs: z.number().nullable().openapi({
      description: "Indexer lag: publish to indexed, of its last batch; null before the first",
    }),
    lastIndexedAt: z.string().datetime().nullable(),
  }).nullable().openapi({
    description:
      "Segments indexed over the last minute, per second, by this process's indexer; null where the indexer role does not run",
  }),
  errors: z.object({
    http5xx: z.number().int().openapi({ description: "5xx answers since this process started" }),
    busDeadLetters: z.number().int(),
    retentionSweepErrors: z.number().int(),
    since: z.string().datetime(),
  }),
}).openapi("SystemHealth");

const STARTED = new Date();

/** Sum of a counter's values on the registry (0 when not registered), filtered by labels. */
async function counterSum(
  deps: RouteDeps,
  name: string,
  keep: (labels: Record<string, string | number>) => boolean = () => true,
): Promise<number> {
  const metric = deps.metrics.registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.filter((v) => keep(v.labels as Record<string, string | number>))
    .reduce((sum, v) => sum + v.value, 0);
}

/** System health as `GET /api/v1/system/health` answers it (the pages' health page reads it too). */
export type SystemHealth = z.infer<typeof HealthView>;

/** Runs the readiness checks and reads the indexer's figures and error counters. */
export async function systemHealth(deps: RouteDeps): Promise<SystemHealth> {
  const checks: Record<string, z.infer<typeof Check>> = {};
  await Promise.all(deps.readiness.map(async ({ name, check }) => {
    try {
      await check();
      checks[name] = { ok: true };
    } catch (error) {
      checks[name] = { ok: false, error: (error as Error).message };
    }
  }));
  const stats = deps.indexerStats?.();
  return {
    at: new Date().toISOString(),
    ok: Object.values(checks).every((x) => x.ok),
    checks,
    ingest: stats ? { ...stats, lastIndexedAt: stats.lastIndexedAt?.toISOString() ?? null } : null,
    errors: {
      http5xx: await counterSum(
        deps,
        "motorcade_http_requests_total",
        (l) => String(l.status).startsWith("5"),
      ),
      busDeadLetters: await counterSum(deps, "motorcade_bus_dead_letters_total"),
      retentionSweepErrors: await counterSum(deps, "motorcade_retention_sweep_errors_total"),
      since: STARTED.toISOString(),
    },
  };
}

/** `GET /api/v1/system/health`: the dependencies, ingest rate, indexer lag and errors. */
export function registerSystemHealthRoutes(app: ApiApp, deps: RouteDeps) {
  app.openapi(
    secured(
      deps.secure,
      ADMINS,
      createRoute({
        method: "get",
        operationId: "getSystemHealth",
        path: "/api/v1/system/health",
        tags: ["system"],
        summary: "System health: dependencies, ingest rate, indexer lag, errors",
        description:
          "For owners and fleet admins. Figures are this server process's (each process of a distributed deployment answers for itself).",
        responses: {
          200: {
            description: "Health, whether or not every check passed",
            content: {
              "application/json": {
                schema: HealthView,
                example: {
                  at: "2026-12-07T08:14:00.000Z",
                  ok: true,
                  checks: {
                    catalog: { ok: true },
                    "object-store": { ok: true },
                    bus: { ok: true },
                    storage: { ok: true },
                  },
                  ingest: {
                    segmentsPerSecond: 41.5,
                    bytesPerSecond: 20_750_000,
                    lagMs: 12,
                    lastIndexedAt: "2026-12-07T08:13:59.800Z",
                  },
                  errors: {
                    http5xx: 0,
                    busDeadLetters: 0,
                    retentionSweepErrors: 0,
                    since: "2026-12-07T06:00:00.000Z",
                  },
                },
              },
            },
          },
        },
      }),
    ),
    async (c) => c.json(await systemHealth(deps), 200),
  );
}
