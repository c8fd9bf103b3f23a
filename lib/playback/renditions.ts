/**
 * Playing both renditions of a range: the proxy complete, the full rendition where it was
 * uploaded (continuously or recalled), as one HLS multivariant playlist of two variants.
 *
 * The proxy is made by the same capture as the full rendition, with keyframes at the same times,
 * so their segments start at the same instants. The full variant is therefore written on the
 * proxy's timeline: the same runs, the same entries and durations, with each proxy segment
 * replaced by the full segment that starts with it, or by an EXT-X-GAP entry where there is none.
 * Both variants then have the same discontinuities, durations and program date-times, as
 * rfc8216bis asks of variants (6.2.4: matching content, matching timestamps and discontinuity
 * sequence numbers), and a client meeting a gap looks for another variant without it (6.3.3):
 * hls.js (since 1.4) switches level on its FRAG_GAP error, Shaka Player marks the segment missing
 * and disables the variant for a moment; Safari follows the spec. A player that does not switch
 * (libavformat picks one variant) plays the variant it chose: the proxy, listed first so that
 * players that start with the first variant play it end to end.
 */
import type { PlaylistSegment } from "../catalog/mod.ts";
import type { InitSegmentInfo } from "../media/mod.ts";
import type { Timeline, TimelineGap, TimelineRun, TimelineSegment } from "../playlist/mod.ts";

/** How far apart (ms) a full segment may start from the proxy segment it stands for. */
export const RENDITION_ALIGN_MS = 250;

/** What the full rendition has, for {@linkcode alignedTimeline}. */
export interface FullRendition {
  /** Init segment keys of the full recordings (null: not uploaded yet, not playable). */
  initKeys: ReadonlyMap<string, string | null>;
  /** Its segments in the range, in any order. */
  segments: readonly PlaylistSegment[];
}

/**
 * The full rendition laid on the proxy's timeline: the proxy's runs and entries, each proxy
 * segment replaced by the full segment starting within {@linkcode RENDITION_ALIGN_MS} of it (of
 * one full recording per run, with its init segment), else by a gap of the same length.
 */
export function alignedTimeline(proxy: Timeline, full: FullRendition): Timeline {
  const starts = full.segments
    .filter((s) => full.initKeys.get(s.recordingId))
    .sort((a, b) => a.startMs - b.startMs);
  const nearest = (startMs: number): PlaylistSegment | undefined => {
    let low = 0;
    let high = starts.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (starts[middle].startMs < startMs - RENDITION_ALIGN_MS) low = middle + 1;
      else high = middle;
    }
    const found = starts[low];
    return found && Math.abs(found.startMs - startMs) <= RENDITION_ALIGN_MS ? found : undefined;
  };
  let segmentCount = 0;
  let runCount = 0;
  const items = proxy.items.map((item): TimelineRun | TimelineGap => {
    if (item.kind === "gap") return item;
    let recordingId: string | undefined;
    const entries = item.entries.map((entry): TimelineSegment | TimelineGap => {
      if (entry.kind === "gap") return entry;
      // The proxy segment's own start (`objectKey` unused here): placed starts equal the
      // vehicle's within a run unless jitter was absorbed, which the tolerance covers.
      const match = nearest(entry.startMs);
      if (match && (recordingId === undefined || match.recordingId === recordingId)) {
        recordingId = match.recordingId;
        return {
          kind: "segment",
          sequence: match.sequence,
          startMs: entry.startMs,
          durationMs: entry.durationMs,
          size: match.size,
        };
      }
      return { kind: "gap", startMs: entry.startMs, durationMs: entry.durationMs };
    });
    const count = entries.filter((e) => e.kind === "segment").length;
    segmentCount += count;
    if (count > 0) runCount++;
    return {
      ...item,
      recordingId: recordingId ?? item.recordingId,
      initKey: recordingId === undefined ? item.initKey : full.initKeys.get(recordingId)!,
      entries,
      segmentCount: count,
    };
  });
  return { ...proxy, items, segmentCount, runCount };
}

/** A variant of a multivariant playlist. */
export interface HlsVariant {
  uri: string;
  /** Its init segment's video (codec, size), when readable. */
  video?: Pick<InitSegmentInfo, "codec" | "width" | "height">;
  /** Peak and average bits per second of its segments. */
  peakBps: number;
  averageBps: number;
}

/** Peak and average bits per second of a timeline's segments (0 without any). */
export function bitrates(timeline: Timeline): { peakBps: number; averageBps: number } {
  let peak = 0;
  let bytes = 0;
  let ms = 0;
  for (const item of timeline.items) {
    if (item.kind !== "run") continue;
    for (const entry of item.entries) {
      if (entry.kind !== "segment" || entry.durationMs <= 0) continue;
      peak = Math.max(peak, (entry.size * 8000) / entry.durationMs);
      bytes += entry.size;
      ms += entry.durationMs;
    }
  }
  return { peakBps: Math.ceil(peak), averageBps: ms ? Math.ceil((bytes * 8000) / ms) : 0 };
}

/** An HLS multivariant playlist of `variants`, in their order (the first is where players start). */
export function hlsMultivariantPlaylist(variants: readonly HlsVariant[]): string {
  const lines = ["#EXTM3U", "#EXT-X-VERSION:6", "#EXT-X-INDEPENDENT-SEGMENTS"];
  for (const variant of variants) {
    if (/[\r\n]/.test(variant.uri)) {
      throw new TypeError(`Variant URI "${variant.uri}" has a newline`);
    }
    const attributes = [
      `BANDWIDTH=${Math.max(1, variant.peakBps)}`,
      `AVERAGE-BANDWIDTH=${Math.max(1, variant.averageBps)}`,
      ...(variant.video
        ? [
          `CODECS="${variant.video.codec}"`,
          `RESOLUTION=${variant.video.width}x${variant.video.height}`,
        ]
        : []),
    ];
    lines.push(`#EXT-X-STREAM-INF:${attributes.join(",")}`, variant.uri);
  }
  return lines.join("\n") + "\n";
}
