import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { access, userOf } from "../../../lib/auth/mod.ts";
import { ValidationError } from "../../../lib/errors/mod.ts";
import { IdSchema } from "../../../lib/fleet/mod.ts";
import { type ApiApp, secured } from "../../../lib/http/mod.ts";
import type { CameraRef, LinkGrant, RenderedPlaylist } from "../../../lib/playback/mod.ts";
import type { RouteDeps } from "../../deps.ts";
import { jsonBody, jsonResponse } from "./views.ts";
import { deprecationHeader, lifetimeFields, lifetimeSeconds, registerLinkRoutes } from "./links.ts";
import { TimeParam } from "./recordings.ts";
import { registerRenditionPlaylistRoutes } from "./renditions.ts";

const ALL = ["admin", "operator", "viewer"] as const;
const CAMERA = "/api/v1/fleets/{fleetId}/vehicles/{vehicleId}/cameras/{cameraId}";
/** The path parameters of a camera's playback routes. */
export const CameraParams = z.object({
  fleetId: IdSchema,
  vehicleId: IdSchema,
  cameraId: IdSchema,
});
const RecordingParams = CameraParams.extend({
  recordingId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be a recording id"),
});
/** What a link's signed URL adds to its query. */
const SignedQuery = z.object({
  exp: z.string().optional(),
  kid: z.string().optional(),
  link: z.string().optional(),
  sig: z.string().optional(),
});
/** A range playlist's query: `from`, optional `to`, and a link's signature. */
export const RangeQuery = SignedQuery.extend({ from: TimeParam, to: TimeParam.optional() });
const FORMATS = {
  hls: { file: "index.m3u8", type: "application/vnd.apple.mpegurl", what: "HLS media playlist" },
  dash: { file: "manifest.mpd", type: "application/dash+xml", what: "DASH MPD" },
} as const;

/**
 * Sends a rendered playlist with its validator and a short cache life, gzip'd when the client
 * accepts that (players and CDNs do; a day shrinks from 10 MB to about 0.2 MB).
 */
export function send(c: Context, playlist: RenderedPlaylist): Response {
  const signed = c.req.query("sig") !== undefined;
  const gzip = acceptsGzip(c.req.header("accept-encoding"));
  const etag = gzip ? playlist.gzipEtag : playlist.etag;
  const headers: Record<string, string> = {
    "content-type": playlist.contentType,
    "etag": etag,
    // Growing playlists change every segment; finished ones only when backlog arrives late.
    "cache-control": `${signed ? "public" : "private"}, max-age=${playlist.final ? 60 : 1}`,
    "vary": "Accept-Encoding",
  };
  if (matches(c.req.header("if-none-match"), etag)) return c.body(null, 304, headers);
  if (gzip) headers["content-encoding"] = "gzip";
  headers["content-length"] = String((gzip ? playlist.gzipped : playlist.body).byteLength);
  return c.body(playlist.stream(gzip), 200, headers);
}

/** Whether an Accept-Encoding header admits gzip (RFC 9110 12.5.3: `gzip` or `*`, q above 0). */
function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  let star = false;
  for (const part of header.toLowerCase().split(",")) {
    const [name, ...params] = part.split(";").map((piece) => piece.trim());
    const q = params.find((param) => param.startsWith("q="));
    const allowed = q === undefined || Number(q.slice(2)) > 0;
    if (name === "gzip" || name === "x-gzip") return allowed;
    if (name === "*") star = allowed;
  }
  return star;
}

