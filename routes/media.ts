import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { access, sequencesCover } from "../lib/auth/mod.ts";
import { serveBytes, serveObject } from "../lib/delivery/mod.ts";
import { ForbiddenError, ValidationError } from "../lib/errors/mod.ts";
import { MAX_STRETCH_TICKS, timedSegment } from "../lib/playback/mod.ts";
import { IdSchema } from "../lib/fleet/mod.ts";
import { type ApiApp, secured } from "../lib/http/mod.ts";
import type { RouteDeps } from "./deps.ts";

const MediaParams = z.object({
  fleetId: IdSchema,
  vehicleId: IdSchema,
  cameraId: IdSchema,
  recordingId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  // DASH asks for `$Number$` unpadded (libavformat reads no wider padding); ingest stores 10 digits.
  file: z.string().regex(/^(init\.mp4|\d{1,10}\.(m4s|ts))$/, "must be init.mp4 or a segment"),
});
/** Decode time on a stretch's timeline, in ticks (see `continuousStretches`). */
const Ticks = z.string().regex(/^(0|[1-9]\d{0,14})$/, "must be a decode time in ticks")
  .refine((t) => Number(t) <= MAX_STRETCH_TICKS, "must be a decode time in ticks")
  .optional();
const SignedQuery = z.object({
  exp: z.string(),
  kid: z.string(),
  link: z.string().optional(),
  seq: z.string().optional(),
  sig: z.string(),
});
const TimedQuery = SignedQuery.extend({ t: Ticks });
const FillerQuery = TimedQuery.extend({
  c: z.string().regex(/^(0|[1-9]\d{0,9})$/, "must be a composition offset in ticks").optional(),
});
const EncodingKey = z.string().regex(/^[A-Za-z0-9._]{1,80}$/, "must be an encoding key");
const FillerParams = z.object({
  fleetId: IdSchema,
  vehicleId: IdSchema,
  cameraId: IdSchema,
  encoding: EncodingKey,
});
const FillerPieceParams = FillerParams.extend({
  totalMs: z.string().regex(/^[1-9]\d{0,9}$/, "must be milliseconds"),
  count: z.string().regex(/^[1-9]\d{0,9}$/, "must be a piece count"),
  file: z.string().regex(/^\d{1,10}\.m4s$/, "must be a piece"),
});
const CAMERA_PATH = "/media/fleets/{fleetId}/vehicles/{vehicleId}/cameras/{cameraId}";
const MEDIA_RESPONSES = {
  200: { description: "The bytes", content: { "video/iso.segment": { schema: z.string() } } },
  206: { description: "A byte range" },
  304: { description: "Not modified" },
  416: { description: "Range not satisfiable" },
};

/** The path prefix a camera's media signature covers. */
export const mediaPrefix = (fleetId: string, vehicleId: string, cameraId: string) =>
  `/media/fleets/${fleetId}/vehicles/${vehicleId}/cameras/${cameraId}/`;

/**
 * The prefix a media URL's signature must cover: the camera's for a signed-in viewer's URLs; for
 * a link's, the one recording (or the one slate encoding, `gap/<encoding>/`) it was signed for.
 */
const signedScope = (narrow: (c: Context) => string) =>
  access.signedPrefix((c) => {
    const camera = mediaPrefix(
      c.req.param("fleetId")!,
      c.req.param("vehicleId")!,
      c.req.param("cameraId")!,
    );
    return c.req.query("link") === undefined ? camera : `${camera}${narrow(c)}/`;
  });

