import { createRoute, z } from "@hono/zod-openapi";
import { access, DEVICE_TOKEN_PATH, deviceOf } from "../../../lib/auth/mod.ts";
import { presenceOf } from "../../../lib/fleet/mod.ts";
import { type ApiApp, secured } from "../../../lib/http/mod.ts";
import type { RouteDeps } from "../../deps.ts";
import {
  CameraView,
  cameraView,
  jsonBody,
  jsonResponse,
  VehicleView,
  vehicleView,
} from "./views.ts";

const PublicJwk = z.object({
  kty: z.literal("EC"),
  crv: z.literal("P-256"),
  x: z.string().min(1).max(100),
  y: z.string().min(1).max(100),
  alg: z.literal("ES256").optional(),
  kid: z.string().max(200).optional(),
  use: z.literal("sig").optional(),
  key_ops: z.array(z.string()).max(4).optional(),
  ext: z.boolean().optional(),
}).strict().openapi("DevicePublicKey");

const Timestamp = z.string().datetime({ offset: true });
const Count = z.number().int().min(0);

/** What a vehicle agent reports in each heartbeat. */
export const HeartbeatBody = z.object({
  sentAt: Timestamp,
  uptimeS: z.number().min(0),
  clock: z.object({
    state: z.enum(["ok", "jumped"]),
    lastJumpAt: Timestamp.nullable(),
    jumps: Count,
    aheadMs: z.number().int().nullable().optional(),
  }).strict(),
  cameras: z.array(
    z.object({
      camera: z.string().max(32),
      recordingId: z.string().max(64).nullable(),
      capturing: z.boolean(),
      queueDepth: Count,
      bytesPending: Count,
      lastUploadAt: Timestamp.nullable(),
      evictedSegments: Count,
      evictedBytes: Count,
      quarantined: Count,
      captureClock: z.object({
        state: z.enum(["ok", "reanchored"]),
        reanchors: Count,
        driftMs: z.number().int().nullable(),
        correctionMs: z.number().int(),
        lastReanchorAt: Timestamp.nullable(),
      }).strict().optional().openapi({
        description: "Segment times kept on the capture clock: re-anchors when media time drifted",
      }),
    }).strict(),
  ).max(32),
  instructionsVersion: z.string().max(64).nullable().optional().openapi({
    description: "Version of the instructions the agent applies; null: none yet",
  }),
  inventory: z.array(
    z.object({
      camera: z.string().max(32),
      rendition: z.enum(["full", "proxy"]),
      ranges: z.array(z.tuple([z.number().int().min(0), z.number().int().min(0)])).max(512)
        .openapi({ description: "What the vehicle holds: [fromMs, toMs] epoch ms, ascending" }),
    }).strict(),
  ).max(64).optional().openapi({
    description: "What the vehicle holds, per camera and rendition (replaces the last report)",
  }),
  recalls: z.array(
    z.object({
      id: z.string().max(64),
      state: z.enum(["pending", "uploading", "done"]),
      segmentsTotal: Count,
      segmentsDone: Count,
      bytesTotal: Count,
      bytesDone: Count,
      missing: z.array(
        z.object({
          from: Timestamp,
          to: Timestamp,
          reason: z.enum(["evicted", "not-recorded"]),
        }).strict(),
      ).max(512),
    }).strict(),
  ).max(64).optional().openapi({ description: "Progress of the recalls the vehicle works on" }),
}).strict().openapi("Heartbeat");

const UploadMode = z.enum(["continuous", "proxy", "on-request"]);
const ProxySettings = z.object({ height: z.number().int(), bitrateKbps: z.number().int() });
/** What the server asks of a vehicle: its cameras' upload policies and the recalls to fulfil. */
export const InstructionsView = z.object({
  version: z.string().openapi({ description: "Changes whenever anything else here changes" }),
  segmentSeconds: z.number().nullable().openapi({
    description: "The fleet's segment length; null: the agent's own",
  }),
  cameras: z.array(z.object({ camera: z.string(), mode: UploadMode, proxy: ProxySettings })),
  defaultPolicy: z.object({ mode: UploadMode, proxy: ProxySettings }).openapi({
    description: "For cameras not listed",
  }),
  recalls: z.array(
    z.object({
      id: z.string(),
      camera: z.string(),
      from: z.string().datetime(),
      to: z.string().datetime(),
    }),
  ).openapi({
    description: "Every recall to work on; one the vehicle holds that is not listed is dropped",
  }),
}).openapi("Instructions");

