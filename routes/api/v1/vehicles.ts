import { createRoute, z } from "@hono/zod-openapi";
import { access } from "../../../lib/auth/mod.ts";
import { FleetStatus, IdSchema, VehicleNameSchema } from "../../../lib/fleet/mod.ts";
import { type ApiApp, secured } from "../../../lib/http/mod.ts";
import type { RouteDeps } from "../../deps.ts";
import {
  CredentialView,
  credentialView,
  EnrolmentStateView,
  enrolmentStateView,
  EnrolmentView,
  enrolmentView,
  jsonBody,
  jsonResponse,
  VehicleView,
  vehicleView,
} from "./views.ts";

const FleetParams = z.object({ fleetId: IdSchema });
const VehicleParams = z.object({ fleetId: IdSchema, vehicleId: IdSchema });
const CredentialParams = VehicleParams.extend({ credentialId: IdSchema });
const VehicleBody = z.object({ name: VehicleNameSchema }).strict();
const ALL = ["admin", "operator", "viewer"] as const;

/** Vehicles of a fleet and their device credentials. */
export function registerVehicleRoutes(
  app: ApiApp,
  { registry, catalog, secure, config, live }: RouteDeps,
) {
  const status = new FleetStatus({
    catalog,
    registry,
    offlineAfterMs: config.vehicleOfflineAfterMs,
    live,
  });
  app.openapi(
    secured(
      secure,
      access.fleet(ALL),
      createRoute({
        method: "get",
        path: "/api/v1/fleets/{fleetId}/vehicles/{vehicleId}/status",
        tags: ["vehicles"],
        summary: "The vehicle agent's last heartbeat: queues, evictions, clock",
        request: { params: VehicleParams },
        responses: {
          200: jsonResponse(
            z.object({
              reportedAt: z.string().datetime().nullable(),
              heartbeat: z.record(z.string(), z.unknown()).nullable(),
            }),
            "Last heartbeat (null before the first)",
          ),
        },
      }),
    ),
    async (c) => {
      const { fleetId, vehicleId } = c.req.valid("param");
      await registry.vehicle(fleetId, vehicleId);
      const status = await catalog.vehicleStatus.get(vehicleId);
      return c.json({
        reportedAt: status?.reportedAt.toISOString() ?? null,
        heartbeat: status?.status ?? null,
      }, 200);
    },
  );

  app.openapi(
    secured(
      secure,
      access.fleet(ALL),
      createRoute({
        method: "get",
        path: "/api/v1/fleets/{fleetId}/vehicles",
        tags: ["vehicles"],
        summary: "Vehicles of a fleet",
        request: { params: FleetParams },
        responses: { 200: jsonResponse(z.object({ vehicles: z.array(VehicleView) }), "Vehicles") },
      }),
    ),
    async (c) => {
      const { fleetId } = c.req.valid("param");
      const vehicles = await registry.listVehicles(fleetId);
      const presences = await status.presences(fleetId);
      return c.json({ vehicles: vehicles.map((v) => vehicleView(v, presences.get(v.id))) }, 200);
    },
  );

  app.openapi(
    secured(
      secure,
      access.fleet(["admin"]),
      createRoute({
        method: "post",
        path: "/api/v1/fleets/{fleetId}/vehicles",
        tags: ["vehicles"],
        summary: "Register a vehicle; the response holds its one-time enrolment code",
        request: { params: FleetParams, ...jsonBody(VehicleBody) },
        responses: {
          201: jsonResponse(
            z.object({ vehicle: VehicleView, enrolment: EnrolmentView }),
            "Registered",
          ),
          409: { description: "A vehicle of that name exists in the fleet" },
        },
      }),
    ),
    async (c) => {
      const { fleetId } = c.req.valid("param");
      const { vehicle, enrolment } = await registry.registerVehicle(
        fleetId,
        c.req.valid("json").name,
      );
      return c.json({
        vehicle: vehicleView(vehicle),
        enrolment: enrolmentView(enrolment, config.publicUrl),
      }, 201);
    },
  );

  app.openapi(
    secured(
      secure,
      access.fleet(ALL),
      createRoute({
        method: "get",
        path: "/api/v1/fleets/{fleetId}/vehicles/{vehicleId}",
        tags: ["vehicles"],
        summary: "A vehicle, with its enrolment state",
        request: { params: VehicleParams },
        responses: {
          200: jsonResponse(
            VehicleView.extend({ enrolment: EnrolmentStateView }).openapi("VehicleDetail"),
            "The vehicle",
          ),
        },
      }),
    ),
    async (c) => {
      const { fleetId, vehicleId } = c.req.valid("param");
      const vehicle = await registry.vehicle(fleetId, vehicleId);
      const credentials = await registry.listCredentials(fleetId, vehicleId);
      return c.json({
        ...vehicleView(vehicle, await status.presence(fleetId, vehicleId)),
        enrolment: enrolmentStateView(credentials),
      }, 200);
    },
  );

  app.openapi(
    secured(
      secure,
      access.fleet(["admin", "operator"]),
      createRoute({
        method: "patch",
        path: "/api/v1/fleets/{fleetId}/vehicles/{vehicleId}",
        tags: ["vehicles"],
        summary: "Rename a vehicle",
        request: { params: VehicleParams, ...jsonBody(VehicleBody) },
        responses: {
          200: jsonResponse(VehicleView, "Renamed"),
          409: { description: "A vehicle of that name exists in the fleet" },
        },
      }),
    ),
    async (c) => {
      const { fleetId, vehicleId } = c.req.valid("param");
      const vehicle = await registry.renameVehicle(fleetId, vehicleId, c.req.valid("json").name);
      return c.json(vehicleView(vehicle, await status.presence(fleetId, vehicleId)), 200);
    },
  );

  app.openapi(
    secured(
      secure,
      access.fleet(["admin"]),
      createRoute({
        method: "delete",
        path: "/api/v1/fleets/{fleetId}/vehicles/{vehicleId}",
        tags: ["vehicles"],
        summary: "Delete a vehicle with its cameras and credentials",
        description:
          "Its recordings go with it from the catalog at once (no playlist, clip or link reaches them any more); their segment objects stay in the object store, outside retention, until removed there.",
        request: { params: VehicleParams },
        responses: { 204: { description: "Deleted" } },
      }),
    ),
    async (c) => {
      const { fleetId, vehicleId } = c.req.valid("param");
      await registry.deleteVehicle(fleetId, vehicleId);
      return c.body(null, 204);
    },
  );

  app.openapi(
    secured(
      secure,
      access.fleet(["admin"]),
      createRoute({
        method: "get",
        path: "/api/v1/fleets/{fleetId}/vehicles/{vehicleId}/credentials",
        tags: ["vehicles"],
        summary: "A vehicle's device credentials",
        request: { params: VehicleParams },
        responses: {
          200: jsonResponse(z.object({ credentials: z.array(CredentialView) }), "Credentials"),
        },
      }),
    ),
    async (c) => {
      const { fleetId, vehicleId } = c.req.valid("param");
      const credentials = await registry.listCredentials(fleetId, vehicleId);
      return c.json({ credentials: credentials.map((x) => credentialView(x)) }, 200);
    },
  );

  app.openapi(
    secured(
      secure,
      access.fleet(["admin"]),
      createRoute({
        method: "post",
        path: "/api/v1/fleets/{fleetId}/vehicles/{vehicleId}/credentials",
        tags: ["vehicles"],
        summary: "Issue a new enrolment code for a vehicle",
        request: { params: VehicleParams },
        responses: { 201: jsonResponse(EnrolmentView, "Issued") },
      }),
    ),
    async (c) => {
      const { fleetId, vehicleId } = c.req.valid("param");
      const enrolment = await registry.issueCredential(fleetId, vehicleId);
      return c.json(enrolmentView(enrolment, config.publicUrl), 201);
    },
  );

  app.openapi(
    secured(
      secure,
      access.fleet(["admin"]),
      createRoute({
        method: "delete",
        path: "/api/v1/fleets/{fleetId}/vehicles/{vehicleId}/credentials/{credentialId}",
        tags: ["vehicles"],
        summary: "Revoke a device credential (its tokens stop working at once)",
        request: { params: CredentialParams },
        responses: { 200: jsonResponse(CredentialView, "Revoked") },
      }),
    ),
    async (c) => {
      const { fleetId, vehicleId, credentialId } = c.req.valid("param");
      const revoked = await registry.revokeCredential(fleetId, vehicleId, credentialId);
      return c.json(credentialView(revoked), 200);
    },
  );
}
