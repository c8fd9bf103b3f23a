import { createHash } from "node:crypto";
import type { UrlSigner } from "../auth/mod.ts";
import type { Catalog, Recording } from "../catalog/mod.ts";
import { NotFoundError, ValidationError } from "../errors/mod.ts";
import { parseInitSegment } from "../media/mod.ts";
import {
  buildTimeline,
  type DashVideo,
  type Timeline,
  writeDashManifest,
  writeHlsMediaPlaylist,
} from "../playlist/mod.ts";
import type { ObjectStore } from "../storage/mod.ts";
import { clipFragments } from "./clip.ts";
import { PlaylistCache, type RenderedPlaylist } from "./playlist_cache.ts";

/** Options of {@linkcode Playback}. */
export interface PlaybackOptions {
  /** Base of segment URLs (PUBLIC_URL, or a CDN in front of /media). */
  mediaBaseUrl: string;
  mediaUrlTtlMs: number;
  gapToleranceMs: number;
  /** A recording with no new segment for this long is finished even if never closed. */
  idleCloseMs?: number;
  now?: () => number;
}

/** Which camera, in whose fleet. */
export interface CameraRef {
  fleetId: string;
  vehicleId: string;
  cameraId: string;
}

/** What to play: one recording, or a time range across recordings (open-ended when no `toMs`). */
export type PlaybackScope =
  | { recordingId: string }
  | { fromMs: number; toMs?: number };

const HOUR = 3_600_000;
/** Longest clip one export may span. */
export const MAX_CLIP_MS = 6 * HOUR;
/** Longest time range one playlist may span. */
export const MAX_RANGE_MS = 7 * 24 * HOUR;

/**
 * Playback — the seed's playlist generation: reads a camera's timeline from the catalog and
 * writes it as an HLS media playlist or a DASH MPD whose segment URLs are signed for the media
 * route (or a CDN in front of it).
 */
export class Playback {
  readonly cache = new PlaylistCache();
  readonly #videos = new Map<string, DashVideo>();
  readonly #now: () => number;

  constructor(
    private readonly catalog: Catalog,
    private readonly store: ObjectStore,
    private readonly urls: UrlSigner,
    private readonly options: PlaybackOptions,
  ) {
    this.#now = options.now ?? Date.now;
  }

  /** The playlist of `scope` in `format`; `cacheKey` identifies the request (path and query). */
  async playlist(
    camera: CameraRef,
    scope: PlaybackScope,
    format: "hls" | "dash",
    cacheKey: string,
  ): Promise<RenderedPlaylist> {
    const cached = this.cache.get(`${format} ${cacheKey}`, camera.cameraId);
    if (cached) return cached;
    const { timeline, final } = await this.timeline(camera, scope);
    const media = this.#mediaUrls(camera);
    const chunks: string[] = [];
    const write = (chunk: string) => chunks.push(chunk);
    const type = final ? "VOD" : "EVENT";
    if (format === "hls") {
      writeHlsMediaPlaylist(timeline, {
        type,
        initUri: (recordingId) => media.url(recordingId, "init.mp4"),
        segmentUri: (recordingId, _sequence, segment) =>
          media.url(recordingId, segment.objectKey.slice(segment.objectKey.lastIndexOf("/") + 1)),
        gapUri: media.url("gap", "0000000000.m4s"),
        minTargetDuration: 2,
      }, write);
    } else {
      if (timeline.runCount === 0) throw new NotFoundError("Nothing was recorded in that range");
      const videos = new Map<string, DashVideo>();
      for (const item of timeline.items) {
        if (item.kind === "run" && item.initKey) {
          videos.set(item.recordingId, await this.#video(item.initKey));
        }
      }
      writeDashManifest(timeline, {
        type,
        initUri: (recordingId) => media.url(recordingId, "init.mp4"),
        mediaUri: (recordingId, number) => media.url(recordingId, `${number}.m4s`),
        video: (recordingId) => videos.get(recordingId)!,
        availabilityStartTime: "fromMs" in scope ? new Date(scope.fromMs) : undefined,
        now: new Date(this.#now()),
      }, write);
    }
    const body = chunks.join("");
    const rendered: RenderedPlaylist = {
      body,
      etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 32)}"`,
      contentType: format === "hls" ? "application/vnd.apple.mpegurl" : "application/dash+xml",
      final,
    };
    this.cache.set(`${format} ${cacheKey}`, camera.cameraId, rendered);
    return rendered;
  }

