/**
 * Playlists of recorded video: `buildTimeline` lays a camera's recordings and segments out as
 * runs and gaps; `writeHlsMediaPlaylist` and `writeDashManifest` stream that timeline as an HLS
 * media playlist or a DASH MPD, in time linear in the number of segments. Pure: URLs come from
 * the caller's callbacks (which sign them), text goes to the caller's sink.
 *
 * @example
 * const timeline = buildTimeline({ recordings, segments, fromMs, toMs });
 * const m3u8 = hlsMediaPlaylist(timeline, { type: "VOD", segmentUri, initUri, gapUri });
 */
export {
  buildTimeline,
  DEFAULT_GAP_TOLERANCE_MS,
  type DroppedSegments,
  type Timeline,
  type TimelineGap,
  type TimelineInput,
  type TimelineRecording,
  type TimelineRun,
  type TimelineSegment,
  type TimelineSegmentInput,
  withoutRuns,
} from "./timeline.ts";
export { type GapPiece, gapPiece, gapPieceCount } from "./gap_pieces.ts";
export {
  type HlsFiller,
  hlsMediaPlaylist,
  type HlsMediaPlaylistOptions,
  hlsTargetDuration,
  writeHlsMediaPlaylist,
} from "./hls.ts";
export {
  type DashFiller,
  dashManifest,
  type DashManifestOptions,
  type DashVideo,
  writeDashManifest,
} from "./dash.ts";
export {
  type DashRendition,
  dashRenditions,
  type DashRenditionsOptions,
  writeDashRenditions,
} from "./dash_renditions.ts";
export {
  continuousStretches,
  type RunStretch,
  type StretchEncoding,
  stretchTicks,
} from "./stretches.ts";
