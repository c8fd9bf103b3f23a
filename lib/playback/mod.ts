/** Playback of recordings: HLS and DASH playlists with signed segment URLs, and clip export. */
export {
  type CameraRef,
  type FillerBytes,
  type LinkGrant,
  MAX_CLIP_MS,
  MAX_RANGE_MS,
  Playback,
  type PlaybackOptions,
  type PlaybackScope,
} from "./playback.ts";
export { PlaylistCache } from "./playlist_cache.ts";
export { RenderedPlaylist } from "./rendered_playlist.ts";
export { clipFragments, rebaseFragment, type SkippedObject } from "./clip.ts";
export {
  type InitFacts,
  initFacts,
  MAX_STRETCH_TICKS,
  timedEtag,
  type TimedSegment,
  timedSegment,
} from "./stretch_media.ts";
