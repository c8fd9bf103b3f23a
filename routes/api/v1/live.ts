import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { access, bearerToken, deviceOf, signedBearer, userOf } from "../../../lib/auth/mod.ts";
import { NotFoundError, UnavailableError, ValidationError } from "../../../lib/errors/mod.ts";
import { CameraNameSchema, IdSchema } from "../../../lib/fleet/mod.ts";
import { type ApiApp, secured } from "../../../lib/http/mod.ts";
import {
  iceServersFor,
  type LiveService,
  sdpFragCandidates,
  SignalingConnection,
} from "../../../lib/live/mod.ts";
import type { RouteDeps } from "../../deps.ts";
import { jsonBody, jsonResponse } from "./views.ts";
import { deprecationHeader, lifetimeFields, lifetimeSeconds } from "./links.ts";

const CameraParams = z.object({
  fleetId: IdSchema,
  vehicleId: IdSchema,
  cameraId: z.union([IdSchema, CameraNameSchema]).openapi({
    description:
      "The camera's id (`cam_…`), as playback takes it. Deprecated: the camera's name (`front`) is still accepted, answered with `Deprecation: true`.",
    example: "cam_5n1x8c4v2b7m9k3q6w0z",
  }),
});
const Resource = z.object({ resource: z.string().uuid() });
const CAMERA_PATH = "/api/v1/fleets/{fleetId}/vehicles/{vehicleId}/cameras/{cameraId}";
const sdpBody = (description: string) => ({
  body: {
    required: true,
    description,
    content: { "application/sdp": { schema: z.string() } },
  },
});
const ROLES = ["admin", "operator", "viewer"] as const;
/** A WHIP or WHEP session created: the SDP answer, the session in Location. */
const SESSION_CREATED = {
  description: "The SDP answer; Location is the session resource",
  content: { "application/sdp": { schema: z.string() } },
};
const JANUS_DOWN = { description: "Janus is not reachable" };
const LIVE_OFF = { description: "Live streaming is off on this server" };

/** The camera's path, which a live link token signs. */
function cameraPrefix(c: Context): string {
  const p = c.req.param();
  return `/api/v1/fleets/${p.fleetId}/vehicles/${p.vehicleId}/cameras/${p.cameraId}/whep`;
}

/** The SDP offer in a WHIP or WHEP request body; 400 when it is not one. */
async function sdpOffer(c: Context, protocol: "WHIP" | "WHEP"): Promise<string> {
  if (!/^application\/sdp\b/i.test(c.req.header("content-type") ?? "")) {
    throw new ValidationError(`${protocol} offers must be sent as "application/sdp"`);
  }
  const offer = await c.req.text();
  if (!offer.startsWith("v=0")) throw new ValidationError("Body is not an SDP offer");
  return offer;
}

