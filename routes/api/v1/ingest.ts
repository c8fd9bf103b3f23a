import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { access, deviceOf } from "../../../lib/auth/mod.ts";
import { ValidationError } from "../../../lib/errors/mod.ts";
import { CameraNameSchema, IdSchema } from "../../../lib/fleet/mod.ts";
import { type ApiApp, secured } from "../../../lib/http/mod.ts";
import type { Upload, UploadTarget } from "../../../lib/ingest/mod.ts";
import type { RouteDeps } from "../../deps.ts";
import { jsonBody, jsonResponse } from "./views.ts";

const RecordingParams = z.object({
  vehicleId: IdSchema,
  camera: CameraNameSchema,
  recordingId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1-64 letters, digits, _ or -"),
});
const SegmentParams = RecordingParams.extend({
  sequence: z.string().regex(/^\d{1,10}$/, "must be a whole number from 0 to 2147483647"),
});
const Digest = z.string({ error: 'Header "Content-Digest" is required: sha-256=:<base64>:' })
  .openapi({ description: "RFC 9530 digest of the body", example: "sha-256=:…:" });
const Stored = z.object({
  status: z.enum(["stored", "duplicate"]),
  size: z.number().int(),
  sha256: z.string(),
}).openapi("StoredSegment");
const RenditionHeader = z.enum(["full", "proxy"], {
  error: 'Header "Motorcade-Rendition" must be "full" or "proxy"',
}).optional().openapi({
  description:
    "The recording's rendition: full quality, or the low-bitrate proxy the same capture makes beside it (a separate recording); absent: full",
});
const UploadHeaders = {
  "motorcade-rendition": RenditionHeader,
  "motorcade-upload-kind": z.enum(["continuous", "recall"], {
    error: 'Header "Motorcade-Upload-Kind" must be "continuous" or "recall"',
  }).optional().openapi({
    description:
      "Why the vehicle uploads it: its policy's continuous upload, or a recall (counted apart in data usage); absent: continuous",
  }),
  "motorcade-recall-id": z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, {
    error: 'Header "Motorcade-Recall-Id" must be 1-64 letters, digits, _ or -',
  }).optional().openapi({ description: "The recall a recall upload fulfils" }),
};
const binary = (type: string) => ({
  body: {
    required: true,
    content: { [type]: { schema: z.string().openapi({ format: "binary" }) } },
  },
});
const BASE = "/api/v1/ingest/vehicles/{vehicleId}/cameras/{camera}/recordings/{recordingId}";

/** The request body as ingest streams it, with the vehicle's declarations about it. */
function uploadOf(c: Context, digest: string | undefined, maxBytes: number): Upload {
  const declared = c.req.header("content-length");
  const size = declared === undefined ? undefined : Number(declared);
  if (size !== undefined && !Number.isSafeInteger(size)) {
    throw new ValidationError(`Header "Content-Length" must be a number of bytes`);
  }
  return { body: c.req.raw.body ?? ReadableStream.from([]), digest, size, maxBytes };
}

/** `{ [field]: epoch ms }` of an optional RFC 3339 time; `{}` without one. */
const optionalTime = (field: string, value: string | undefined) =>
  value === undefined ? {} : { [field]: Date.parse(value) };

const stored = (r: { created: boolean; size: number; sha256: string }) => ({
  status: r.created ? "stored" as const : "duplicate" as const,
  size: r.size,
  sha256: r.sha256,
});

