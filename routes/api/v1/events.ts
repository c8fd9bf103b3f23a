import { createRoute, z } from "@hono/zod-openapi";
import { access, deviceOf, userOf } from "../../../lib/auth/mod.ts";
import type { EventRule, VehicleEvent } from "../../../lib/catalog/mod.ts";
import {
  EVENT_KIND_PATTERN,
  EVENT_METADATA_MAX_BYTES,
  EVENT_RULES_MAX,
} from "../../../lib/events/mod.ts";
import { IdSchema } from "../../../lib/fleet/mod.ts";
import { type ApiApp, secured } from "../../../lib/http/mod.ts";
import type { RouteDeps } from "../../deps.ts";
import { TimeParam } from "./recordings.ts";
import { jsonBody, jsonResponse } from "./views.ts";

const ALL = ["admin", "operator", "viewer"] as const;
const FLEET = "/api/v1/fleets/{fleetId}";
const FleetParams = z.object({ fleetId: IdSchema });
const VehicleParams = FleetParams.extend({ vehicleId: IdSchema });
const DAY_MS = 86_400_000;

const Kind = z.string().regex(EVENT_KIND_PATTERN, "must be lower case letters, digits, . _ -")
  .openapi({ example: "panic", description: "What happened; fleet rules match on it" });
const Metadata = z.record(z.string(), z.unknown()).openapi({
  description: `Anything the reporter adds, at most ${EVENT_METADATA_MAX_BYTES} bytes of JSON`,
});
const ClientId = z.string().min(1).max(64).regex(/^[\x21-\x7e]+$/, "must be printable ASCII")
  .openapi({
    description: "The reporter's own id of the event: a report repeated with the same id " +
      "(a retried upload) is the same event, not a second one",
  });
const Outcome = z.union([
  z.object({ cameraId: z.string(), recallId: z.string() }),
  z.object({ cameraId: z.string(), error: z.string() }),
]);
const EventView = z.object({
  id: z.string(),
  fleetId: z.string(),
  vehicleId: z.string(),
  kind: z.string(),
  at: z.string().datetime(),
  metadata: z.record(z.string(), z.unknown()).nullable(),
  source: z.enum(["vehicle", "operator"]),
  clientId: z.string().nullable(),
  createdBy: z.string().nullable(),
  createdAt: z.string().datetime(),
  recalls: z.array(Outcome).openapi({
    description: "The recalls the fleet's rule for this kind filed (one per camera), or why " +
      "one could not be (over the quota, too long)",
  }),
}).openapi("VehicleEvent");
const Rule = z.object({
  kind: Kind,
  preSeconds: z.number().int().min(0).openapi({ description: "Recalled before the event" }),
  postSeconds: z.number().int().min(0).openapi({ description: "Recalled after the event" }),
  cameras: z.union([z.literal("all"), z.array(z.string().min(1).max(32)).min(1).max(32)])
    .openapi({ description: "The camera names recalled on the vehicle, or every camera" }),
}).strict().openapi("EventRule");
const Rules = z.object({ rules: z.array(Rule).max(EVENT_RULES_MAX) }).strict().openapi(
  "EventRules",
);

const WebhookBody = z.object({
  url: z.string().url().max(2048).openapi({ example: "https://ops.example.com/motorcade" }),
  rotateSecret: z.boolean().optional().openapi({
    description: "Make a new signing secret (the old one stops at once); absent: keep it",
  }),
}).strict();
const WebhookView = z.object({
  url: z.string(),
  secret: z.string().nullable().openapi({
    description: "The signing secret, shown only in the answer that made it (the first PUT, " +
      "or one with rotateSecret); null otherwise",
  }),
  updatedAt: z.string().datetime(),
}).openapi("FleetWebhook");

