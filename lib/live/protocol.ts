/**
 * The live signaling protocol over WebSocket: JSON text messages, each with a `type`. Viewers and
 * vehicles authenticate with their first message; every later message is checked against these
 * schemas, and anything else gets an `error` with a code (the README documents all of them).
 */
import { z } from "zod";

/** Largest message accepted, in bytes (an SDP is a few KiB). */
export const MAX_MESSAGE_BYTES = 64 * 1024;

const Id = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1-64 letters, digits, _ or -");
const Sdp = z.string().min(10).max(MAX_MESSAGE_BYTES).refine((s) => s.startsWith("v=0"), {
  message: 'must be an SDP starting with "v=0"',
});
const Candidate = z.object({
  candidate: z.string().max(1024),
  sdpMid: z.string().max(64).nullish(),
  sdpMLineIndex: z.number().int().min(0).max(64).nullish(),
}).nullable();
const Count = z.number().int().nonnegative().max(1e12);
const Seconds = z.number().nonnegative().max(1e9);
/** Qualities a viewer may ask for: `auto` lets the ABR controller decide. */
export const Quality = z.enum(["auto", "low", "medium", "high"]);
export type Quality = z.infer<typeof Quality>;

/** The first message on a connection. */
export const AuthMessage = z.object({
  type: z.literal("auth"),
  token: z.string().min(1).max(8192),
  /** Vehicles only: 3 when they publish three sizes themselves (vehicle-side simulcast). */
  layers: z.union([z.literal(1), z.literal(3)]).optional(),
  /** Vehicles only: each camera's picture size, from which the server derives its ladder. */
  cameras: z.array(z.object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, "must be a camera name"),
    width: z.number().int().min(16).max(8192),
    height: z.number().int().min(16).max(8192),
  })).max(64).optional(),
});

/** What a viewer sends. */
export const ViewerMessage = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("watch"),
    id: Id,
    /** Required for platform owners; a fleet's users may leave it out. */
    fleetId: Id.optional(),
    vehicleId: Id,
    /** The camera's id (`cam_…`), as playback takes it; this or `camera`. */
    cameraId: z.string().regex(/^cam_[0-9a-z]{20}$/, "must be a camera id").optional(),
    /** Deprecated: the camera's name (`front`); send `cameraId`. */
    camera: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, "must be a camera name").optional(),
    quality: Quality.default("auto"),
  }),
  z.object({ type: z.literal("answer"), id: Id, sdp: Sdp }),
  z.object({ type: z.literal("candidate"), id: Id, candidate: Candidate }),
  z.object({ type: z.literal("quality"), id: Id, quality: Quality }),
  z.object({ type: z.literal("bye"), id: Id }),
  z.object({
    type: z.literal("stats"),
    id: Id,
    /** Cumulative counters of the viewer's inbound video (RTCInboundRtpStreamStats). */
    framesDecoded: Count.optional(),
    framesDropped: Count.optional(),
    /** Its receive-side bandwidth estimate (candidate pair's availableIncomingBitrate), bit/s. */
    availableBitrate: z.number().nonnegative().max(1e11).optional(),
    bytesReceived: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
    packetsLost: z.number().int().min(-1e12).max(1e12).optional(),
    nackCount: Count.optional(),
    freezeCount: Count.optional(),
    /** Seconds. */
    totalFreezesDuration: Seconds.optional(),
    /** Seconds, summed over the frames the jitter buffer emitted. */
    jitterBufferDelay: Seconds.optional(),
    jitterBufferEmittedCount: Count.optional(),
  }),
  z.object({
    type: z.literal("delay"),
    id: Id,
    /** The queue on the viewer's link: its frames' one-way delay above its least (ms). */
    queueMs: z.number().nonnegative().max(600_000),
    /** How fast that queue grows, in seconds per second, over the last few hundred ms. */
    growth: z.number().min(-1_000).max(1_000),
  }),
  z.object({ type: z.literal("ping") }),
]);
export type ViewerMessage = z.infer<typeof ViewerMessage>;

/** What a vehicle sends. */
export const VehicleMessage = z.discriminatedUnion("type", [
  z.object({ type: z.literal("offer"), id: Id, sdp: Sdp }),
  z.object({ type: z.literal("candidate"), id: Id, candidate: Candidate }),
  z.object({ type: z.literal("unpublished"), id: Id, reason: z.string().max(500) }),
  z.object({ type: z.literal("ping") }),
]);
export type VehicleMessage = z.infer<typeof VehicleMessage>;

/** Error codes sent in `error` messages. */
export type SignalingErrorCode =
  | "bad_message" // not JSON, unknown type, or a field is invalid
  | "too_large" // over MAX_MESSAGE_BYTES
  | "rate_limited" // too many messages
  | "unauthorized" // missing, invalid or expired token
  | "not_found" // no such vehicle or camera in the viewer's fleet
  | "forbidden" // the principal may not do this (e.g. a vehicle watching)
  | "unknown_watch" // a message names a watch id that is not open
  | "duplicate_watch" // a watch id already in use on this connection
  | "too_many_watches" // more watches open than allowed on one connection
  | "token_expired" // the token expired: send a fresh `auth` within 10 s, or be closed (4001)
  | "revoked" // the session or credential was revoked: closed (4003)
  | "too_many_connections" // over the per-user or per-vehicle socket cap: closed (1008)
  | "unavailable" // Janus is down or the vehicle did not publish in time
  | "internal";

/** An error message's body. */
export function errorMessage(code: SignalingErrorCode, message: string, id?: string) {
  return { type: "error", code, message, ...(id ? { id } : {}) };
}

/** Turns zod issues into one readable line. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => {
    const path = issue.path.join(".");
    return path ? `${path}: ${issue.message}` : issue.message;
  }).join("; ");
}