/** How vehicles enrol, obtain device tokens and learn about themselves. */
export function registerDeviceRoutes(
  app: ApiApp,
  { identity, registry, catalog, secure, config, recalls, instructions }: RouteDeps,
) {
  app.openapi(
    secured(
      secure,
      access.public(),
      createRoute({
        method: "post",
        path: "/api/v1/device/enrol",
        tags: ["device"],
        summary: "Redeem a one-time enrolment code with the vehicle's ES256 public key",
        description: "The code is the credential here; it works once and expires.",
        request: jsonBody(
          z.object({ code: z.string().min(1).max(64), publicKey: PublicJwk }).strict(),
        ),
        responses: {
          201: jsonResponse(
            z.object({
              credentialId: z.string(),
              vehicleId: z.string(),
              fleetId: z.string(),
              tokenEndpoint: z.string(),
              assertionAudience: z.string().openapi({
                description: "The `aud` every token-request assertion must carry",
              }),
            }),
            "Enrolled: sign assertions with iss = sub = credentialId",
          ),
          409: { description: "Code unknown, expired, revoked or already used" },
        },
      }),
    ),
    async (c) => {
      const { code, publicKey } = c.req.valid("json");
      const credential = await identity.devices.enrol(code, publicKey as JsonWebKey);
      return c.json({
        credentialId: credential.id,
        vehicleId: credential.vehicleId,
        fleetId: credential.fleetId,
        tokenEndpoint: DEVICE_TOKEN_PATH,
        assertionAudience: identity.devices.assertionAudience,
      }, 201);
    },
  );

  app.openapi(
    secured(
      secure,
      access.public(),
      createRoute({
        method: "post",
        path: DEVICE_TOKEN_PATH,
        tags: ["device"],
        summary: "Exchange a signed assertion for a short-lived device token",
        description:
          "The assertion is an ES256 JWT signed with the enrolled key: iss = sub = credential id, aud = PUBLIC_URL + this path, a unique jti, exp at most 300 s ahead.",
        request: jsonBody(z.object({ assertion: z.string().min(1).max(4096) }).strict()),
        responses: {
          200: jsonResponse(
            z.object({
              tokenType: z.literal("Bearer"),
              accessToken: z.string(),
              expiresIn: z.number().int(),
              vehicleId: z.string(),
              fleetId: z.string(),
            }),
            "Device token",
          ),
          401: {
            description: "The assertion is malformed, expired, replayed or not signed by an " +
              "enrolled, unrevoked key",
          },
        },
      }),
    ),
    async (c) => {
      const issued = await identity.devices.exchange(c.req.valid("json").assertion);
      return c.json({
        tokenType: "Bearer" as const,
        accessToken: issued.token,
        expiresIn: Math.round((issued.expiresAt.getTime() - Date.now()) / 1000),
        vehicleId: issued.credential.vehicleId,
        fleetId: issued.credential.fleetId,
      }, 200);
    },
  );

  app.openapi(
    secured(
      secure,
      access.device(),
      createRoute({
        method: "get",
        path: "/api/v1/device/vehicle",
        tags: ["device"],
        summary: "The calling vehicle and its cameras",
        responses: {
          200: jsonResponse(
            z.object({ vehicle: VehicleView, cameras: z.array(CameraView) }),
            "The vehicle",
          ),
        },
      }),
    ),
    async (c) => {
      const device = deviceOf(c);
      const vehicle = await registry.vehicle(device.fleetId, device.vehicleId);
      const cameras = await registry.listCameras(device.fleetId, device.vehicleId);
      const presence = presenceOf(
        await catalog.vehicleStatus.get(vehicle.id),
        config.vehicleOfflineAfterMs,
      );
      return c.json(
        { vehicle: vehicleView(vehicle, presence), cameras: cameras.map(cameraView) },
        200,
      );
    },
  );

  app.openapi(
    secured(
      secure,
      access.device(),
      createRoute({
        method: "post",
        path: "/api/v1/device/heartbeat",
        tags: ["device"],
        summary: "Report the agent's state: queues, evictions, clock, holdings, recalls",
        description: "Answers the vehicle's instructions (upload policies and recalls).",
        request: jsonBody(HeartbeatBody),
        responses: { 200: jsonResponse(InstructionsView, "Recorded; the vehicle's instructions") },
      }),
    ),
    async (c) => {
      const device = deviceOf(c);
      // What the vehicle holds and its recalls' progress are kept apart from its status.
      const { inventory, recalls: reports, ...heartbeat } = c.req.valid("json");
      const at = new Date();
      await registry.heartbeats.record(device.vehicleId, heartbeat, at);
      if (inventory) await catalog.inventory.replace(device.vehicleId, inventory, at);
      if (reports) await recalls.report(device.vehicleId, reports, at);
      return c.json(await instructions.document(device.fleetId, device.vehicleId), 200);
    },
  );

  app.openapi(
    secured(
      secure,
      access.device(),
      createRoute({
        method: "get",
        path: "/api/v1/device/instructions",
        operationId: "getDeviceInstructions",
        tags: ["device"],
        summary: "The vehicle's instructions, as a long poll",
        description: "Answers at once when the instructions' version differs from `known`, else " +
          "when they change or `wait` seconds pass (then 304). A vehicle holds one long poll: a " +
          "newer one ends the older (304).",
        request: {
          query: z.object({
            known: z.string().max(64).optional().openapi({
              description: "The version the vehicle has; absent: answer at once",
            }),
            wait: z.coerce.number().int().min(0).max(30).optional().openapi({
              description: "Seconds to hold the request (0-30); absent: 25",
            }),
          }),
        },
        responses: {
          200: jsonResponse(InstructionsView, "The instructions, changed"),
          304: { description: "Unchanged after `wait` seconds" },
        },
      }),
    ),
    async (c) => {
      const device = deviceOf(c);
      const { known, wait } = c.req.valid("query");
      const document = await instructions.wait(
        device.fleetId,
        device.vehicleId,
        known,
        (wait ?? 25) * 1000,
        c.req.raw.signal,
      );
      return document ? c.json(document, 200) : c.body(null, 304);
    },
  );
}