/** Uploads from vehicles: init segments, media segments and the end of a recording. */
export function registerIngestRoutes(app: ApiApp, { ingest, secure, config }: RouteDeps) {
  // Ingest streams the body to storage, enforcing the limit as it goes.
  const limits = { maxBodyBytes: config.segmentMaxBytes, streamed: true };
  const target = (
    c: Context,
    p: z.infer<typeof RecordingParams>,
    h: {
      "motorcade-rendition"?: "full" | "proxy";
      "motorcade-upload-kind"?: "continuous" | "recall";
      "motorcade-recall-id"?: string;
    } = {},
  ): UploadTarget => {
    const recall = h["motorcade-upload-kind"] === "recall";
    if (h["motorcade-recall-id"] !== undefined && !recall) {
      throw new ValidationError(
        'Header "Motorcade-Recall-Id" belongs to recall uploads: "Motorcade-Upload-Kind" is not "recall"',
      );
    }
    return {
      fleetId: deviceOf(c).fleetId,
      vehicleId: p.vehicleId,
      cameraName: p.camera,
      recordingId: p.recordingId,
      ...(h["motorcade-rendition"] ? { rendition: h["motorcade-rendition"] } : {}),
      ...(h["motorcade-upload-kind"] ? { uploadKind: h["motorcade-upload-kind"] } : {}),
      ...(h["motorcade-recall-id"] ? { recallId: h["motorcade-recall-id"] } : {}),
    };
  };

  app.openapi(
    secured(
      secure,
      access.device("vehicleId"),
      createRoute({
        method: "put",
        path: `${BASE}/init`,
        tags: ["ingest"],
        summary: "Upload a recording's CMAF init segment",
        request: {
          params: RecordingParams,
          headers: z.object({ "content-digest": Digest, ...UploadHeaders }),
          ...binary("video/mp4"),
        },
        responses: {
          200: jsonResponse(Stored, "Already stored with the same bytes"),
          201: jsonResponse(Stored, "Stored"),
          409: { description: "Already stored with other bytes" },
          415: { description: "Not an ISO BMFF file" },
          422: {
            description:
              "An ISO BMFF file that is not a fragmented H.264/H.265 init segment a player can read (the problem's detail names what is wrong); nothing stored",
          },
          507: {
            description:
              "Storage is full or failing (or free space is below MIN_FREE_BYTES): nothing accepted; retry after Retry-After",
          },
        },
      }),
      limits,
    ),
    async (c) => {
      const result = await ingest.acceptInit(
        target(c, c.req.valid("param"), c.req.valid("header")),
        uploadOf(c, c.req.valid("header")["content-digest"], limits.maxBodyBytes),
      );
      return c.json(stored(result), result.created ? 201 : 200);
    },
  );

  app.openapi(
    secured(
      secure,
      access.device("vehicleId"),
      createRoute({
        method: "put",
        path: `${BASE}/segments/{sequence}`,
        tags: ["ingest"],
        summary: "Upload one media segment (idempotent per vehicle, camera, recording, sequence)",
        request: {
          params: SegmentParams,
          headers: z.object({
            "content-digest": Digest,
            "motorcade-segment-start": z.string({
              error:
                'Header "Motorcade-Segment-Start" is required: RFC 3339 time of the first frame',
            }).datetime({ offset: true, error: "must be an RFC 3339 time" }),
            "motorcade-segment-start-corrected": z.string().datetime({
              offset: true,
              error: "must be an RFC 3339 time",
            }).optional().openapi({
              description:
                "The first frame on the server's clock, as the vehicle estimates it from the server's Motorcade-Time; used instead of Motorcade-Segment-Start when present",
            }),
            "motorcade-segment-duration": z.string({
              error: 'Header "Motorcade-Segment-Duration" is required: seconds, e.g. 2.000',
            }).regex(/^\d{1,3}(\.\d{1,6})?$/, "must be seconds such as 2.000"),
            ...UploadHeaders,
          }),
          ...binary("video/iso.segment"),
        },
        responses: {
          200: jsonResponse(Stored, "Already stored with the same bytes"),
          201: jsonResponse(Stored, "Stored"),
          409: { description: "Already stored with other bytes" },
          415: { description: "Neither fMP4 nor MPEG-TS" },
          422: {
            description:
              "fMP4 or MPEG-TS a player could not play back (truncated or misplaced boxes, samples outside their mdat, another track or codec than the recording's init segment, broken TS packets; the problem's detail names what is wrong); nothing stored",
          },
          503: { description: "Stored but not announced; retry" },
          507: {
            description:
              "Storage is full or failing (or free space is below MIN_FREE_BYTES): nothing accepted; retry after Retry-After",
          },
        },
      }),
      limits,
    ),
    async (c) => {
      const params = c.req.valid("param");
      const headers = c.req.valid("header");
      const result = await ingest.acceptSegment(
        target(c, params, headers),
        {
          sequence: Number(params.sequence),
          startMs: Date.parse(headers["motorcade-segment-start"]),
          durationMs: Math.round(Number(headers["motorcade-segment-duration"]) * 1000),
          ...optionalTime("correctedStartMs", headers["motorcade-segment-start-corrected"]),
        },
        uploadOf(c, headers["content-digest"], limits.maxBodyBytes),
      );
      return c.json(stored(result), result.created ? 201 : 200);
    },
  );

  app.openapi(
    secured(
      secure,
      access.device("vehicleId"),
      createRoute({
        method: "post",
        path: `${BASE}/end`,
        tags: ["ingest"],
        summary: "Say a recording is finished (its playlist becomes VOD)",
        request: {
          params: RecordingParams,
          headers: z.object({ "motorcade-rendition": RenditionHeader }),
          ...jsonBody(
            z.object({
              endedAt: z.string().datetime({ offset: true }),
              endedAtCorrected: z.string().datetime({ offset: true }).optional(),
            }).strict(),
          ),
        },
        responses: {
          204: { description: "Recorded" },
          507: {
            description: "Storage is full or failing: not recorded; retry after Retry-After",
          },
        },
      }),
    ),
    async (c) => {
      const { endedAt, endedAtCorrected } = c.req.valid("json");
      await ingest.endRecording(
        target(c, c.req.valid("param")),
        Date.parse(endedAt),
        endedAtCorrected === undefined ? undefined : Date.parse(endedAtCorrected),
      );
      return c.body(null, 204);
    },
  );
}
