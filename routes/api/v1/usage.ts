import { createRoute, z } from "@hono/zod-openapi";
import { access } from "../../../lib/auth/mod.ts";
import { IdSchema } from "../../../lib/fleet/mod.ts";
import { type ApiApp, secured } from "../../../lib/http/mod.ts";
import { usageReport } from "../../../lib/usage/mod.ts";
import type { RouteDeps } from "../../deps.ts";
import { jsonResponse } from "./views.ts";

const VehicleParams = z.object({ fleetId: IdSchema, vehicleId: IdSchema });
const Kind = z.enum(["continuous", "proxy", "recall", "event", "live"]);
const Totals = z.object({
  continuous: z.number().int(),
  proxy: z.number().int(),
  recall: z.number().int(),
  event: z.number().int(),
  live: z.number().int(),
  all: z.number().int(),
}).openapi("UsageTotals", {
  description:
    "Bytes by kind: continuous upload (full quality), the proxy rendition, recalls an operator made, recalls an event rule made, and live video as Janus received it from the vehicle",
});
const UsageView = z.object({
  vehicleId: z.string(),
  from: z.string().openapi({ example: "2026-12-01" }),
  to: z.string().openapi({ example: "2026-12-07" }),
  days: z.array(z.object({
    day: z.string().openapi({ example: "2026-12-07" }),
    cameraId: z.string(),
    kind: Kind,
    bytes: z.number().int(),
    objects: z.number().int().openapi({ description: "Media and init segments stored" }),
  })),
  cameras: z.array(z.object({ cameraId: z.string(), bytes: Totals })),
  bytes: Totals,
}).openapi("VehicleUsage");
const DayParam = z.string().openapi({
  description: "A UTC day (YYYY-MM-DD), or an RFC 3339 time naming its UTC day",
});

/** Data usage: the bytes a vehicle's uploads stored, per camera, UTC day and kind. */
export function registerUsageRoutes(app: ApiApp, { registry, catalog, secure }: RouteDeps) {
  app.openapi(
    secured(
      secure,
      access.fleet(["admin", "operator"]),
      createRoute({
        method: "get",
        path: "/api/v1/fleets/{fleetId}/vehicles/{vehicleId}/usage",
        tags: ["vehicles"],
        summary:
          "Bytes the vehicle's uploads stored on the server, per camera, UTC day and kind (continuous, proxy, recall, event)",
        request: {
          params: VehicleParams,
          query: z.object({
            from: DayParam.optional().openapi({
              description: "First day; default: 29 days before `to`",
            }),
            to: DayParam.optional().openapi({
              description: "Last day (inclusive); default: today",
            }),
          }),
        },
        responses: {
          200: jsonResponse(UsageView, "The vehicle's usage over the days asked (at most 366)"),
        },
      }),
    ),
    async (c) => {
      const { fleetId, vehicleId } = c.req.valid("param");
      await registry.vehicle(fleetId, vehicleId);
      const report = await usageReport(catalog, fleetId, vehicleId, c.req.valid("query"));
      return c.json({
        ...report,
        days: report.days.map(({ day, cameraId, kind, bytes, objects }) => ({
          day,
          cameraId,
          kind,
          bytes,
          objects,
        })),
      }, 200);
    },
  );
}
