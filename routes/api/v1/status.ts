import { createRoute, z } from "@hono/zod-openapi";
import { access, type AccessChange, userOf } from "../../../lib/auth/mod.ts";
import { TooManyRequestsError } from "../../../lib/errors/mod.ts";
import { FleetStatus, IdSchema, type VehicleStatusSummary } from "../../../lib/fleet/mod.ts";
import { type ApiApp, secured } from "../../../lib/http/mod.ts";
import type { RouteDeps } from "../../deps.ts";
import { VehicleView, vehicleView } from "./views.ts";

const FleetParams = z.object({ fleetId: IdSchema });
const ALL = ["admin", "operator", "viewer"] as const;

/** Status event streams one user may hold open at once; one more is refused with 429. */
export const STATUS_STREAMS_PER_USER = 4;
/** How often an event stream reads the fleet's status (a heartbeat shows within this + query). */
export const STATUS_POLL_MS = 1_000;
/** Keep-alive comment period of an event stream (proxies drop idle connections). */
export const STATUS_KEEPALIVE_MS = 15_000;
/** How often an event stream re-checks its session (at once when access-changed news names it). */
export const STATUS_RECHECK_MS = 10_000;

const iso = (d: Date | null) => d && d.toISOString();

export const CameraStatusView = z.object({
  id: z.string().openapi({ description: "The camera's id: the identifier live and playback take" }),
  name: z.string(),
  label: z.string().nullable().openapi({
    description: "What operators call the camera; null: shown by its name",
  }),
  recording: z.boolean().nullable().openapi({
    description: "Capturing, per the last heartbeat; false when offline; null when not reported",
  }),
  recordingId: z.string().nullable(),
  live: z.enum(["streaming", "ready", "unavailable"]).nullable().openapi({
    description:
      "streaming: watched now; ready: the vehicle is connected and starts on demand; null: live is off on this server",
  }),
  backlog: z.object({
    segments: z.number().int(),
    bytes: z.number().int(),
    lastUploadAt: z.string().datetime({ offset: true }).nullable(),
  }).nullable().openapi({
    description:
      "Segments and bytes waiting on the vehicle, from its last heartbeat (the agent reports no oldest-pending time; lastUploadAt is its last successful upload)",
  }),
  lastSegmentAt: z.string().datetime().nullable().openapi({
    description: "End of the camera's latest recording in the catalog",
  }),
  clock: z.string().nullable().openapi({ description: "Capture clock: ok or reanchored" }),
  bytesToday: z.number().int().openapi({
    description: "Bytes of segments recorded since 00:00 UTC that reached the catalog",
  }),
}).openapi("CameraStatus");

export const VehicleStatusView = z.object({
  vehicle: VehicleView,
  online: z.boolean(),
  lastSeenAt: z.string().datetime().nullable(),
  clock: z.string().nullable().openapi({ description: "Agent clock: ok or jumped" }),
  cameras: z.array(CameraStatusView),
}).openapi("VehicleStatus");

/** The JSON of one vehicle's status. */
export function vehicleStatusView(s: VehicleStatusSummary) {
  return {
    vehicle: vehicleView(s.vehicle, s),
    online: s.online,
    lastSeenAt: iso(s.lastSeenAt),
    clock: s.clock,
    cameras: s.cameras.map((c) => ({
      ...c,
      lastSegmentAt: iso(c.lastSegmentAt),
    })),
  };
}

const EXAMPLE = {
  at: "2026-12-07T08:14:00.000Z",
  onlineAfterMs: 90_000,
  vehicles: [{
    vehicle: {
      id: "veh_0123456789abcdefghij",
      fleetId: "flt_0123456789abcdefghij",
      name: "bus-17",
      createdAt: "2026-11-02T09:00:00.000Z",
      online: true,
      lastSeenAt: "2026-12-07T08:13:41.000Z",
    },
    online: true,
    lastSeenAt: "2026-12-07T08:13:41.000Z",
    clock: "ok",
    cameras: [{
      id: "cam_0123456789abcdefghij",
      name: "front",
      label: "Windscreen",
      recording: true,
      recordingId: "rec-20261207-0700",
      live: "ready",
      backlog: { segments: 3, bytes: 2_400_000, lastUploadAt: "2026-12-07T08:13:40.000Z" },
      lastSegmentAt: "2026-12-07T08:13:36.000Z",
      clock: "ok",
      bytesToday: 812_000_000,
    }],
  }],
};

