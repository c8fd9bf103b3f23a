import { createRoute, z } from "@hono/zod-openapi";
import { access, userOf } from "../../../lib/auth/mod.ts";
import { IdSchema } from "../../../lib/fleet/mod.ts";
import { type ApiApp, secured } from "../../../lib/http/mod.ts";
import type { PolicyAnswer } from "../../../lib/policy/mod.ts";
import { recallView } from "../../../lib/recall/mod.ts";
import type { RouteDeps } from "../../deps.ts";
import { TimeParam } from "./recordings.ts";
import { jsonBody, jsonResponse } from "./views.ts";

const ALL = ["admin", "operator", "viewer"] as const;
const FLEET = "/api/v1/fleets/{fleetId}";
const VEHICLE = `${FLEET}/vehicles/{vehicleId}`;
const CAMERA = `${VEHICLE}/cameras/{cameraId}`;
const FleetParams = z.object({ fleetId: IdSchema });
const VehicleParams = FleetParams.extend({ vehicleId: IdSchema });
const CameraParams = VehicleParams.extend({ cameraId: IdSchema });
const RecallParams = FleetParams.extend({
  recallId: z.string().regex(/^rcl_[0-9a-z]{20}$/, "must be a recall id"),
});

const Mode = z.enum(["continuous", "proxy", "on-request"]).openapi({
  description: "continuous: full quality uploaded; proxy: a low-bitrate rendition uploaded, " +
    "full quality kept on the vehicle; on-request: nothing uploaded but recalls",
});
const Proxy = z.object({
  height: z.number().int().min(144).max(1080).openapi({ description: "Lines of the proxy" }),
  bitrateKbps: z.number().int().min(32).max(4000),
}).strict().openapi("ProxySettings");
const PolicyBody = z.object({
  mode: Mode,
  proxy: Proxy.optional().openapi({ description: "Absent: 320 lines at 150 kbit/s" }),
}).strict();
const FleetPolicyBody = PolicyBody.extend({
  recallMaxSeconds: z.number().int().min(10).max(7 * 86_400).optional().openapi({
    description: "Longest recall allowed, in seconds; absent: 3600",
  }),
}).strict();
const PolicyView = z.object({
  mode: Mode,
  proxy: Proxy,
  source: z.enum(["camera", "vehicle", "fleet", "default"]).openapi({
    description: "Where the policy in force is set (default: none is, so continuous)",
  }),
  own: z.object({ mode: Mode, proxy: Proxy, updatedAt: z.string().datetime() }).nullable()
    .openapi({
      description: "The policy set on this very fleet, vehicle or camera; null: inherits",
    }),
}).openapi("UploadPolicy");
const FleetPolicyView = PolicyView.extend({ recallMaxSeconds: z.number().int() })
  .openapi("FleetUploadPolicy");

const policyView = (answer: PolicyAnswer) => ({
  mode: answer.effective.mode,
  proxy: answer.effective.proxy,
  source: answer.effective.source,
  own: answer.own
    ? {
      mode: answer.own.mode,
      proxy: answer.own.proxy,
      updatedAt: answer.own.updatedAt.toISOString(),
    }
    : null,
});

const Gap = z.object({
  from: z.string().datetime(),
  to: z.string().datetime(),
  reason: z.enum(["evicted", "not-recorded"]),
});
const RecallView = z.object({
  id: z.string(),
  fleetId: z.string(),
  vehicleId: z.string(),
  cameraId: z.string(),
  from: z.string().datetime(),
  to: z.string().datetime(),
  origin: z.enum(["operator", "event"]),
  createdBy: z.string().nullable(),
  state: z.enum(["queued", "uploading", "complete", "partial", "expired", "cancelled"]).openapi({
    description: "queued (the vehicle has not taken it up yet: it may be offline) → uploading → " +
      "complete | partial (see missing) | expired (evicted on the vehicle) | cancelled",
  }),
  progress: z.object({
    segmentsTotal: z.number().int(),
    segmentsDone: z.number().int(),
    bytesTotal: z.number().int(),
    bytesDone: z.number().int(),
    missing: z.array(Gap),
  }).nullable().openapi({ description: "As the vehicle last reported; null before it did" }),
  createdAt: z.string().datetime(),
  updatedAt: z.string().datetime(),
  finishedAt: z.string().datetime().nullable(),
}).openapi("Recall");

const iso = (ms: number) => new Date(ms).toISOString();