const eventView = (e: VehicleEvent) => ({
  id: e.id,
  fleetId: e.fleetId,
  vehicleId: e.vehicleId,
  kind: e.kind,
  at: new Date(e.atMs).toISOString(),
  metadata: e.metadata,
  source: e.source,
  clientId: e.clientId,
  createdBy: e.createdBy,
  createdAt: e.createdAt.toISOString(),
  recalls: e.recalls ?? [],
});

/**
 * Vehicle events (from the vehicle and from operators), the fleet's event rules, and the fleet's
 * webhook told of finished recalls.
 */
export function registerEventRoutes(
  app: ApiApp,
  { events, fleetWebhooks, secure }: RouteDeps,
) {
  app.openapi(
    secured(
      secure,
      access.device(),
      createRoute({
        method: "post",
        path: "/api/v1/device/events",
        tags: ["device"],
        summary: "Report an event of the vehicle (a panic button, a telematics trigger)",
        description: "The fleet's rule for the kind, if any, files its recalls at once. " +
          "Repeating a report with the same id answers the event recorded the first time (200).",
        request: {
          ...jsonBody(
            z.object({ id: ClientId, kind: Kind, at: TimeParam, metadata: Metadata.optional() })
              .strict(),
          ),
        },
        responses: {
          201: jsonResponse(EventView, "Recorded"),
          200: jsonResponse(EventView, "Already recorded under this id"),
        },
      }),
    ),
    async (c) => {
      const device = deviceOf(c);
      const body = c.req.valid("json");
      const { event, created } = await events.report(device.fleetId, device.vehicleId, "vehicle", {
        kind: body.kind,
        atMs: Date.parse(body.at),
        metadata: body.metadata ?? null,
        clientId: body.id,
      });
      return created ? c.json(eventView(event), 201) : c.json(eventView(event), 200);
    },
  );

  app.openapi(
    secured(
      secure,
      access.fleet(["admin", "operator"]),
      createRoute({
        method: "post",
        path: `${FLEET}/vehicles/{vehicleId}/events`,
        tags: ["events"],
        summary: "Report an event of a vehicle as an operator",
        description: "As a vehicle's own report: the fleet's rule for the kind files its recalls.",
        request: {
          params: VehicleParams,
          ...jsonBody(
            z.object({
              kind: Kind,
              at: TimeParam.optional().openapi({ description: "Absent: now" }),
              metadata: Metadata.optional(),
              id: ClientId.optional(),
            }).strict(),
          ),
        },
        responses: {
          201: jsonResponse(EventView, "Recorded"),
          200: jsonResponse(EventView, "Already recorded under this id"),
        },
      }),
    ),
    async (c) => {
      const { fleetId, vehicleId } = c.req.valid("param");
      const body = c.req.valid("json");
      const { event, created } = await events.report(fleetId, vehicleId, "operator", {
        kind: body.kind,
        atMs: body.at ? Date.parse(body.at) : Date.now(),
        metadata: body.metadata ?? null,
        clientId: body.id ?? null,
      }, userOf(c).userId);
      return created ? c.json(eventView(event), 201) : c.json(eventView(event), 200);
    },
  );

  app.openapi(
    secured(
      secure,
      access.fleet([...ALL]),
      createRoute({
        method: "get",
        path: `${FLEET}/vehicles/{vehicleId}/events`,
        tags: ["events"],
        summary: "The vehicle's events in a time range, oldest first (at most 1000)",
        request: {
          params: VehicleParams,
          query: z.object({
            from: TimeParam.optional().openapi({ description: "Absent: a day before `to`" }),
            to: TimeParam.optional().openapi({ description: "Exclusive; absent: now" }),
            kind: Kind.optional(),
          }),
        },
        responses: { 200: jsonResponse(z.object({ events: z.array(EventView) }), "Events") },
      }),
    ),
    async (c) => {
      const { fleetId, vehicleId } = c.req.valid("param");
      const query = c.req.valid("query");
      const toMs = query.to ? Date.parse(query.to) : Date.now();
      const fromMs = query.from ? Date.parse(query.from) : toMs - DAY_MS;
      const list = await events.list(fleetId, vehicleId, { fromMs, toMs, kind: query.kind });
      return c.json({ events: list.map(eventView) }, 200);
    },
  );

  app.openapi(
    secured(
      secure,
      access.fleet([...ALL]),
      createRoute({
        method: "get",
        path: `${FLEET}/event-rules`,
        tags: ["events"],
        summary: "The fleet's event rules",
        request: { params: FleetParams },
        responses: { 200: jsonResponse(Rules, "The rules") },
      }),
    ),
    async (c) => c.json({ rules: await events.rules(c.req.valid("param").fleetId) }, 200),
  );

  app.openapi(
    secured(
      secure,
      access.fleet(["admin"]),
      createRoute({
        method: "put",
        path: `${FLEET}/event-rules`,
        tags: ["events"],
        summary: "Replace the fleet's event rules",
        description: "Each rule turns an event of its kind into a recall of " +
          "[at − preSeconds, at + postSeconds] on the cameras it names. One rule per kind; " +
          "preSeconds + postSeconds is at most the fleet's recallMaxSeconds.",
        request: { params: FleetParams, ...jsonBody(Rules) },
        responses: { 200: jsonResponse(Rules, "Set") },
      }),
    ),
    async (c) => {
      const rules = await events.setRules(
        c.req.valid("param").fleetId,
        c.req.valid("json").rules as EventRule[],
      );
      return c.json({ rules }, 200);
    },
  );

  app.openapi(
    secured(
      secure,
      access.fleet(["admin"]),
      createRoute({
        method: "get",
        path: `${FLEET}/webhook`,
        tags: ["events"],
        summary: "The fleet's webhook (its secret is not shown again)",
        request: { params: FleetParams },
        responses: {
          200: jsonResponse(WebhookView, "The webhook"),
          404: { description: "The fleet has no webhook of its own" },
        },
      }),
    ),
    async (c) => {
      const webhook = await fleetWebhooks.get(c.req.valid("param").fleetId);
      return c.json(
        { url: webhook.url, secret: null, updatedAt: webhook.updatedAt.toISOString() },
        200,
      );
    },
  );

  app.openapi(
    secured(
      secure,
      access.fleet(["admin"]),
      createRoute({
        method: "put",
        path: `${FLEET}/webhook`,
        tags: ["events"],
        summary: "Set where the fleet's finished recalls are posted",
        description: "Each finished recall (complete, partial, expired, cancelled) is POSTed as " +
          'JSON `{type: "recall.finished", recall}` with `Motorcade-Signature: t=<unix>,v1=<hex ' +
          'HMAC-SHA256 of "<t>.<body>" with the secret>`, at least once (`Motorcade-Delivery` ' +
          "is the recall id), retried while refused. It replaces the server's RECALL_WEBHOOK_URL " +
          "for this fleet. The secret is shown once, in this answer.",
        request: { params: FleetParams, ...jsonBody(WebhookBody) },
        responses: { 200: jsonResponse(WebhookView, "Set") },
      }),
    ),
    async (c) => {
      const body = c.req.valid("json");
      const { webhook, secret } = await fleetWebhooks.set(c.req.valid("param").fleetId, body.url, {
        rotateSecret: body.rotateSecret,
      });
      return c.json({ url: webhook.url, secret, updatedAt: webhook.updatedAt.toISOString() }, 200);
    },
  );

  app.openapi(
    secured(
      secure,
      access.fleet(["admin"]),
      createRoute({
        method: "delete",
        path: `${FLEET}/webhook`,
        tags: ["events"],
        summary: "Remove the fleet's webhook",
        request: { params: FleetParams },
        responses: {
          204: { description: "Removed" },
          404: { description: "The fleet has no webhook of its own" },
        },
      }),
    ),
    async (c) => {
      await fleetWebhooks.remove(c.req.valid("param").fleetId);
      return c.body(null, 204);
    },
  );
}
