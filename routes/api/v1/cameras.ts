import { createRoute, z } from "@hono/zod-openapi";
import { access } from "../../../lib/auth/mod.ts";
import { CameraNameSchema, IdSchema } from "../../../lib/fleet/mod.ts";
import { type ApiApp, secured } from "../../../lib/http/mod.ts";
import type { RouteDeps } from "../../deps.ts";
import { CameraView, cameraView, jsonBody, jsonResponse } from "./views.ts";

const VehicleParams = z.object({ fleetId: IdSchema, vehicleId: IdSchema });
const CameraParams = VehicleParams.extend({ cameraId: IdSchema });

/** A vehicle's cameras. */
export function registerCameraRoutes(app: ApiApp, { registry, secure }: RouteDeps) {
  app.openapi(
    secured(
      secure,
      access.fleet(["admin", "operator", "viewer"]),
      createRoute({
        method: "get",
        path: "/api/v1/fleets/{fleetId}/vehicles/{vehicleId}/cameras",
        tags: ["cameras"],
        summary: "Cameras of a vehicle",
        request: { params: VehicleParams },
        responses: { 200: jsonResponse(z.object({ cameras: z.array(CameraView) }), "Cameras") },
      }),
    ),
    async (c) => {
      const { fleetId, vehicleId } = c.req.valid("param");
      const cameras = await registry.listCameras(fleetId, vehicleId);
      return c.json({ cameras: cameras.map(cameraView) }, 200);
    },
  );

  app.openapi(
    secured(
      secure,
      access.fleet(["admin", "operator"]),
      createRoute({
        method: "post",
        path: "/api/v1/fleets/{fleetId}/vehicles/{vehicleId}/cameras",
        tags: ["cameras"],
        summary: "Add a camera to a vehicle",
        request: {
          params: VehicleParams,
          ...jsonBody(z.object({ name: CameraNameSchema }).strict()),
        },
        responses: {
          201: jsonResponse(CameraView, "Added"),
          409: { description: "The vehicle has a camera of that name" },
        },
      }),
    ),
    async (c) => {
      const { fleetId, vehicleId } = c.req.valid("param");
      const camera = await registry.addCamera(fleetId, vehicleId, c.req.valid("json").name);
      return c.json(cameraView(camera), 201);
    },
  );

  app.openapi(
    secured(
      secure,
      access.fleet(["admin", "operator"]),
      createRoute({
        method: "patch",
        path: "/api/v1/fleets/{fleetId}/vehicles/{vehicleId}/cameras/{cameraId}",
        tags: ["cameras"],
        summary: "Label a camera",
        description:
          "Sets what operators call the camera (the pages show it, else the name); null or an empty label clears it. The name, which the agent uploads under, does not change.",
        request: {
          params: CameraParams,
          ...jsonBody(
            z.object({
              label: z.string().max(64).nullable().openapi({
                description:
                  'What operators call the camera: 1-64 printable characters; null or "" clears it',
                example: "Door, rear",
              }),
            }).strict(),
          ),
        },
        responses: { 200: jsonResponse(CameraView, "Labelled") },
      }),
    ),
    async (c) => {
      const { fleetId, vehicleId, cameraId } = c.req.valid("param");
      const camera = await registry.labelCamera(
        fleetId,
        vehicleId,
        cameraId,
        c.req.valid("json").label,
      );
      return c.json(cameraView(camera), 200);
    },
  );

  app.openapi(
    secured(
      secure,
      access.fleet(["admin", "operator"]),
      createRoute({
        method: "delete",
        path: "/api/v1/fleets/{fleetId}/vehicles/{vehicleId}/cameras/{cameraId}",
        tags: ["cameras"],
        summary: "Remove a camera",
        description:
          "Its recordings go with it from the catalog at once (no playlist, clip or link reaches them any more); their segment objects stay in the object store, outside retention, until removed there.",
        request: { params: CameraParams },
        responses: { 204: { description: "Removed" } },
      }),
    ),
    async (c) => {
      const { fleetId, vehicleId, cameraId } = c.req.valid("param");
      await registry.deleteCamera(fleetId, vehicleId, cameraId);
      return c.body(null, 204);
    },
  );
}
