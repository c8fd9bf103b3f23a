import { Counter, type Registry } from "prom-client";
import type { UrlSigner } from "../auth/mod.ts";
import type { Catalog, Recording, Rendition } from "../catalog/mod.ts";
import type { CameraMedia, MediaDelivery } from "../delivery/mod.ts";
import { NotFoundError, ValidationError } from "../errors/mod.ts";
import { cameraPrefix } from "../ingest/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { InitSegmentInfo } from "../media/mod.ts";
import {
  buildTimeline,
  continuousStretches,
  type DashFiller,
  type DashVideo,
  type HlsFiller,
  type StretchEncoding,
  type Timeline,
  type TimelineSegmentInput,
  withoutRuns,
  writeDashManifest,
  writeDashRenditions,
  writeHlsMediaPlaylist,
} from "../playlist/mod.ts";
import { type Slate, slateEncoding, type Slates, slateSegment } from "../slate/mod.ts";
import type { ObjectStore } from "../storage/mod.ts";
import { clipFragments, type SkippedObject } from "./clip.ts";
import { mediaUrlExpiry, MediaUrls, type SequenceRange } from "./media_urls.ts";
import { type InitFacts, initFacts, MAX_STRETCH_TICKS } from "./stretch_media.ts";
import { PlaylistCache } from "./playlist_cache.ts";
import { playlistEtag, RenderedPlaylist, utf8Text } from "./rendered_playlist.ts";
import {
  alignedTimeline,
  bitrates,
  hlsMultivariantPlaylist,
  type HlsVariant,
} from "./renditions.ts";

/** Options of {@linkcode Playback}. */
export interface PlaybackOptions {
  /** Base of segment URLs (PUBLIC_URL, or a CDN in front of /media). */
  mediaBaseUrl: string;
  mediaUrlTtlMs: number;
  gapToleranceMs: number;
  /** A recording with no new segment for this long is finished even if never closed. */
  idleCloseMs?: number;
  now?: () => number;
  /** Slates for holes; without them holes are EXT-X-GAP entries and gaps between Periods. */
  slates?: Slates;
  /** Where skipped stored objects are reported. */
  logger?: Logger;
  /**
   * Where HLS playlists point recorded segments instead of the media route (S3 presigned, CDN);
   * undefined: the server. Links' playlists and DASH manifests keep the media route.
   */
  delivery?: MediaDelivery;
}

/** A filler segment or init segment, ready to send. */
export interface FillerBytes {
  bytes: Uint8Array<ArrayBuffer>;
  /** Strong validator: the slate's digest and the piece. */
  etag: string;
}

/** Which camera, in whose fleet. */
export interface CameraRef {
  fleetId: string;
  vehicleId: string;
  cameraId: string;
}

/** A link a playlist is served for: its media URLs name it and end with it. */
export interface LinkGrant {
  id: string;
  expiresAtMs: number;
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

/** The recordings a scope covers as the catalog holds them now, and what that means. */
interface ScopeState {
  recordings: Recording[];
  /** Whether the playlist can no longer grow (VOD). */
  final: boolean;
  fromMs?: number;
  toMs?: number;
  /**
   * Names this state: equal names, equal segments. Segments are only ever added (a recording and
   * sequence indexed twice is skipped, never replaced), each addition counts in its recording's
   * `segmentCount`, `startedAt` and `endedAt` in the same transaction, and segments go only with
   * their recording; so the states of the recordings in scope pin the segments in scope.
   */
  source: string;
  /** The segments in scope; with their object keys when `keys`, else only what playlists list. */
  segments(keys: boolean): Promise<TimelineSegmentInput[]>;
}

/**
 * Playback — the seed's playlist generation: reads a camera's timeline from the catalog and
 * writes it as an HLS media playlist or a DASH MPD whose segment URLs are signed for the media
 * route (or a CDN in front of it).
 */
export class Playback {
  readonly cache = new PlaylistCache();
  /** Stored objects playback left out because they were missing or unreadable. */
  readonly skipped: Counter<"kind" | "reason">;
  readonly #inits = new Map<string, InitFacts>();
  /** Init segments that could not be read, and when. */
  readonly #badInits = new Map<string, number>();
  readonly #now: () => number;