const Span = z.object({
  from: z.string().datetime(),
  to: z.string().datetime(),
  where: z.enum(["server", "vehicle", "none"]),
});
const AvailabilityView = z.object({
  from: z.string().datetime(),
  to: z.string().datetime(),
  renditions: z.array(z.object({ rendition: z.enum(["full", "proxy"]), spans: z.array(Span) })),
  inventoryReportedAt: z.string().datetime().nullable().openapi({
    description: "When the vehicle last reported what it holds; null: never",
  }),
}).openapi("Availability");

/** Upload policies of fleets, vehicles and cameras; recalls; where recordings are. */
export function registerUploadPolicyRoutes(
  app: ApiApp,
  { policies, recalls, availability, secure }: RouteDeps,
) {
  app.openapi(
    secured(
      secure,
      access.fleet([...ALL]),
      createRoute({
        method: "get",
        path: `${FLEET}/upload-policy`,
        tags: ["upload policies"],
        summary: "The fleet's default upload policy and recall quota",
        request: { params: FleetParams },
        responses: { 200: jsonResponse(FleetPolicyView, "The fleet's policy") },
      }),
    ),
    async (c) => {
      const answer = await policies.fleet(c.req.valid("param").fleetId);
      return c.json({ ...policyView(answer), recallMaxSeconds: answer.recallMaxSeconds }, 200);
    },
  );

  app.openapi(
    secured(
      secure,
      access.fleet(["admin"]),
      createRoute({
        method: "put",
        path: `${FLEET}/upload-policy`,
        tags: ["upload policies"],
        summary: "Set the fleet's default upload policy",
        description: "Vehicles and cameras without a policy of their own follow it; running " +
          "vehicles apply it within seconds (their instructions change).",
        request: { params: FleetParams, ...jsonBody(FleetPolicyBody) },
        responses: { 200: jsonResponse(FleetPolicyView, "Set") },
      }),
    ),
    async (c) => {
      const answer = await policies.setFleet(c.req.valid("param").fleetId, c.req.valid("json"));
      return c.json({ ...policyView(answer), recallMaxSeconds: answer.recallMaxSeconds }, 200);
    },
  );

  for (const scope of ["vehicle", "camera"] as const) {
    const path = `${scope === "vehicle" ? VEHICLE : CAMERA}/upload-policy`;
    const params = scope === "vehicle" ? VehicleParams : CameraParams;
    type Params = { fleetId: string; vehicleId: string; cameraId?: string };
    const read = (p: Params) =>
      p.cameraId
        ? policies.camera(p.fleetId, p.vehicleId, p.cameraId)
        : policies.vehicle(p.fleetId, p.vehicleId);
    app.openapi(
      secured(
        secure,
        access.fleet([...ALL]),
        createRoute({
          method: "get",
          path,
          tags: ["upload policies"],
          summary: `The upload policy in force for the ${scope}, and where it comes from`,
          request: { params },
          responses: { 200: jsonResponse(PolicyView, "The policy in force") },
        }),
      ),
      async (c) => c.json(policyView(await read(c.req.valid("param") as Params)), 200),
    );
    app.openapi(
      secured(
        secure,
        access.fleet(["admin", "operator"]),
        createRoute({
          method: "put",
          path,
          tags: ["upload policies"],
          summary: `Set the ${scope}'s own upload policy`,
          description: scope === "vehicle"
            ? "Over the fleet's, for the vehicle's cameras without a policy of their own."
            : "Over the vehicle's and the fleet's.",
          request: { params, ...jsonBody(PolicyBody) },
          responses: { 200: jsonResponse(PolicyView, "Set") },
        }),
      ),
      async (c) => {
        const p = c.req.valid("param") as Params;
        const body = c.req.valid("json");
        const answer = p.cameraId
          ? await policies.setCamera(p.fleetId, p.vehicleId, p.cameraId, body)
          : await policies.setVehicle(p.fleetId, p.vehicleId, body);
        return c.json(policyView(answer), 200);
      },
    );
    app.openapi(
      secured(
        secure,
        access.fleet(["admin", "operator"]),
        createRoute({
          method: "delete",
          path,
          tags: ["upload policies"],
          summary: `Remove the ${scope}'s own upload policy (it inherits again)`,
          request: { params },
          responses: { 200: jsonResponse(PolicyView, "Removed: the policy now in force") },
        }),
      ),
      async (c) => {
        const p = c.req.valid("param") as Params;
        const answer = p.cameraId
          ? await policies.clearCamera(p.fleetId, p.vehicleId, p.cameraId)
          : await policies.clearVehicle(p.fleetId, p.vehicleId);
        return c.json(policyView(answer), 200);
      },
    );
  }

  app.openapi(
    secured(
      secure,
      access.fleet(["admin", "operator"]),
      createRoute({
        method: "post",
        path: `${CAMERA}/recalls`,
        tags: ["recalls"],
        summary: "Recall the camera's full-quality recording of a time range from the vehicle",
        description: "Queued until the vehicle takes it up (it waits for an offline vehicle), " +
          "then uploaded ahead of other traffic. At most the fleet's recallMaxSeconds long; a " +
          "vehicle has at most 32 recalls under way. `to` may be in the future: the vehicle " +
          "finishes once its capture has passed it.",
        request: {
          params: CameraParams,
          ...jsonBody(z.object({ from: TimeParam, to: TimeParam }).strict()),
        },
        responses: {
          201: jsonResponse(RecallView, "Filed"),
          409: { description: "The vehicle already has 32 recalls under way" },
        },
      }),
    ),
    async (c) => {
      const { fleetId, vehicleId, cameraId } = c.req.valid("param");
      const { from, to } = c.req.valid("json");
      const recall = await recalls.file({
        fleetId,
        vehicleId,
        cameraId,
        fromMs: Date.parse(from),
        toMs: Date.parse(to),
        createdBy: userOf(c).userId,
      });
      return c.json(recallView(recall), 201);
    },
  );

  app.openapi(
    secured(
      secure,
      access.fleet([...ALL]),
      createRoute({
        method: "get",
        path: `${CAMERA}/recalls`,
        tags: ["recalls"],
        summary: "The camera's recalls, newest first (at most 100)",
        request: { params: CameraParams },
        responses: { 200: jsonResponse(z.object({ recalls: z.array(RecallView) }), "Recalls") },
      }),
    ),
    async (c) => {
      const { fleetId, vehicleId, cameraId } = c.req.valid("param");
      const list = await recalls.list(fleetId, vehicleId, cameraId);
      return c.json({ recalls: list.map(recallView) }, 200);
    },
  );

  app.openapi(
    secured(
      secure,
      access.fleet([...ALL]),
      createRoute({
        method: "get",
        path: `${FLEET}/recalls/{recallId}`,
        tags: ["recalls"],
        summary: "A recall and its progress",
        request: { params: RecallParams },
        responses: { 200: jsonResponse(RecallView, "The recall") },
      }),
    ),
    async (c) => {
      const { fleetId, recallId } = c.req.valid("param");
      return c.json(recallView(await recalls.get(fleetId, recallId)), 200);
    },
  );

  app.openapi(
    secured(
      secure,
      access.fleet(["admin", "operator"]),
      createRoute({
        method: "delete",
        path: `${FLEET}/recalls/{recallId}`,
        tags: ["recalls"],
        summary: "Cancel a recall under way",
        description: "The vehicle stops it with its next instructions; what it uploaded stays.",
        request: { params: RecallParams },
        responses: {
          200: jsonResponse(RecallView, "Cancelled"),
          409: { description: "The recall is already over" },
        },
      }),
    ),
    async (c) => {
      const { fleetId, recallId } = c.req.valid("param");
      return c.json(recallView(await recalls.cancel(fleetId, recallId)), 200);
    },
  );

  app.openapi(
    secured(
      secure,
      access.fleet([...ALL]),
      createRoute({
        method: "get",
        path: `${CAMERA}/availability`,
        tags: ["recalls"],
        summary: "Where the camera's recording of a range is: server, vehicle only, or nowhere",
        description: "Per rendition, from what the server indexed and what the vehicle last " +
          "reported holding; at most 7 days.",
        request: { params: CameraParams, query: z.object({ from: TimeParam, to: TimeParam }) },
        responses: { 200: jsonResponse(AvailabilityView, "Spans, in time order") },
      }),
    ),
    async (c) => {
      const { fleetId, vehicleId, cameraId } = c.req.valid("param");
      const { from, to } = c.req.valid("query");
      const fromMs = Date.parse(from);
      const toMs = Date.parse(to);
      const found = await availability.camera(fleetId, vehicleId, cameraId, fromMs, toMs);
      return c.json({
        from: iso(fromMs),
        to: iso(toMs),
        renditions: found.renditions.map((r) => ({
          rendition: r.rendition,
          spans: r.spans.map((s) => ({ from: iso(s.fromMs), to: iso(s.toMs), where: s.where })),
        })),
        inventoryReportedAt: found.inventoryReportedAt?.toISOString() ?? null,
      }, 200);
    },
  );
}