/** Live video: the signaling WebSocket, WHEP for any WebRTC player, and live links. */
export function registerLiveRoutes(app: ApiApp, deps: RouteDeps) {
  const { secure, registry, config, identity, logger } = deps;
  const live = (): LiveService => {
    if (!deps.live) throw new UnavailableError("Live streaming is off on this server (LIVE=off)");
    return deps.live;
  };
  /**
   * The camera a live route names by id (canonical) or by name (deprecated: `deprecated` is then
   * true); 404 when the vehicle has no such camera.
   */
  const findCamera = async (fleetId: string, vehicleId: string, idOrName: string) => {
    const cameras = await registry.listCameras(fleetId, vehicleId);
    const byId = cameras.find((c) => c.id === idOrName);
    const camera = byId ?? cameras.find((c) => c.name === idOrName);
    if (!camera) throw new NotFoundError(`Camera "${idOrName}" not found`);
    return { camera, deprecated: !byId };
  };

  // The signaling WebSocket authenticates with its first message (browsers cannot set headers
  // on a WebSocket), so the upgrade itself is open; see the README for the protocol.
  app.openapi(
    secured(
      secure,
      access.public(),
      createRoute({
        method: "get",
        path: "/api/v1/live/ws",
        tags: ["live"],
        summary: "The live signaling WebSocket (authenticate with the first message; see README)",
        responses: {
          101: { description: "Switched to WebSocket" },
          503: LIVE_OFF,
        },
      }),
    ),
    // deno-lint-ignore no-explicit-any
    ((c: Context): any => {
      const service = live();
      if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
        throw new ValidationError("This endpoint speaks WebSocket: send an Upgrade request");
      }
      const { socket, response } = Deno.upgradeWebSocket(c.req.raw, { idleTimeout: 60 });
      const connection = new SignalingConnection(
        { live: service, identity, registry, logger: logger.child({ component: "signaling" }) },
        { send: (text) => socket.send(text), close: (code, reason) => socket.close(code, reason) },
      );
      socket.onmessage = (event) => connection.onMessage(event.data);
      socket.onclose = () => connection.onClose();
      socket.onerror = () => {};
      return response;
    }) as never,
  );

  app.openapi(
    secured(
      secure,
      access.fleetOrSignedBearer(ROLES, cameraPrefix),
      createRoute({
        method: "post",
        path: `${CAMERA_PATH}/whep`,
        tags: ["live"],
        summary: "Watch a camera live with WHEP (send an SDP offer, get the answer)",
        request: { params: CameraParams, ...sdpBody("The viewer's SDP offer (recvonly H.264)") },
        responses: {
          201: SESSION_CREATED,
          429: { description: "The user holds LIVE_WHEP_PER_USER WHEP sessions already" },
          503: JANUS_DOWN,
        },
      }),
      { maxBodyBytes: 64 * 1024 },
    ),
    async (c) => {
      const { fleetId, vehicleId, cameraId } = c.req.valid("param");
      const offer = await sdpOffer(c, "WHEP");
      const { camera: { name: camera }, deprecated } = await findCamera(
        fleetId,
        vehicleId,
        cameraId,
      );
      const principal = c.get("principal");
      // Without a principal the caller came with a live link: mcs.<exp>.<kid>.<link>.<sig>
      const [exp, , linkId] = principal ? [] : bearerToken(c)!.split(".").slice(1);
      const subject = principal?.kind === "user" ? principal.userId : `link:${linkId}`;
      const { resource, answer } = await live().startWhep(
        { fleetId, vehicleId, camera },
        {
          subject,
          offer,
          quality: (c.req.query("quality") as "auto") ?? "auto",
          principal: principal?.kind === "user" ? principal : undefined,
        },
      );
      if (linkId) {
        identity.urls.links.watch(linkId, Number(exp) * 1000, {
          alive: () => live().whepSession(resource) !== undefined,
          end: () => void live().endWhep(resource).catch(() => {}),
        });
      }
      const location = `/api/v1/live/whep/${resource}`;
      const headers: Record<string, string> = {
        "content-type": "application/sdp",
        location,
        etag: `"${resource}"`,
        ...deprecationHeader(deprecated),
      };
      const servers = await iceServersFor(live().settings.ice, subject);
      const links = servers.flatMap((s) =>
        s.urls.map((u) => {
          const cred = s.username
            ? `; username="${s.username}"; credential="${s.credential}"; credential-type="password"`
            : "";
          return `<${u}>; rel="ice-server"${cred}`;
        })
      );
      if (links.length) headers.link = links.join(", ");
      return c.body(answer, 201, headers);
    },
  );

  app.openapi(
    secured(
      secure,
      access.public(),
      createRoute({
        method: "patch",
        path: "/api/v1/live/whep/{resource}",
        tags: ["live"],
        summary: "Trickle ICE candidates to a WHEP session (the resource id is the credential)",
        request: {
          params: Resource,
          body: {
            required: true,
            content: { "application/trickle-ice-sdpfrag": { schema: z.string() } },
          },
        },
        responses: {
          204: { description: "Candidates passed on" },
          404: { description: "No such WHEP session" },
          503: LIVE_OFF,
        },
      }),
      { maxBodyBytes: 16 * 1024 },
    ),
    async (c) => {
      const session = live().whepSession(c.req.valid("param").resource);
      if (!session) throw new NotFoundError("WHEP session not found");
      // One bundled media section on the Janus side: candidates go to its first m-line.
      for (const { candidate } of sdpFragCandidates(await c.req.text())) {
        await session.candidate({ candidate, sdpMLineIndex: 0 });
      }
      return c.body(null, 204);
    },
  );

  app.openapi(
    secured(
      secure,
      access.public(),
      createRoute({
        method: "delete",
        path: "/api/v1/live/whep/{resource}",
        tags: ["live"],
        summary: "End a WHEP session (the resource id is the credential)",
        request: { params: Resource },
        responses: {
          200: { description: "Ended" },
          404: { description: "No such session" },
          503: LIVE_OFF,
        },
      }),
    ),
    async (c) => {
      if (!await live().endWhep(c.req.valid("param").resource)) {
        throw new NotFoundError("WHEP session not found");
      }
      return c.body(null, 200);
    },
  );

  app.openapi(
    secured(
      secure,
      access.device("vehicleId"),
      createRoute({
        method: "post",
        path: `${CAMERA_PATH}/whip`,
        tags: ["live"],
        summary: "Publish a camera with WHIP (RFC 9725) — an encoder on the vehicle, device token",
        request: { params: CameraParams, ...sdpBody("The publisher's SDP offer (H.264)") },
        responses: {
          201: SESSION_CREATED,
          409: { description: "The camera already has a WHIP publisher" },
          503: JANUS_DOWN,
        },
      }),
      { maxBodyBytes: 64 * 1024 },
    ),
    async (c) => {
      const { fleetId, vehicleId, cameraId } = c.req.valid("param");
      if (deviceOf(c).fleetId !== fleetId) throw new NotFoundError(`Fleet "${fleetId}" not found`);
      const offer = await sdpOffer(c, "WHIP");
      const { camera: { name: camera }, deprecated } = await findCamera(
        fleetId,
        vehicleId,
        cameraId,
      );
      const { resource, answer } = await live().startWhip(
        { fleetId, vehicleId, camera },
        offer,
        deviceOf(c),
      );
      return c.body(answer, 201, {
        "content-type": "application/sdp",
        location: `/api/v1/live/whip/${resource}`,
        etag: `"${resource}"`,
        ...deprecationHeader(deprecated),
      });
    },
  );

  app.openapi(
    secured(
      secure,
      access.public(),
      createRoute({
        method: "delete",
        path: "/api/v1/live/whip/{resource}",
        tags: ["live"],
        summary: "End a WHIP publication (the resource id is the credential)",
        request: { params: Resource },
        responses: {
          200: { description: "Ended" },
          404: { description: "No such session" },
          503: LIVE_OFF,
        },
      }),
    ),
    (c) => {
      if (!live().endWhip(c.req.valid("param").resource)) {
        throw new NotFoundError("WHIP session not found");
      }
      return c.body(null, 200);
    },
  );

  app.openapi(
    secured(
      secure,
      access.fleet(["admin", "operator"]),
      createRoute({
        method: "post",
        path: `${CAMERA_PATH}/live-links`,
        tags: ["live"],
        summary: "A WHEP URL and token for one camera, for a third-party player",
        description:
          "`ttlSeconds` is required (60 s to 30 days; the older `ttl` string is deprecated). The link is recorded with its maker and fleet: revoke it with `DELETE /api/v1/fleets/{fleetId}/links/{id}`; it also ends when its maker is deleted, disabled, leaves the fleet or is no longer an admin or operator.",
        request: {
          params: CameraParams,
          ...jsonBody(
            z.object(lifetimeFields(60, "required")).strict(),
            "How long the link lasts",
          ),
        },
        responses: {
          201: jsonResponse(
            z.object({
              id: z.string(),
              whepUrl: z.string(),
              token: z.string(),
              expiresAt: z.string(),
            }),
            "The link",
          ),
        },
      }),
    ),
    async (c) => {
      const params = c.req.valid("param");
      const { fleetId, vehicleId } = params;
      const found = await findCamera(fleetId, vehicleId, params.cameraId);
      const cameraId = found.camera.id;
      const lifetime = lifetimeSeconds(c.req.valid("json"), 60);
      const expiresAt = new Date(Date.now() + lifetime.seconds * 1000);
      const { id } = await identity.urls.links.create({
        kind: "live",
        camera: { fleetId, vehicleId, cameraId },
        maker: userOf(c),
        expiresAt,
      });
      const path = `/api/v1/fleets/${fleetId}/vehicles/${vehicleId}/cameras/${cameraId}/whep`;
      return c.json(
        {
          id,
          whepUrl: `${config.publicUrl}${path}`,
          token: signedBearer(identity, path, expiresAt, id),
          expiresAt: expiresAt.toISOString(),
        },
        201,
        deprecationHeader(lifetime.deprecated || found.deprecated),
      );
    },
  );
}
