/// <reference lib="dom" />
/**
 * hls.js on a `<video>`, with the playlist's wall clock: EXT-X-PROGRAM-DATE-TIME opens the
 * playlist and every piece after a discontinuity, and holes are slate pieces, so the media
 * timeline runs at wall-clock pace from the first piece's date.
 */
// The light build (no subtitles, alternate audio or DRM, which recordings never carry).
// @ts-types="hls.js"
import Hls from "hls.js/dist/hls.light.mjs";

/** A playing playlist. */
export interface HlsPlayer {
  /** Seeks to wall-clock instant `ms` (epoch). */
  seekTo(ms: number): void;
  /** The wall-clock instant playing, when the playlist is loaded. */
  now(): number | null;
  destroy(): void;
}

/** What {@linkcode startHls} reports. */
export interface HlsOptions {
  /** Where to start: a wall-clock instant, or the live edge. */
  seekMs: number | "live";
  onTime(ms: number): void;
  onError(message: string): void;
  onPlaying(ms: number | null): void;
  /**
   * For a multivariant playlist whose full-quality variant has gaps: whether full quality is on
   * the server at wall-clock instant `ms`. Each piece then loads in full quality where it is, in
   * the proxy elsewhere, instead of what the bandwidth estimate starts with (the proxy) and
   * hls.js's gap handling makes of it (a variant that met a gap is never picked again).
   */
  fullAt?: (ms: number) => boolean;
}

/** Plays `url` on `video` with hls.js (or natively where Media Source is missing: Safari). */
export function startHls(video: HTMLVideoElement, url: string, options: HlsOptions): HlsPlayer {
  let base: { dateMs: number; start: number } | null = null;
  let pending: number | "live" | null = options.seekMs;
  const now = () => base ? base.dateMs + (video.currentTime - base.start) * 1000 : null;
  const onTime = () => {
    const ms = now();
    if (ms !== null) options.onTime(ms);
  };
  const onPlaying = () => options.onPlaying(now());
  video.addEventListener("timeupdate", onTime);
  video.addEventListener("playing", onPlaying);
  /** Picks the rendition of the piece at wall-clock `ms` (with {@linkcode HlsOptions.fullAt}). */
  let chooseAt: ((ms: number) => void) | null = null;
  const seek = () => {
    if (pending === null || base === null) return;
    if (pending === "live") {
      if (hls?.liveSyncPosition != null) video.currentTime = hls.liveSyncPosition;
    } else {
      video.currentTime = Math.max(base.start, base.start + (pending - base.dateMs) / 1000);
      chooseAt?.(pending);
    }
    pending = null;
    void video.play().catch(() => {});
  };
  let hls: Hls | null = null;
  if (Hls.isSupported()) {
    hls = new Hls({ enableWorker: true, lowLatencyMode: false, backBufferLength: 60 });
    const player = hls;
    /** Asks for the next piece, from wall-clock `ms`, in full quality where it is on the server. */
    const choose = (ms: number) => {
      const levels = player.levels;
      if (!options.fullAt || levels.length < 2) return;
      const best = levels.reduce((b, level, i) => level.height > levels[b].height ? i : b, 0);
      const least = levels.reduce((b, level, i) => level.height < levels[b].height ? i : b, 0);
      player.nextAutoLevel = options.fullAt(ms + 100) ? best : least;
    };
    chooseAt = choose;
    hls.on(Hls.Events.FRAG_LOADED, (_event, data) => {
      if (base && data.frag.type === "main") {
        choose(base.dateMs + (data.frag.start + data.frag.duration - base.start) * 1000);
      }
    });
    hls.on(Hls.Events.LEVEL_LOADED, (_event, data) => {
      const first = data.details.fragments[0];
      if (!base && first?.programDateTime) {
        base = { dateMs: first.programDateTime, start: first.start };
      }
      seek();
    });
    hls.on(Hls.Events.ERROR, (_event, data) => {
      if (data.fatal) options.onError(`Playback failed: ${data.details}`);
    });
    hls.loadSource(url);
    hls.attachMedia(video);
  } else {
    video.src = url;
    video.addEventListener("loadedmetadata", () => {
      const date = (video as HTMLVideoElement & { getStartDate?: () => Date }).getStartDate?.();
      if (date && !Number.isNaN(date.getTime())) base = { dateMs: date.getTime(), start: 0 };
      seek();
    }, { once: true });
  }
  return {
    seekTo(ms) {
      pending = ms;
      seek();
    },
    now,
    destroy() {
      video.removeEventListener("timeupdate", onTime);
      video.removeEventListener("playing", onPlaying);
      hls?.destroy();
      if (!hls) video.removeAttribute("src");
    },
  };
}
