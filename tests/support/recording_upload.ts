/**
 * Uploads one CMAF recording through ingest as the vehicle's uploader does: a 503 is retried
 * after a while (bounded), and the refusals are kept for the test to inspect.
 */
import { type CmafFixture, contentDigest } from "./media.ts";

/** The answer to one upload, after its retries. */
export interface UploadAnswer {
  status: number;
  text: string;
  retryAfter: string | null;
}

/**
 * An uploader of `cmaf` as recording `recording` of `camera`, timed from `start` (epoch ms;
 * default a minute ago: a vehicle uploading from its spool may send much older recordings).
 */
export function recordingUpload(
  serverUrl: string,
  vehicleId: string,
  token: string,
  cmaf: CmafFixture,
  { camera = "front", recording = "r1", start = Date.now() - 60_000 } = {},
) {
  const base =
    `${serverUrl}/api/v1/ingest/vehicles/${vehicleId}/cameras/${camera}/recordings/${recording}`;
  /** The bodies of the 503s that were retried. */
  const refusals: string[] = [];
  /** PUTs `bytes` to `path`, retrying a 503 after 0.5 s, at most `tries` times in all. */
  const put = async (
    path: string,
    bytes: Uint8Array,
    headers: Record<string, string> = {},
    tries = 20,
  ): Promise<UploadAnswer> => {
    for (let attempt = 1;; attempt++) {
      const response = await fetch(`${base}/${path}`, {
        method: "PUT",
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "video/iso.segment",
          "content-digest": await contentDigest(bytes),
          ...headers,
        },
        body: bytes as BodyInit,
      });
      const text = await response.text();
      if (response.status !== 503 || attempt === tries) {
        return { status: response.status, text, retryAfter: response.headers.get("retry-after") };
      }
      refusals.push(text);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  };
  /** Segment `i`, with its start and duration on the recording's timeline. */
  const segment = (i: number, tries = 20) =>
    put(`segments/${i}`, cmaf.segments[i].bytes, {
      "motorcade-segment-start": new Date(
        start + cmaf.segments.slice(0, i).reduce((ms, s) => ms + s.durationMs, 0),
      ).toISOString(),
      "motorcade-segment-duration": (cmaf.segments[i].durationMs / 1000).toFixed(3),
    }, tries);
  return { start, refusals, put, segment };
}