  constructor(
    private readonly catalog: Catalog,
    private readonly store: ObjectStore,
    private readonly urls: UrlSigner,
    private readonly options: PlaybackOptions,
  ) {
    this.#now = options.now ?? Date.now;
    this.skipped = new Counter({
      name: "motorcade_playback_skipped_objects_total",
      help: "Stored init or media segments playback skipped as holes, by kind and reason",
      labelNames: ["kind", "reason"],
      registers: [],
    });
  }

  /** Playback's counters on a Prometheus registry. */
  registerMetrics(registry: Registry): void {
    registry.registerMetric(this.skipped);
  }

  /** The init segment of the slate an encoding key names; NotFoundError when there is none. */
  async fillerInit(encodingKey: string): Promise<FillerBytes> {
    const slate = await this.#slate(encodingKey);
    return { bytes: new Uint8Array(slate.init), etag: `"${slate.digest}-init"` };
  }

  /**
   * Piece `index` of a hole of `totalMs` cut into `count` pieces, from the slate an encoding key
   * names; NotFoundError when there is no such slate or piece. With `at`, the piece plays under
   * the recording's own init segment, at that decode time of its stretch (see `slateSegment`).
   */
  async fillerSegment(
    encodingKey: string,
    totalMs: number,
    count: number,
    index: number,
    at?: { decodeTime: number; compositionOffset?: number },
  ): Promise<FillerBytes> {
    const slate = await this.#slate(encodingKey);
    if (totalMs > MAX_RANGE_MS || count > totalMs || index >= count) {
      throw new NotFoundError(`No piece ${index} of ${count} in a hole of ${totalMs} ms`);
    }
    if (at && (at.decodeTime > MAX_STRETCH_TICKS || (at.compositionOffset ?? 0) > 2 ** 31)) {
      throw new ValidationError("Decode time or composition offset out of range");
    }
    const bytes = slateSegment(slate, totalMs, count, index, at) as Uint8Array<ArrayBuffer>;
    const timed = at ? `-t${at.decodeTime}-c${at.compositionOffset ?? 0}` : "";
    return { bytes, etag: `"${slate.digest}-${totalMs}-${count}-${index}${timed}"` };
  }

  async #slate(encodingKey: string): Promise<Slate> {
    const slate = await this.options.slates?.byKey(encodingKey);
    if (!slate) throw new NotFoundError(`No slate for encoding "${encodingKey}"`);
    return slate;
  }