  /**
   * A clip of [fromMs, toMs) as one fragmented MP4 stream (see {@linkcode clipFragments} for
   * where it starts and ends), without re-encoding.
   */
  async clip(camera: CameraRef, fromMs: number, toMs: number): Promise<ReadableStream<Uint8Array>> {
    if (toMs - fromMs > MAX_CLIP_MS) {
      throw new ValidationError(`A clip spans at most ${MAX_CLIP_MS / HOUR} hours`);
    }
    const { timeline } = await this.timeline(camera, { fromMs, toMs });
    const fragments = clipFragments(this.store, timeline);
    const first = await fragments.next(); // errors (nothing recorded, mixed encodings) surface here
    return new ReadableStream<Uint8Array>({
      start(controller) {
        if (!first.done) controller.enqueue(first.value);
      },
      async pull(controller) {
        const next = await fragments.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      },
      async cancel() {
        await fragments.return(undefined);
      },
    });
  }

  /** The timeline of `scope`, and whether it can still grow. */
  async timeline(
    camera: CameraRef,
    scope: PlaybackScope,
  ): Promise<{ timeline: Timeline; final: boolean }> {
    const now = this.#now();
    if ("recordingId" in scope) {
      const recording = await this.catalog.recordings.get(
        camera.fleetId,
        camera.cameraId,
        scope.recordingId,
      );
      if (!recording || recording.segmentCount === 0) {
        throw new NotFoundError(`Recording "${scope.recordingId}" not found`);
      }
      const segments = await this.catalog.recordings.segments(camera.cameraId, recording.id);
      const timeline = buildTimeline({
        recordings: [recording],
        segments,
        gapToleranceMs: this.options.gapToleranceMs,
      });
      return { timeline, final: await this.#finished(camera, recording, now) };
    }
    const toMs = scope.toMs ?? Math.max(now, scope.fromMs) + HOUR;
    if (toMs <= scope.fromMs) throw new ValidationError('"to" must be after "from"');
    if (toMs - scope.fromMs > MAX_RANGE_MS) {
      throw new ValidationError(`A playlist spans at most ${MAX_RANGE_MS / HOUR} hours`);
    }
    const [recordings, segments] = await Promise.all([
      this.catalog.recordings.list(camera.fleetId, camera.cameraId, scope.fromMs, toMs),
      this.catalog.recordings.segmentsBetween(camera.cameraId, scope.fromMs, toMs),
    ]);
    const timeline = buildTimeline({
      recordings,
      segments,
      fromMs: scope.fromMs,
      toMs,
      gapToleranceMs: this.options.gapToleranceMs,
    });
    return { timeline, final: scope.toMs !== undefined && scope.toMs <= now };
  }

  async #finished(camera: CameraRef, recording: Recording, now: number): Promise<boolean> {
    if (recording.closedAt) return true;
    if (now - recording.endedAt.getTime() > (this.options.idleCloseMs ?? 10 * 60_000)) return true;
    const later = await this.catalog.recordings.list(
      camera.fleetId,
      camera.cameraId,
      recording.endedAt.getTime(),
    );
    return later.some((r) => r.id !== recording.id && r.startedAt > recording.startedAt);
  }

  /**
   * Signs the camera's media prefix once. The expiry is rounded up to the hour so the URLs (and
   * the playlist text, and CDN cache keys) stay the same between a player's refreshes.
   */
  #mediaUrls(camera: CameraRef) {
    const prefix =
      `/media/fleets/${camera.fleetId}/vehicles/${camera.vehicleId}/cameras/${camera.cameraId}/`;
    const expiresAt = Math.ceil((this.#now() + this.options.mediaUrlTtlMs) / HOUR) * HOUR;
    const { exp, sig } = this.urls.signPrefix(prefix, new Date(expiresAt));
    const base = this.options.mediaBaseUrl + prefix;
    return {
      url: (recordingId: string, file: string) =>
        `${base}${recordingId}/${file}?exp=${exp}&sig=${sig}`,
    };
  }

  async #video(initKey: string): Promise<DashVideo> {
    let video = this.#videos.get(initKey);
    if (!video) {
      const read = await this.store.read(initKey);
      if (!read) throw new NotFoundError("Init segment is missing from the store");
      const bytes = new Uint8Array(await new Response(read.body).arrayBuffer());
      const info = parseInitSegment(bytes);
      video = { codec: info.codec, width: info.width, height: info.height };
      if (this.#videos.size > 10_000) this.#videos.clear();
      this.#videos.set(initKey, video);
    }
    return video;
  }
}
