import { createRoute, z } from "@hono/zod-openapi";
import { access } from "../../../lib/auth/mod.ts";
import { type ApiApp, secured } from "../../../lib/http/mod.ts";
import type { RouteDeps } from "../../deps.ts";
import { CameraParams, grantOf, rangeOf, RangeQuery, send } from "./playback.ts";

const ALL = ["admin", "operator", "viewer"] as const;
const CAMERA = "/api/v1/fleets/{fleetId}/vehicles/{vehicleId}/cameras/{cameraId}";
const HLS = { "application/vnd.apple.mpegurl": { schema: z.string() } };
const DASH = { "application/dash+xml": { schema: z.string() } };

/**
 * Playback of both renditions: a range's HLS multivariant playlist (the proxy, and full quality
 * where it was uploaded) and its two variants' media playlists, and its DASH MPD of both.
 */
export function registerRenditionPlaylistRoutes(
  app: ApiApp,
  { playback, registry, identity, config, secure }: RouteDeps,
) {
  app.openapi(
    secured(
      secure,
      access.fleetOrSigned(ALL),
      createRoute({
        method: "get",
        path: `${CAMERA}/multivariant.m3u8`,
        tags: ["playback"],
        summary:
          "HLS multivariant playlist of a time range: the proxy, and full quality where uploaded",
        description:
          "Two variants on one timeline: the proxy rendition (listed first, so players that start with the first variant and never switch play it end to end) and the full rendition, with EXT-X-GAP where full quality was not uploaded; players that honour EXT-X-GAP (hls.js, Shaka Player, Safari) switch to the proxy there. A camera without a proxy has only its full variant. Through a link, the variants' URLs are signed for the link.",
        request: { params: CameraParams, query: RangeQuery },
        responses: {
          200: { description: "HLS multivariant playlist", content: HLS },
          304: { description: "Not modified" },
          404: { description: "Nothing was recorded in that range" },
        },
      }),
    ),
    async (c) => {
      const p = c.req.valid("param");
      await registry.camera(p.fleetId, p.vehicleId, p.cameraId);
      const { from, to } = c.req.valid("query");
      const grant = grantOf(c);
      const params: Record<string, string> = { from, ...(to ? { to } : {}) };
      const base = `/api/v1/fleets/${p.fleetId}/vehicles/${p.vehicleId}/cameras/${p.cameraId}`;
      const playlist = await playback.multivariant(p, rangeOf({ from, to }), (rendition) => {
        const path = `${base}/renditions/${rendition}/index.m3u8`;
        return grant
          ? `${config.publicUrl}${path}?${
            identity.urls.signExact(path, params, new Date(grant.expiresAtMs), grant.id)
          }`
          : `renditions/${rendition}/index.m3u8?${new URLSearchParams(params)}`;
      });
      return send(c, playlist) as never;
    },
  );

  app.openapi(
    secured(
      secure,
      access.fleetOrSigned(ALL),
      createRoute({
        method: "get",
        path: `${CAMERA}/multivariant.mpd`,
        tags: ["playback"],
        summary:
          "DASH MPD of a time range with two representations: the proxy, and full quality where uploaded",
        description:
          "One video AdaptationSet per Period, cut wherever what was uploaded changes: Periods where only the proxy exists list the proxy alone, Periods where full quality was uploaded (continuously or recalled) list both, so dash.js and Shaka Player never ask for a missing segment and pick the best by bandwidth. Holes of the proxy end a Period. Segment URLs carry their decode time in their Period (`t`). A camera without a proxy has only its full representation. libavformat (ffmpeg, ffprobe) reads one Period: the longest.",
        request: { params: CameraParams, query: RangeQuery },
        responses: {
          200: { description: "DASH MPD", content: DASH },
          304: { description: "Not modified" },
          404: { description: "Nothing was recorded in that range" },
        },
      }),
    ),
    async (c) => {
      const camera = c.req.valid("param");
      await registry.camera(camera.fleetId, camera.vehicleId, camera.cameraId);
      const { from, to } = c.req.valid("query");
      const manifest = await playback.renditionsManifest(
        camera,
        rangeOf({ from, to }),
        `${c.req.path}?from=${from}&to=${to ?? ""}&link=${grantOf(c)?.id ?? ""}`,
        grantOf(c),
      );
      return send(c, manifest) as never;
    },
  );

  app.openapi(
    secured(
      secure,
      access.fleetOrSigned(ALL),
      createRoute({
        method: "get",
        path: `${CAMERA}/renditions/{rendition}/index.m3u8`,
        tags: ["playback"],
        summary: "One variant of a range's multivariant playlist: the proxy, or the full rendition",
        description:
          "The full rendition is written on the proxy's timeline (same entries and durations, EXT-X-GAP where a full segment is missing); holes of both are EXT-X-GAP entries, without slate.",
        request: {
          params: CameraParams.extend({ rendition: z.enum(["full", "proxy"]) }),
          query: RangeQuery,
        },
        responses: {
          200: { description: "HLS media playlist", content: HLS },
          304: { description: "Not modified" },
          404: { description: "Nothing of that rendition was recorded in that range" },
        },
      }),
    ),
    async (c) => {
      const { rendition, ...camera } = c.req.valid("param");
      await registry.camera(camera.fleetId, camera.vehicleId, camera.cameraId);
      const { from, to } = c.req.valid("query");
      const playlist = await playback.variantPlaylist(
        camera,
        rangeOf({ from, to }),
        rendition,
        `${c.req.path}?from=${from}&to=${to ?? ""}&link=${grantOf(c)?.id ?? ""}`,
        grantOf(c),
      );
      return send(c, playlist) as never;
    },
  );
}
