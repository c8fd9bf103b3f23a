import { z } from "@hono/zod-openapi";
import type { Camera, DeviceCredential, Fleet, User, Vehicle } from "../../../lib/catalog/mod.ts";
import type { Enrolment, Presence } from "../../../lib/fleet/mod.ts";

/** JSON shapes of the API's entities, and the functions that produce them. */

export const FleetView = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: z.string().datetime(),
  retentionDays: z.number().int().nullable().openapi({
    description:
      "Days recordings are kept; older ones are deleted in the background. null: kept forever",
  }),
  timeZone: z.string().openapi({
    description: "IANA time zone for the fleet's times (UTC unless set)",
  }),
  segmentSeconds: z.number().nullable().openapi({
    description:
      "Default segment length; null: the agent's own (applied by issue 12's policy delivery)",
  }),
  liveLadder: z.string().nullable().openapi({
    description: "Live quality ladder (LIVE_LADDER syntax); null: the server's",
  }),
}).openapi("Fleet");

export const UserView = z.object({
  id: z.string(),
  email: z.string(),
  role: z.enum(["owner", "admin", "operator", "viewer"]),
  fleetId: z.string().nullable(),
  disabled: z.boolean(),
  createdAt: z.string().datetime(),
}).openapi("User");

export const VehicleView = z.object({
  id: z.string(),
  fleetId: z.string(),
  name: z.string(),
  createdAt: z.string().datetime(),
  online: z.boolean().openapi({
    description:
      "A heartbeat arrived within VEHICLE_OFFLINE_AFTER (default 90 s: 3 × the agent's 30 s heartbeat)",
  }),
  lastSeenAt: z.string().datetime().nullable().openapi({
    description: "When the vehicle's last heartbeat arrived; null before the first",
  }),
}).openapi("Vehicle");

export const CameraView = z.object({
  id: z.string(),
  vehicleId: z.string(),
  name: z.string().openapi({
    description: "The agent's key for the camera (uploads and heartbeats use it); never changes",
  }),
  label: z.string().nullable().openapi({
    description: "What operators call the camera; null: shown by its name",
    example: "Door, rear",
  }),
  createdAt: z.string().datetime(),
}).openapi("Camera");

export const CredentialView = z.object({
  id: z.string(),
  vehicleId: z.string(),
  state: z.enum(["awaiting-enrolment", "enrolment-expired", "active", "revoked"]),
  enrolmentExpiresAt: z.string().datetime(),
  enrolledAt: z.string().datetime().nullable(),
  revokedAt: z.string().datetime().nullable(),
  createdAt: z.string().datetime(),
}).openapi("DeviceCredential");

export const EnrolmentView = z.object({
  credential: CredentialView,
  code: z.string().openapi({ description: "One-time enrolment code; shown only in this response" }),
  command: z.string().optional().openapi({
    description: "The exact command to run on the vehicle (the agent's `enrol`)",
    example:
      "deno task vehicle enrol --server https://motorcade.example.com --code mce_4W6x… --state /var/lib/motorcade",
  }),
}).openapi("Enrolment");

/** Where a vehicle stands with its credentials: `enrolled` holds an active one. */
export const EnrolmentStateView = z.object({
  state: z.enum(["enrolled", "pending", "none"]).openapi({
    description:
      "enrolled: an active credential; pending: an enrolment code not yet redeemed nor expired; none: neither (issue a new code)",
  }),
  enrolledAt: z.string().datetime().nullable(),
  pendingUntil: z.string().datetime().nullable().openapi({
    description: "When the newest pending code expires",
  }),
}).openapi("EnrolmentState");

/** The enrolment state from a vehicle's credentials. */
export const enrolmentStateView = (credentials: DeviceCredential[], now = new Date()) => {
  const views = credentials.map((c) => credentialView(c, now));
  const active = views.filter((c) => c.state === "active");
  const pending = views.filter((c) => c.state === "awaiting-enrolment");
  return {
    state: active.length
      ? "enrolled" as const
      : pending.length
      ? "pending" as const
      : "none" as const,
    enrolledAt: active.map((c) => c.enrolledAt!).sort().at(-1) ?? null,
    pendingUntil: pending.map((c) => c.enrolmentExpiresAt).sort().at(-1) ?? null,
  };
};

/** The agent command that redeems `code` against the server at `serverUrl`. */
export const enrolCommand = (serverUrl: string, code: string) =>
  `deno task vehicle enrol --server ${serverUrl} --code ${code} --state /var/lib/motorcade`;

const iso = (d: Date | null) => d && d.toISOString();

export const fleetView = (f: Fleet) => ({
  id: f.id,
  name: f.name,
  createdAt: iso(f.createdAt)!,
  retentionDays: f.retentionDays,
  timeZone: f.timeZone ?? "UTC",
  segmentSeconds: f.segmentSeconds,
  liveLadder: f.liveLadder,
});

export const userView = (u: User) => ({
  id: u.id,
  email: u.email,
  role: u.role,
  fleetId: u.fleetId,
  disabled: u.disabled,
  createdAt: iso(u.createdAt)!,
});

export const vehicleView = (
  v: Vehicle,
  presence: Presence = { online: false, lastSeenAt: null },
) => ({
  id: v.id,
  fleetId: v.fleetId,
  name: v.name,
  createdAt: iso(v.createdAt)!,
  online: presence.online,
  lastSeenAt: iso(presence.lastSeenAt),
});

export const cameraView = (c: Camera) => ({
  id: c.id,
  vehicleId: c.vehicleId,
  name: c.name,
  label: c.label,
  createdAt: iso(c.createdAt)!,
});

export const credentialView = (c: DeviceCredential, now = new Date()) => ({
  id: c.id,
  vehicleId: c.vehicleId,
  state: c.revokedAt
    ? "revoked" as const
    : c.enrolledAt
    ? "active" as const
    : c.enrolmentExpiresAt <= now
    ? "enrolment-expired" as const
    : "awaiting-enrolment" as const,
  enrolmentExpiresAt: iso(c.enrolmentExpiresAt)!,
  enrolledAt: iso(c.enrolledAt),
  revokedAt: iso(c.revokedAt),
  createdAt: iso(c.createdAt)!,
});

export const enrolmentView = (e: Enrolment, serverUrl?: string) => ({
  credential: credentialView(e.credential),
  code: e.code,
  ...(serverUrl ? { command: enrolCommand(serverUrl, e.code) } : {}),
});

/** A JSON request body with a strict schema: unknown fields are refused. */
export const jsonBody = <T extends z.ZodType>(schema: T, description?: string) => ({
  body: { required: true, description, content: { "application/json": { schema } } },
});

/** A JSON response. */
export const jsonResponse = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});