  /** Counts and logs a stored object left out of playback. */
  #skip({ kind, key, error }: SkippedObject): void {
    const reason = error instanceof NotFoundError ? "missing" : "malformed";
    this.skipped.inc({ kind, reason });
    this.options.logger?.warn(`Skipped a ${reason} ${kind} in playback`, { key, error });
  }

  /**
   * The playlist of `scope` in `format`; `cacheKey` identifies the request (path and query).
   * Written again only when the segments in scope have changed since it last was, or when its
   * URLs' signature is renewed (every hour, or when the URL key rotates); a dynamic MPD kept
   * meanwhile keeps its publishTime. For a `link`, media URLs are signed per recording, name the
   * link and expire with it.
   */
  async playlist(
    camera: CameraRef,
    scope: PlaybackScope,
    format: "hls" | "dash",
    cacheKey: string,
    link?: LinkGrant,
  ): Promise<RenderedPlaylist> {
    const now = this.#now();
    const expiresAt = link?.expiresAtMs ?? mediaUrlExpiry(now, this.options.mediaUrlTtlMs);
    const { kid } = this.urls.keyring.signing();
    // A link's URLs stay on the media route, which can refuse them once it is revoked; DASH's
    // SegmentTemplate gives every segment one URL pattern, which per-object presigned URLs, and
    // libavformat's one-digit `$Number%0Nd$`, cannot fit.
    const direct = link === undefined && format === "hls" ? this.options.delivery : undefined;
    const key = `${format} ${cacheKey} ${expiresAt} ${kid} ${link?.id ?? ""}` +
      (direct ? ` ${direct.mode} ${direct.epoch(now)}` : "");
    const current = this.cache.get(key, camera.cameraId);
    if (current) return current;
    const version = this.cache.version(camera.cameraId);
    const state = await this.#state(camera, scope);
    const unchanged = this.cache.revalidate(key, camera.cameraId, version, state.source);
    if (unchanged) return unchanged;

    const outside = direct &&
      await direct.camera(objectPrefix(camera), expiresAt, now);
    const body = await this.#render(camera, scope, format, state, expiresAt, link?.id, outside);
    const rendered = new RenderedPlaylist(
      body,
      playlistEtag(`${key}\n${state.source}`, body),
      format === "hls" ? "application/vnd.apple.mpegurl" : "application/dash+xml",
      state.final,
    );
    this.cache.set(key, camera.cameraId, version, state.source, rendered);
    return rendered;
  }

  /** Writes the playlist of `state` as UTF-8, its media URLs signed until `expiresAt`. */
  async #render(
    camera: CameraRef,
    scope: PlaybackScope,
    format: "hls" | "dash",
    state: ScopeState,
    expiresAt: number,
    link: string | undefined,
    outside?: CameraMedia,
  ): Promise<Uint8Array<ArrayBuffer>> {
    const { recordings } = state;
    const mpegTs = new Set(recordings.filter((r) => r.initKey === null).map((r) => r.id));
    const full = buildTimeline({
      recordings,
      segments: await state.segments(mpegTs.size > 0), // keys tell MPEG-TS from fMP4 awaiting init
      fromMs: state.fromMs,
      toMs: state.toMs,
      gapToleranceMs: this.options.gapToleranceMs,
    });
    const media = new MediaUrls(
      this.urls,
      this.options.mediaBaseUrl,
      camera,
      expiresAt,
      link,
      link === undefined ? undefined : sequenceRanges(full, state.final),
    );
    // What the init segments say: DASH describes every recording with it, a hole's slate
    // matches the recording next to it, and runs of one encoding share a timeline (HLS reads
    // them only when there are holes or several runs).
    const facts = new Map<string, InitFacts>();
    if (format === "dash" || hasGaps(full) || full.runCount > 1) {
      for (const item of full.items) {
        if (item.kind !== "run" || item.initKey === null) continue;
        const read = await this.#init(item.initKey);
        if (read) facts.set(item.recordingId, read);
      }
    }
    const inits = new Map<string, InitSegmentInfo>();
    for (const [id, read] of facts) inits.set(id, read.info);
    // In DASH, a recording whose init segment cannot be read plays as a hole; an HLS player
    // asks for the init segment itself, and is answered as for any segment.
    const timeline = format === "hls"
      ? full
      : withoutRuns(full, (run) => run.initKey !== null && !inits.has(run.recordingId));
    const type = state.final ? "VOD" : "EVENT";
    // Nothing, and nothing more to come: the answer a clip gives. A range still open is "not
    // yet": a playlist that grows (HLS EVENT) or is updated (DASH dynamic, a Period with no content yet).
    if (timeline.runCount === 0 && state.final) {
      throw new NotFoundError("Nothing was recorded in that range");
    }
    const slates = new Map<string, Slate>();
    for (const [recordingId, info] of inits) {
      const slate = await this.options.slates?.get(slateEncoding(info));
      if (slate) slates.set(recordingId, slate);
    }
    const gap = (slate: Slate, file: string) => media.file("gap", `${slate.key}/${file}`);
    // Runs of one encoding play as one timeline; holes inside it are slate under the
    // recording's own init, which only H.264 slates can be (their parameter sets ride in the
    // frame under an id of their own) and only on the recording's track and timescale.
    const fillsUnderInit = (recordingId: string) => {
      const slate = slates.get(recordingId);
      const own = facts.get(recordingId)?.info;
      return !!slate && !!own && /^avc[13]\./.test(slate.codec) &&
        slate.trackId === own.trackId && slate.timescale === own.timescale;
    };
    // Segments fetched from outside play with their own decode times (nothing rewrites them):
    // runs are apart, with discontinuities, and only slate pieces come from the server.
    const stretches = outside
      ? new Map()
      : continuousStretches(timeline, (run): StretchEncoding | undefined => {
        const own = facts.get(run.recordingId);
        return own && {
          key: own.digest,
          timescale: own.info.timescale,
          fillsHoles: fillsUnderInit(run.recordingId),
        };
      }, { lone: type === "EVENT" }); // a growing playlist's URIs stay as listed
    const continuousPieceUri = (recordingId: string, slate: Slate) =>
      fillsUnderInit(recordingId)
        ? (total: number, count: number, index: number, ticks: number) => {
          const offset = facts.get(recordingId)!.editMediaTime;
          return gap(slate, `${total}/${count}/${index}.m4s`) + `&t=${ticks}` +
            (offset > 0 ? `&c=${offset}` : "");
        }
        : undefined;
    const extension = (recordingId: string) => mpegTs.has(recordingId) ? "ts" : "m4s";
    if (format === "hls") {
      const cameraKey = objectPrefix(camera);
      return utf8Text((write) =>
        writeHlsMediaPlaylist(timeline, {
          type,
          initUri: (recordingId, initKey) =>
            outside ? outside.object(initKey) : media.file(recordingId, "init.mp4"),
          // Segments as ingest names them: the sequence in 10 digits, `.ts` without an init.
          mediaUri: outside && !outside.template
            ? undefined
            : (recordingId, number, time) =>
              outside
                ? outside.template!(recordingId, number, extension(recordingId))
                : media.file(recordingId, `${number}.${extension(recordingId)}`) +
                  (time === undefined ? "" : `&t=${time}`),
          segmentUri: outside && !outside.template
            ? (recordingId, sequence) =>
              outside.object(
                `${cameraKey}${recordingId}/${String(sequence).padStart(10, "0")}.${
                  extension(recordingId)
                }`,
              )
            : undefined,
          gapUri: media.file("gap", "0000000000.m4s"),
          filler: (recordingId): HlsFiller | undefined => {
            const slate = slates.get(recordingId);
            return slate && {
              initUri: gap(slate, "init.mp4"),
              pieceUri: (total, count, index) => gap(slate, `${total}/${count}/${index}.m4s`),
              continuousPieceUri: continuousPieceUri(recordingId, slate),
            };
          },
          stretches,
          minTargetDuration: 2,
        }, write)
      );
    }
    return utf8Text((write) =>
      writeDashManifest(timeline, {
        type,
        initUri: (recordingId) => media.file(recordingId, "init.mp4"),
        // `$Number$` unpadded: the media route reads unpadded sequence numbers.
        mediaUri: (recordingId, number, time) =>
          media.file(recordingId, `${number}.m4s`) + (time === undefined ? "" : `&t=${time}`),
        video: (recordingId) => dashVideo(inits.get(recordingId)!),
        filler: (recordingId): DashFiller | undefined => {
          const slate = slates.get(recordingId);
          return slate && {
            initUri: gap(slate, "init.mp4"),
            mediaUri: (total, count, number) => gap(slate, `${total}/${count}/${number}.m4s`),
            continuousPieceUri: continuousPieceUri(recordingId, slate),
            video: {
              codec: slate.codec,
              width: slate.width,
              height: slate.height,
              // Two seconds of slate: its keyframe and the still frames after it.
              bandwidth: Math.ceil(
                (slate.samples.slice(0, 50).reduce((n, x) => n + x.byteLength, 0) * 8000) / 2000,
              ),
            },
          };
        },
        stretches,
        availabilityStartTime: "fromMs" in scope ? new Date(scope.fromMs) : undefined,
        now: new Date(this.#now()),
      }, write)
    );
  }

  /**
   * The HLS multivariant playlist of a range (see renditions.ts): the proxy variant first, then
   * the full one where the range holds any full segment; only the full one for a camera without
   * a proxy. `variantUri` names a variant's media playlist.
   */
  async multivariant(
    camera: CameraRef,
    range: { fromMs: number; toMs?: number },
    variantUri: (rendition: Rendition) => string,
  ): Promise<RenderedPlaylist> {
    const state = await this.#renditions(camera, range);
    const { proxy, full } = await state.timelines();
    if (proxy.runCount === 0 && full.runCount === 0 && state.final) {
      throw new NotFoundError("Nothing was recorded in that range");
    }
    const video = async (timeline: Timeline) => {
      for (const item of timeline.items) {
        if (item.kind === "run" && item.segmentCount > 0 && item.initKey !== null) {
          const read = await this.#init(item.initKey);
          if (read) return read.info;
        }
      }
    };
    const variants: HlsVariant[] = [];
    for (const [rendition, timeline] of [["proxy", proxy], ["full", full]] as const) {
      if (timeline.runCount === 0 && variants.length > 0) continue;
      if (timeline.runCount === 0 && rendition === "proxy") continue;
      variants.push({
        uri: variantUri(rendition),
        video: await video(timeline),
        ...bitrates(timeline),
      });
    }
    const body = new TextEncoder().encode(hlsMultivariantPlaylist(variants));
    return new RenderedPlaylist(
      body,
      playlistEtag(state.source, body),
      "application/vnd.apple.mpegurl",
      state.final,
    );
  }

  /**
   * One variant's HLS media playlist of a range's multivariant playlist: the proxy, or the full
   * rendition on the proxy's timeline with EXT-X-GAP where it was not uploaded (the plain full
   * timeline when the range has no proxy). Holes of both are EXT-X-GAP entries, so that both
   * variants keep the same entries; no slate.
   */
  async variantPlaylist(
    camera: CameraRef,
    range: { fromMs: number; toMs?: number },
    rendition: Rendition,
    cacheKey: string,
    link?: LinkGrant,
  ): Promise<RenderedPlaylist> {
    const now = this.#now();
    const expiresAt = link?.expiresAtMs ?? mediaUrlExpiry(now, this.options.mediaUrlTtlMs);
    const { kid } = this.urls.keyring.signing();
    const key = `variant ${rendition} ${cacheKey} ${expiresAt} ${kid} ${link?.id ?? ""}`;
    const current = this.cache.get(key, camera.cameraId);
    if (current) return current;
    const version = this.cache.version(camera.cameraId);
    const state = await this.#renditions(camera, range);
    const unchanged = this.cache.revalidate(key, camera.cameraId, version, state.source);
    if (unchanged) return unchanged;
    const timeline = (await state.timelines())[rendition];
    if (timeline.items.length === 0 && state.final) {
      throw new NotFoundError(`No ${rendition} rendition was recorded in that range`);
    }
    const media = new MediaUrls(
      this.urls,
      this.options.mediaBaseUrl,
      camera,
      expiresAt,
      link?.id,
      link === undefined ? undefined : sequenceRanges(timeline, state.final),
    );
    const body = utf8Text((write) =>
      writeHlsMediaPlaylist(timeline, {
        type: state.final ? "VOD" : "EVENT",
        initUri: (recordingId) => media.file(recordingId, "init.mp4"),
        mediaUri: (recordingId, number) => media.file(recordingId, `${number}.m4s`),
        gapUri: media.file("gap", "0000000000.m4s"),
        minTargetDuration: 2,
      }, write)
    );
    const rendered = new RenderedPlaylist(
      body,
      playlistEtag(`${key}\n${state.source}`, body),
      "application/vnd.apple.mpegurl",
      state.final,
    );
    this.cache.set(key, camera.cameraId, version, state.source, rendered);
    return rendered;
  }

  /**
   * The DASH MPD of a range's renditions (see dash_renditions.ts in lib/playlist): Periods of the
   * proxy alone and of the proxy with full quality, cut where what was uploaded changes; only
   * full quality for a camera without a proxy. Segment URLs carry their decode time in their
   * Period (`t`), so both Representations of a Period start together whatever their recordings'
   * clocks. `cacheKey` identifies the request (path and query).
   */
  async renditionsManifest(
    camera: CameraRef,
    range: { fromMs: number; toMs?: number },
    cacheKey: string,
    link?: LinkGrant,
  ): Promise<RenderedPlaylist> {
    const now = this.#now();
    const expiresAt = link?.expiresAtMs ?? mediaUrlExpiry(now, this.options.mediaUrlTtlMs);
    const { kid } = this.urls.keyring.signing();
    const key = `renditions-dash ${cacheKey} ${expiresAt} ${kid} ${link?.id ?? ""}`;
    const current = this.cache.get(key, camera.cameraId);
    if (current) return current;
    const version = this.cache.version(camera.cameraId);
    const state = await this.#renditions(camera, range);
    const unchanged = this.cache.revalidate(key, camera.cameraId, version, state.source);
    if (unchanged) return unchanged;
    const { proxy, full } = await state.timelines();
    const timelines = proxy.runCount > 0
      ? [["proxy", proxy], ["full", full]] as const
      : [["full", full]] as const;
    if (timelines[0][1].runCount === 0 && state.final) {
      throw new NotFoundError("Nothing was recorded in that range");
    }
    // What each recording's init segment says: its video, and its timescale for `t`.
    const facts = new Map<string, InitFacts>();
    for (const [, timeline] of timelines) {
      for (const item of timeline.items) {
        if (item.kind !== "run" || item.segmentCount === 0 || item.initKey === null) continue;
        const read = await this.#init(item.initKey);
        if (read) facts.set(item.recordingId, read);
      }
    }
    const media = new MediaUrls(
      this.urls,
      this.options.mediaBaseUrl,
      camera,
      expiresAt,
      link?.id,
      link === undefined ? undefined : new Map(
        timelines.flatMap(([, timeline]) => [...sequenceRanges(timeline, state.final)]),
      ),
    );
    const body = utf8Text((write) =>
      writeDashRenditions(
        timelines.map(([rendition, timeline]) => {
          const bandwidth = Math.max(1, bitrates(timeline).peakBps);
          return {
            id: rendition,
            timeline,
            video: (recordingId: string) => {
              const info = facts.get(recordingId)?.info;
              return info && { ...dashVideo(info), bandwidth };
            },
          };
        }),
        {
          type: state.final ? "VOD" : "EVENT",
          initUri: (recordingId) => media.file(recordingId, "init.mp4"),
          mediaUri: (recordingId, sequence, offsetMs) =>
            media.file(recordingId, `${sequence}.m4s`) +
            `&t=${Math.round((offsetMs * facts.get(recordingId)!.info.timescale) / 1000)}`,
          availabilityStartTime: new Date(range.fromMs),
          now: new Date(now),
        },
        write,
      )
    );
    const rendered = new RenderedPlaylist(
      body,
      playlistEtag(`${key}\n${state.source}`, body),
      "application/dash+xml",
      state.final,
    );
    this.cache.set(key, camera.cameraId, version, state.source, rendered);
    return rendered;
  }

  /** Both renditions' recordings of a range, and their timelines (the full one aligned). */
  async #renditions(camera: CameraRef, range: { fromMs: number; toMs?: number }) {
    const { recordings: catalog } = this.catalog;
    const now = this.#now();
    const { fromMs } = range;
    const toMs = range.toMs ?? Math.max(now, fromMs) + HOUR;
    if (toMs <= fromMs) throw new ValidationError('"to" must be after "from"');
    if (toMs - fromMs > MAX_RANGE_MS) {
      throw new ValidationError(`A playlist spans at most ${MAX_RANGE_MS / HOUR} hours`);
    }
    const [proxies, fulls] = await Promise.all(
      (["proxy", "full"] as const).map((r) =>
        catalog.list(camera.fleetId, camera.cameraId, fromMs, toMs, r)
      ),
    );
    const final = range.toMs !== undefined && range.toMs <= now;
    const timelines = async () => {
      const [proxySegments, fullSegments] = await Promise.all(
        (["proxy", "full"] as const).map((r) =>
          catalog.playlistSegmentsBetween(camera.cameraId, fromMs, toMs, r)
        ),
      );
      const common = { fromMs, toMs, gapToleranceMs: this.options.gapToleranceMs };
      const proxy = buildTimeline({ recordings: proxies, segments: proxySegments, ...common });
      const full = proxy.runCount === 0
        ? buildTimeline({ recordings: fulls, segments: fullSegments, ...common })
        : alignedTimeline(proxy, {
          initKeys: new Map(fulls.map((r) => [r.id, r.initKey])),
          segments: fullSegments,
        });
      return { proxy, full };
    };
    return {
      final,
      source: `${final ? "VOD" : "EVENT"} ${fromMs} ${toMs} ${proxies.map(stateOf).join(" ")} | ${
        fulls.map(stateOf).join(" ")
      }`,
      timelines,
    };
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
    const fragments = clipFragments(this.store, timeline, (skipped) => this.#skip(skipped));
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

  /** The timeline of `scope` (its segments with their object keys), and whether it can still grow. */
  async timeline(
    camera: CameraRef,
    scope: PlaybackScope,
  ): Promise<{ timeline: Timeline; final: boolean }> {
    const state = await this.#state(camera, scope);
    const timeline = buildTimeline({
      recordings: state.recordings,
      segments: await state.segments(true),
      fromMs: state.fromMs,
      toMs: state.toMs,
      gapToleranceMs: this.options.gapToleranceMs,
    });
    return { timeline, final: state.final };
  }

  /** Reads the recordings `scope` covers: cheap, and enough to tell whether anything changed. */
  async #state(camera: CameraRef, scope: PlaybackScope): Promise<ScopeState> {
    const { recordings: catalog } = this.catalog;
    const now = this.#now();
    if ("recordingId" in scope) {
      const recording = await catalog.get(camera.fleetId, camera.cameraId, scope.recordingId);
      if (!recording || recording.segmentCount === 0) {
        throw new NotFoundError(`Recording "${scope.recordingId}" not found`);
      }
      const final = await this.#finished(camera, recording, now);
      return {
        recordings: [recording],
        final,
        source: `${final ? "VOD" : "EVENT"} ${stateOf(recording)}`,
        segments: (keys) =>
          keys
            ? catalog.segments(camera.cameraId, recording.id)
            : catalog.playlistSegments(camera.cameraId, recording.id),
      };
    }
    const { fromMs } = scope;
    const toMs = scope.toMs ?? Math.max(now, fromMs) + HOUR;
    if (toMs <= fromMs) throw new ValidationError('"to" must be after "from"');
    if (toMs - fromMs > MAX_RANGE_MS) {
      throw new ValidationError(`A playlist spans at most ${MAX_RANGE_MS / HOUR} hours`);
    }
    // A range plays the full rendition; the proxy plays through the multivariant playlist.
    const recordings = await catalog.list(camera.fleetId, camera.cameraId, fromMs, toMs, "full");
    const final = scope.toMs !== undefined && scope.toMs <= now;
    // Every segment ends by its recording's endedAt: once the window reaches past all of them,
    // where exactly it ends (an open one moves with the clock) changes nothing.
    const reach = recordings.every((r) => r.endedAt.getTime() <= toMs) ? "all" : String(toMs);
    return {
      recordings,
      final,
      fromMs,
      toMs,
      source: `${final ? "VOD" : "EVENT"} ${fromMs} ${reach} ${recordings.map(stateOf).join(" ")}`,
      segments: (keys) =>
        keys
          ? catalog.segmentsBetween(camera.cameraId, fromMs, toMs)
          : catalog.playlistSegmentsBetween(camera.cameraId, fromMs, toMs),
    };
  }

  async #finished(camera: CameraRef, recording: Recording, now: number): Promise<boolean> {
    if (recording.closedAt) return true;
    if (now - recording.endedAt.getTime() > (this.options.idleCloseMs ?? 10 * 60_000)) return true;
    const later = await this.catalog.recordings.list(
      camera.fleetId,
      camera.cameraId,
      recording.endedAt.getTime(),
      undefined,
      recording.rendition,
    );
    return later.some((r) => r.id !== recording.id && r.startedAt > recording.startedAt);
  }

  /**
   * What an init segment says, read once; undefined (counted, logged, and not read again for a
   * minute) when it cannot be read.
   */
  async #init(initKey: string): Promise<InitFacts | undefined> {
    let info = this.#inits.get(initKey);
    if (!info) {
      const failedAt = this.#badInits.get(initKey);
      if (failedAt !== undefined && this.#now() - failedAt < 60_000) return undefined;
      try {
        const read = await this.store.read(initKey);
        if (!read) throw new NotFoundError(`Init segment "${initKey}" is missing from the store`);
        info = await initFacts(new Uint8Array(await new Response(read.body).arrayBuffer()));
      } catch (error) {
        this.#skip({ kind: "init", key: initKey, error });
        if (this.#badInits.size > 10_000) this.#badInits.clear();
        this.#badInits.set(initKey, this.#now());
        return undefined;
      }
      this.#badInits.delete(initKey);
      if (this.#inits.size > 10_000) this.#inits.clear();
      this.#inits.set(initKey, info);
    }
    return info;
  }
}

/**
 * The segment sequences of each recording a timeline lists, which a link's URLs are signed for;
 * open-ended while the playlist can still grow (later segments join the range).
 */
function sequenceRanges(timeline: Timeline, final: boolean): Map<string, SequenceRange> {
  const ranges = new Map<string, SequenceRange>();
  for (const item of timeline.items) {
    if (item.kind !== "run") continue;
    for (const entry of item.entries) {
      if (entry.kind !== "segment") continue;
      const range = ranges.get(item.recordingId);
      if (!range) {
        ranges.set(item.recordingId, { first: entry.sequence, last: entry.sequence });
      } else {
        range.first = Math.min(range.first, entry.sequence);
        range.last = Math.max(range.last!, entry.sequence);
      }
    }
  }
  if (!final) { for (const range of ranges.values()) range.last = null; }
  return ranges;
}

function hasGaps(timeline: Timeline): boolean {
  return timeline.items.some((item) =>
    item.kind === "gap" || item.entries.some((entry) => entry.kind === "gap")
  );
}

function dashVideo(info: InitSegmentInfo): DashVideo {
  return { codec: info.codec, width: info.width, height: info.height };
}

/** Where a camera's objects are in the store. */
function objectPrefix(camera: CameraRef): string {
  return cameraPrefix(camera.fleetId, camera.vehicleId, camera.cameraId);
}

/** A recording's state as far as its segments go (see `ScopeState.source`). */
function stateOf(r: Recording): string {
  return `${r.id}:${r.segmentCount}:${r.startedAt.getTime()}:${r.endedAt.getTime()}:${
    r.initKey ?? ""
  }`;
}