/** The fleet status in one call, and its live feed of changes (Server-Sent Events). */
export function registerStatusRoutes(app: ApiApp, deps: RouteDeps) {
  const { catalog, registry, config, secure, identity } = deps;
  const status = new FleetStatus({
    catalog,
    registry,
    offlineAfterMs: config.vehicleOfflineAfterMs,
    live: deps.live,
  });
  const streams = new Map<string, number>();

  app.openapi(
    secured(
      secure,
      access.fleet(ALL),
      createRoute({
        method: "get",
        operationId: "getFleetStatus",
        path: "/api/v1/fleets/{fleetId}/status",
        tags: ["vehicles"],
        summary: "Every vehicle of a fleet with online state and per-camera status, in one call",
        description:
          "online: a heartbeat within VEHICLE_OFFLINE_AFTER (default 90 s, 3 × the agent's 30 s heartbeat). Read in a constant number of catalog queries whatever the fleet's size.",
        request: { params: FleetParams },
        responses: {
          200: {
            description: "The fleet's status",
            content: {
              "application/json": {
                schema: z.object({
                  at: z.string().datetime(),
                  onlineAfterMs: z.number().int(),
                  vehicles: z.array(VehicleStatusView),
                }).openapi("FleetStatus"),
                example: EXAMPLE,
              },
            },
          },
        },
      }),
    ),
    async (c) => {
      const now = Date.now();
      const vehicles = await status.fleet(c.req.valid("param").fleetId, now);
      return c.json({
        at: new Date(now).toISOString(),
        onlineAfterMs: config.vehicleOfflineAfterMs,
        vehicles: vehicles.map(vehicleStatusView),
      }, 200);
    },
  );

  app.openapi(
    secured(
      secure,
      access.fleet(ALL),
      createRoute({
        method: "get",
        operationId: "streamFleetStatus",
        path: "/api/v1/fleets/{fleetId}/status/events",
        tags: ["vehicles"],
        summary: "Server-Sent Events: the fleet's status, then each vehicle whose status changes",
        description:
          `First \`event: snapshot\` (the FleetStatus), then \`event: vehicle\` (a VehicleStatus) within ${STATUS_POLL_MS} ms of a change: a heartbeat, online→offline when heartbeats stop, a new segment. \`: keep-alive\` comments every ${
            STATUS_KEEPALIVE_MS / 1000
          } s. \`event: end\` then close when the session is revoked or the fleet deleted. At most ${STATUS_STREAMS_PER_USER} streams per user (429 beyond). Authenticated with the bearer token (read it with fetch() streaming); the page cookie is not accepted, so EventSource, which cannot send headers, is not supported.`,
        request: { params: FleetParams },
        responses: {
          200: {
            description: "An event stream",
            content: {
              "text/event-stream": {
                schema: z.string(),
                example: `event: snapshot\ndata: ${JSON.stringify(EXAMPLE)}\n\n`,
              },
            },
          },
          429: { description: "This user holds the most status streams allowed" },
        },
      }),
    ),
    async (c) => {
      const { fleetId } = c.req.valid("param");
      const principal = userOf(c);
      const held = streams.get(principal.userId) ?? 0;
      if (held >= STATUS_STREAMS_PER_USER) {
        throw new TooManyRequestsError(
          `Cannot open another status stream: this user holds ${held} (at most ${STATUS_STREAMS_PER_USER}); close one first`,
          5,
        );
      }
      const first = await status.fleet(fleetId);
      streams.set(principal.userId, held + 1);
      const encoder = new TextEncoder();
      let stop = () => {};
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          const last = new Map<string, string>();
          const send = (event: string, data: unknown) =>
            controller.enqueue(
              encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`),
            );
          let closed = false;
          let lastKeepAlive = Date.now();
          let lastRecheck = Date.now();
          let busy = false;
          const end = (reason: string) => {
            if (closed) return;
            try {
              send("end", { reason });
              controller.close();
            } catch { /* the client went first */ }
            stop();
          };
          const recheck = () =>
            identity.recheck(principal).catch(() => end("Session has been revoked or has expired"));
          const view = (now: number, vehicles: VehicleStatusSummary[]) => ({
            at: new Date(now).toISOString(),
            onlineAfterMs: config.vehicleOfflineAfterMs,
            vehicles: vehicles.map(vehicleStatusView),
          });
          const snapshot = view(Date.now(), first);
          for (const v of snapshot.vehicles) last.set(v.vehicle.id, JSON.stringify(v));
          send("snapshot", snapshot);
          const tick = async () => {
            if (busy || closed) return;
            busy = true;
            try {
              const now = Date.now();
              if (now - lastRecheck >= STATUS_RECHECK_MS) {
                lastRecheck = now;
                await recheck();
              }
              if (closed) return;
              const vehicles = (await status.fleet(fleetId, now)).map(vehicleStatusView);
              const seen = new Set<string>();
              for (const v of vehicles) {
                seen.add(v.vehicle.id);
                const json = JSON.stringify(v);
                if (last.get(v.vehicle.id) === json) continue;
                last.set(v.vehicle.id, json);
                send("vehicle", v);
              }
              for (const id of [...last.keys()].filter((id) => !seen.has(id))) {
                last.delete(id);
                send("removed", { vehicleId: id });
              }
              if (now - lastKeepAlive >= STATUS_KEEPALIVE_MS) {
                lastKeepAlive = now;
                controller.enqueue(encoder.encode(": keep-alive\n\n"));
              }
            } catch (error) {
              end((error as Error).message);
            } finally {
              busy = false;
            }
          };
          const timer = setInterval(tick, STATUS_POLL_MS);
          const concerns = (change: AccessChange) =>
            (change.subject === "fleet" && change.id === fleetId) ||
            (change.subject === "session" && change.id === principal.sessionId) ||
            (change.subject === "user" && change.id === principal.userId);
          const unsubscribe = identity.changes.subscribe((change) => {
            if (concerns(change)) void recheck().then(() => tick());
          });
          stop = () => {
            if (closed) return;
            closed = true;
            clearInterval(timer);
            unsubscribe();
            const left = (streams.get(principal.userId) ?? 1) - 1;
            if (left > 0) streams.set(principal.userId, left);
            else streams.delete(principal.userId);
          };
        },
        cancel() {
          stop();
        },
      });
      return new Response(body, {
        status: 200,
        headers: {
          "content-type": "text/event-stream; charset=utf-8",
          "cache-control": "no-store",
          "x-accel-buffering": "no",
        },
      });
    },
  );
}
