/** Every route of the server, registered on one app with its middleware and error handling. */
import { cors } from "hono/cors";
import {
  AllowedMethods,
  type ApiApp,
  compression,
  createApiApp,
  handleError,
  observe,
  optionsRequest,
  securityHeaders,
  serverTime,
  unmatchedRequest,
} from "../lib/http/mod.ts";
import { registerAuthRoutes } from "./api/v1/auth.ts";
import { addExamples } from "./api/v1/examples.ts";
import { registerCameraRoutes } from "./api/v1/cameras.ts";
import { registerDeviceRoutes } from "./api/v1/device.ts";
import { registerEventRoutes } from "./api/v1/events.ts";
import { registerFleetRoutes } from "./api/v1/fleets.ts";
import { registerIngestRoutes } from "./api/v1/ingest.ts";
import { registerLiveRoutes } from "./api/v1/live.ts";
import { registerPlaybackRoutes } from "./api/v1/playback.ts";
import { registerRecordingRoutes } from "./api/v1/recordings.ts";
import { registerUploadPolicyRoutes } from "./api/v1/upload_policies.ts";
import { registerUserRoutes } from "./api/v1/users.ts";
import { registerVehicleRoutes } from "./api/v1/vehicles.ts";
import { registerUsageRoutes } from "./api/v1/usage.ts";
import { registerStatusRoutes } from "./api/v1/status.ts";
import { registerSystemHealthRoutes } from "./api/v1/system_health.ts";
import type { RouteDeps } from "./deps.ts";
import { registerMediaRoutes } from "./media.ts";
import { registerSystemRoutes } from "./system.ts";
import { servedRoles } from "./roles.ts";
import { registerUiRoutes } from "./ui/mod.ts";

export type { ReadinessCheck, RouteDeps } from "./deps.ts";
export { roleOfPath } from "./roles.ts";
export { isUiPath } from "./ui/mod.ts";

/** Path of the generated OpenAPI 3.1 document. */
export const OPENAPI_PATH = "/api/v1/openapi.json";

/** Builds the server's app: middleware, every route, the OpenAPI document, error handling. */
export function createApp(deps: RouteDeps): ApiApp {
  const app = createApiApp();
  // What each path answers comes from the routes registered below: OPTIONS and CORS preflights
  // list them, and a request no route takes is 405 with Allow when the path answers others.
  const allowed = new AllowedMethods(app);
  app.use("*", optionsRequest(allowed));
  // Credentials are bearer tokens or signed URLs, never cookies, so any origin may call: web
  // players (hls.js, dash.js) and fleet operators' own apps on their own domains.
  app.use(
    "*",
    cors({
      origin: "*",
      allowHeaders: [
        "Authorization",
        "Content-Type",
        "Content-Digest",
        "Range",
        "If-None-Match",
        "If-Match",
      ],
      // WHEP players read Location (the session) and Link (ICE servers) cross-origin.
      exposeHeaders: [
        "Content-Length",
        "Content-Range",
        "ETag",
        "Accept-Ranges",
        "X-Request-Id",
        "Location",
        "Link",
      ],
      allowMethods: (_origin, c) => allowed.of(c.req.path),
      maxAge: 86_400,
    }),
  );
  app.use(
    "*",
    observe({ logger: deps.logger, metrics: deps.metrics, proxyHops: deps.config.proxyHops }),
  );
  app.use("*", securityHeaders({ tls: deps.config.tls !== undefined }));
  // Pages and JSON built per request go out brotli or gzip; streams and media as they are.
  app.use("*", compression());
  app.use("*", servedRoles(deps.config.roles));
  // Vehicles set their clocks' offset from it (vehicle/server_clock.ts).
  app.use("/api/v1/device/*", serverTime());
  app.use("/api/v1/ingest/*", serverTime());
  registerSystemRoutes(app, deps);
  registerAuthRoutes(app, deps);
  registerFleetRoutes(app, deps);
  registerUserRoutes(app, deps);
  registerVehicleRoutes(app, deps);
  registerUsageRoutes(app, deps);
  registerStatusRoutes(app, deps);
  registerSystemHealthRoutes(app, deps);
  registerCameraRoutes(app, deps);
  registerUploadPolicyRoutes(app, deps);
  registerEventRoutes(app, deps);
  registerDeviceRoutes(app, deps);
  registerIngestRoutes(app, deps);
  registerRecordingRoutes(app, deps);
  registerPlaybackRoutes(app, deps);
  registerLiveRoutes(app, deps);
  registerMediaRoutes(app, deps);
  registerUiRoutes(app, deps);
  addExamples(app.openAPIRegistry);
  app.doc31(OPENAPI_PATH, {
    openapi: "3.1.0",
    info: {
      title: "Motorcade API",
      version: "1.0.0",
      description: "Live and recorded video from vehicle fleets.",
    },
    servers: [{ url: deps.config.publicUrl }],
  });
  app.notFound(unmatchedRequest(allowed));
  app.onError(handleError(deps.logger));
  return app;
}