/** Segment bytes behind signed URLs: what players, and a CDN in front, fetch. */
export function registerMediaRoutes(app: ApiApp, { store, playback, secure }: RouteDeps) {
  const signed = signedScope((c) => c.req.param("recordingId")!);
  const slate = signedScope((c) => `gap/${c.req.param("encoding")}`);
  app.openapi(
    secured(
      secure,
      signed,
      createRoute({
        method: "get",
        path:
          "/media/fleets/{fleetId}/vehicles/{vehicleId}/cameras/{cameraId}/{recordingId}/{file}",
        tags: ["playback"],
        summary: "A stored init or media segment (signed URL; Range, ETag, immutable)",
        description: "With `t`, a media segment's decode times are moved so it starts at `t` " +
          "ticks: its place on a stretch of recordings played as one timeline.",
        request: { params: MediaParams, query: TimedQuery },
        responses: {
          200: {
            description: "The bytes",
            content: { "video/iso.segment": { schema: z.string() } },
          },
          206: { description: "A byte range" },
          304: { description: "Not modified" },
          416: { description: "Range not satisfiable" },
        },
      }),
    ),
    async (c) => {
      const p = c.req.valid("param");
      const [name, extension] = p.file.split(".");
      const file = p.file === "init.mp4" ? p.file : `${name.padStart(10, "0")}.${extension}`;
      const key =
        `fleets/${p.fleetId}/vehicles/${p.vehicleId}/cameras/${p.cameraId}/${p.recordingId}/${file}`;
      const { t, seq } = c.req.valid("query");
      if (!sequencesCover(seq, p.file)) {
        throw new ForbiddenError(
          `Signed URL does not cover segment ${Number(name)} of recording "${p.recordingId}"`,
        );
      }
      if (t !== undefined) {
        if (extension !== "m4s") {
          throw new ValidationError('"t" applies to fMP4 media segments (.m4s) only');
        }
        const timed = await timedSegment(store, key, Number(t), c.req.header("if-none-match"));
        return sendBytes(c, timed, "video/iso.segment");
      }
      const response = await serveObject(store, key, {
        range: c.req.header("range"),
        ifNoneMatch: c.req.header("if-none-match"),
      });
      // Through the context, so middleware headers (CORS) are kept.
      return c.newResponse(response.body, response) as never;
    },
  );

  app.openapi(
    secured(
      secure,
      slate,
      createRoute({
        method: "get",
        path: `${CAMERA_PATH}/gap/{encoding}/init.mp4`,
        tags: ["playback"],
        summary: "The init segment of the slate that fills holes of one encoding (signed URL)",
        request: { params: FillerParams, query: SignedQuery },
        responses: MEDIA_RESPONSES,
      }),
    ),
    async (c) => {
      const { encoding } = c.req.valid("param");
      return sendBytes(c, await playback.fillerInit(encoding), "video/mp4");
    },
  );

  app.openapi(
    secured(
      secure,
      slate,
      createRoute({
        method: "get",
        path: `${CAMERA_PATH}/gap/{encoding}/{totalMs}/{count}/{file}`,
        tags: ["playback"],
        summary: "A piece of slate filling a hole (signed URL; Range, ETag, immutable)",
        description:
          "Piece `n` of a hole of `totalMs` cut into `count` pieces: the slate's keyframe, timed to the piece. " +
          "With `t` (and `c`), it plays under the recording's own init segment: decode time `t` ticks, " +
          "presented `c` ticks later.",
        request: { params: FillerPieceParams, query: FillerQuery },
        responses: MEDIA_RESPONSES,
      }),
    ),
    async (c) => {
      const p = c.req.valid("param");
      const q = c.req.valid("query");
      const filler = await playback.fillerSegment(
        p.encoding,
        Number(p.totalMs),
        Number(p.count),
        Number(p.file.slice(0, -4)),
        q.t === undefined
          ? undefined
          : { decodeTime: Number(q.t), compositionOffset: Number(q.c ?? 0) },
      );
      return sendBytes(c, filler, "video/iso.segment");
    },
  );
}

/**
 * Answers with bytes made for this request (Range, conditional GET), through the context so
 * middleware headers (CORS) are kept.
 */
function sendBytes(c: Context, made: { bytes: Uint8Array; etag: string }, type: string) {
  const response = serveBytes(made.bytes as Uint8Array<ArrayBuffer>, made.etag, type, {
    range: c.req.header("range"),
    ifNoneMatch: c.req.header("if-none-match"),
  });
  return c.newResponse(response.body, response) as never;
}