/** Whether If-None-Match names `etag` (weak comparison, RFC 9110 13.1.2), or is `*`. */
function matches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === "*") return true;
  return header.split(",").some((tag) => tag.trim().replace(/^W\//, "") === etag);
}

/** The link a request came through (its signature already checked), or undefined. */
export function grantOf(c: Context): LinkGrant | undefined {
  const { link, exp, sig } = c.req.query();
  return sig === undefined || link === undefined
    ? undefined
    : { id: link, expiresAtMs: Number(exp) * 1000 };
}

/** The epoch-ms range of a `from`/`to` query; 400 when `to` is not after `from`. */
export function rangeOf(query: { from: string; to?: string }): { fromMs: number; toMs?: number } {
  const fromMs = Date.parse(query.from);
  const toMs = query.to === undefined ? undefined : Date.parse(query.to);
  if (toMs !== undefined && toMs <= fromMs) {
    throw new ValidationError('"to" must be after "from"', [{
      path: "query.to",
      message: "before from",
    }]);
  }
  return { fromMs, toMs };
}

/** Playlists of recordings (HLS and DASH), by recording or time range, and signed links. */
export function registerPlaybackRoutes(
  app: ApiApp,
  deps: RouteDeps,
) {
  const { playback, registry, identity, config, secure } = deps;
  registerLinkRoutes(app, deps);
  registerRenditionPlaylistRoutes(app, deps);
  const camera = async (p: z.infer<typeof CameraParams>): Promise<CameraRef> => {
    await registry.camera(p.fleetId, p.vehicleId, p.cameraId);
    return p;
  };

  for (
    const [format, { file, type, what }] of Object.entries(FORMATS) as Array<
      [keyof typeof FORMATS, typeof FORMATS[keyof typeof FORMATS]]
    >
  ) {
    const content = { [type]: { schema: z.string() } };
    app.openapi(
      secured(
        secure,
        access.fleetOrSigned(ALL),
        createRoute({
          method: "get",
          path: `${CAMERA}/recordings/{recordingId}/${file}`,
          tags: ["playback"],
          summary: `The ${what} of one recording (VOD once finished, EVENT while it grows)`,
          request: { params: RecordingParams, query: SignedQuery },
          responses: { 200: { description: what, content }, 304: { description: "Not modified" } },
        }),
      ),
      async (c) => {
        const p = c.req.valid("param");
        const playlist = await playback.playlist(
          await camera(p),
          { recordingId: p.recordingId },
          format,
          `${c.req.path}?link=${grantOf(c)?.id ?? ""}`,
          grantOf(c),
        );
        return send(c, playlist) as never;
      },
    );

    app.openapi(
      secured(
        secure,
        access.fleetOrSigned(ALL),
        createRoute({
          method: "get",
          path: `${CAMERA}/${file}`,
          tags: ["playback"],
          summary: `The ${what} of a time range across recordings (open-ended without "to")`,
          description:
            "Recordings are separated by discontinuities (new Periods in DASH); holes stay on the timeline as slate (filler segments between discontinuities in HLS, filler Periods in DASH). Without `to` the playlist is EVENT-style and grows; one with nothing recorded yet is an empty EVENT playlist (a dynamic MPD with no Period). A closed range with nothing recorded is a 404 problem, as for a clip.",
          request: { params: CameraParams, query: RangeQuery },
          responses: {
            200: { description: what, content },
            304: { description: "Not modified" },
            404: { description: "Nothing was recorded in that range" },
          },
        }),
      ),
      async (c) => {
        const { from, to } = c.req.valid("query");
        const playlist = await playback.playlist(
          await camera(c.req.valid("param")),
          rangeOf({ from, to }),
          format,
          `${c.req.path}?from=${from}&to=${to ?? ""}&link=${grantOf(c)?.id ?? ""}`,
          grantOf(c),
        );
        return send(c, playlist) as never;
      },
    );
  }

  app.openapi(
    secured(
      secure,
      access.fleetOrSigned(ALL),
      createRoute({
        method: "get",
        path: `${CAMERA}/clip.mp4`,
        tags: ["playback"],
        summary: "Export a time range as one MP4 file (fragmented, no re-encoding)",
        description:
          "Starts at the keyframe opening the first segment that overlaps `from` and ends with the last segment that overlaps `to`. Holes are closed up: the clip is the recorded video back to back (the playlists keep holes on the timeline). A stored segment that cannot be read is left out, logged and counted (`motorcade_playback_skipped_objects_total`).",
        request: {
          params: CameraParams,
          query: SignedQuery.extend({ from: TimeParam, to: TimeParam }),
        },
        responses: {
          200: {
            description: "The clip",
            content: { "video/mp4": { schema: z.string().openapi({ format: "binary" }) } },
          },
          404: { description: "Nothing was recorded in that range" },
          409: { description: "The range mixes encodings, or is MPEG-TS" },
        },
      }),
    ),
    async (c) => {
      const p = c.req.valid("param");
      const { fromMs, toMs } = rangeOf(c.req.valid("query")) as { fromMs: number; toMs: number };
      const stream = await playback.clip(await camera(p), fromMs, toMs);
      const name = `${p.cameraId}-${new Date(fromMs).toISOString().replace(/[:.]/g, "")}.mp4`;
      return c.body(stream, 200, {
        "content-type": "video/mp4",
        "content-disposition": `attachment; filename="${name}"`,
        "cache-control": "private, max-age=60",
      }) as never;
    },
  );

  app.openapi(
    secured(
      secure,
      access.fleet(ALL),
      createRoute({
        method: "post",
        path: `${CAMERA}/links`,
        tags: ["playback"],
        summary: "Signed playlist links any player can open without a token",
        description:
          "The link is recorded with its maker and fleet; its playlists list media URLs signed only for the recordings its range touches, expiring with the link. `ttlSeconds` (1 s to 30 days) defaults to `MEDIA_URL_TTL` (6 h); the older `ttl` string is deprecated. Revoke it with `DELETE /api/v1/fleets/{fleetId}/links/{id}` (or in bulk with `DELETE …/links?cameraId=&createdBy=`); it also ends when its maker is deleted, disabled or leaves the fleet.",
        request: {
          params: CameraParams,
          ...jsonBody(
            z.object({
              from: TimeParam,
              to: TimeParam.optional(),
              ...lifetimeFields(1, "defaults to MEDIA_URL_TTL (6 h)"),
            }).strict(),
          ),
        },
        responses: {
          201: jsonResponse(
            z.object({
              id: z.string(),
              hls: z.string(),
              dash: z.string(),
              multivariant: z.string().openapi({
                description:
                  "HLS multivariant playlist: the proxy rendition, and full quality where it was uploaded",
              }),
              multivariantDash: z.string().openapi({
                description:
                  "DASH MPD of both renditions: the proxy, and full quality where it was uploaded",
              }),
              clip: z.string().nullable(),
              expiresAt: z.string().datetime(),
            }),
            "Links",
          ),
        },
      }),
    ),
    async (c) => {
      const p = c.req.valid("param");
      await camera(p);
      const body = c.req.valid("json");
      const { from, to } = body;
      const range = rangeOf({ from, to });
      const lifetime = lifetimeSeconds(body, 1, Math.ceil(config.mediaUrlTtlMs / 1000));
      const expiresAt = new Date(Date.now() + lifetime.seconds * 1000);
      const { id } = await identity.urls.links.create({
        kind: "playback",
        camera: p,
        maker: userOf(c),
        expiresAt,
        fromMs: range.fromMs,
        toMs: range.toMs,
      });
      const base = `/api/v1/fleets/${p.fleetId}/vehicles/${p.vehicleId}/cameras/${p.cameraId}`;
      const params: Record<string, string> = { from, ...(to ? { to } : {}) };
      const link = (file: string) => {
        const path = `${base}/${file}`;
        return `${config.publicUrl}${path}?${identity.urls.signExact(path, params, expiresAt, id)}`;
      };
      return c.json(
        {
          id,
          hls: link("index.m3u8"),
          dash: link("manifest.mpd"),
          multivariant: link("multivariant.m3u8"),
          multivariantDash: link("multivariant.mpd"),
          clip: to ? link("clip.mp4") : null,
          expiresAt: expiresAt.toISOString(),
        },
        201,
        deprecationHeader(lifetime.deprecated),
      );
    },
  );
}
