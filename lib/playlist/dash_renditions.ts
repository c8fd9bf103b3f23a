/**
 * A DASH MPD of a range's renditions: one video AdaptationSet whose Representations are the
 * renditions available at each moment, the first (the proxy) complete and the others (full
 * quality) where they were uploaded.
 *
 * dash.js and Shaka Player do not fall back to another Representation when one's segment is
 * missing (an absent `<S>` is a hole for every Representation, a 404 is an error), so the MPD is
 * cut into Periods wherever what is available changes: a Period lists exactly the Representations
 * that have every segment of it (proxy-only Periods, Periods with both), and the player picks
 * between those by bandwidth as usual. The later renditions are laid on the first's timeline (see
 * `alignedTimeline` in lib/playback), so a Period's Representations share one SegmentTimeline.
 *
 * Choices:
 * - Each Representation is a SegmentList with one `SegmentURL` per `<S>` (no `@r`: dash.js 5 picks
 *   a SegmentList's URL by the index of the `<S>`), on a timeline in milliseconds from the Period's
 *   start (`presentationTimeOffset` 0). Each URL is made by the caller for the segment's offset
 *   in its Period (`mediaUri`): served with its decode time moved there, so every Representation
 *   starts at zero whatever its recording's clock, and switching lands on the same instant.
 * - A hole of the first rendition (inside a run or between runs) ends its Period's media; the next
 *   Period starts after it (no filler), and players jump the hole. A new recording of any
 *   rendition is a new Period (a new init segment).
 * - Period ids are the Representations present and the Period's start in Unix milliseconds
 *   (`proxy+full-1765000000000`). `@duration` runs to the next Period's start (a Period ending
 *   sooner leaves dash.js 5 short of the last Periods) and lets libavformat, which plays one Period
 *   of an MPD, play the longest.
 * - Static (VOD) and dynamic (EVENT) MPDs as in {@linkcode writeDashManifest}.
 */
import { ChunkedSink, isoDateTime, xmlAttribute, xsDuration } from "./format.ts";
import type { DashVideo } from "./dash.ts";
import type { Timeline, TimelineRun, TimelineSegment } from "./timeline.ts";

/** One rendition of a range, for {@linkcode writeDashRenditions}. */
export interface DashRendition {
  /** Representation id, e.g. `proxy`, `full`. */
  id: string;
  /**
   * Its timeline. After the first, laid on the first's: the same items, and in each run the same
   * entries (a gap where this rendition has no segment).
   */
  timeline: Timeline;
  /** The video of one of its recordings; undefined when unknown (its segments count as absent). */
  video: (recordingId: string) => DashVideo | undefined;
}

/** Options of {@linkcode writeDashRenditions}. */
export interface DashRenditionsOptions {
  /** `VOD` → `type="static"`; `EVENT` → `type="dynamic"`, still growing. */
  type: "VOD" | "EVENT";
  /** URL of a recording's init segment (signed by the caller). */
  initUri: (recordingId: string, initKey: string) => string;
  /** URL of a segment serving it from `offsetMs` after its Period's start (its decode time moved there). */
  mediaUri: (recordingId: string, sequence: number, offsetMs: number) => string;
  /** publishTime (and UTCTiming) of a dynamic MPD; default now. */
  now?: Date;
  /** availabilityStartTime of a dynamic MPD; default, and at the latest, the timeline's start. */
  availabilityStartTime?: Date;
}

/** A Period: entries [first, last] of item `item`, with the renditions (indexes) having them all. */
interface RenditionPeriod {
  item: number;
  first: number;
  last: number;
  present: number[];
}

// deno-lint-ignore no-control-regex -- XML 1.0 cannot hold these, escaped or not
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/;

/**
 * Writes `renditions` (the first complete, the others laid on it) as one DASH MPD, handing the
 * text to `write` in chunks; a RangeError when a static MPD would have no segment, a TypeError
 * when a later rendition is not laid on the first's timeline.
 */
export function writeDashRenditions(
  renditions: readonly DashRendition[],
  options: DashRenditionsOptions,
  write: (chunk: string) => void,
): void {
  if (renditions.length === 0) throw new TypeError("Cannot write an MPD of no rendition");
  const base = renditions[0].timeline;
  const periods = renditionPeriods(renditions);
  const dynamic = options.type === "EVENT";
  if (periods.length === 0 && !dynamic) {
    throw new RangeError("Cannot write a static MPD for a timeline with no segment");
  }
  const zeroMs = periods.length === 0
    ? (options.availabilityStartTime ?? options.now ?? new Date()).getTime()
    : dynamic
    ? Math.min(options.availabilityStartTime?.getTime() ?? Infinity, base.startMs)
    : base.startMs;
  const longestMs = periods.length === 0
    ? 2000
    : Math.max(1, Math.round(base.maxSegmentDurationMs));
  const publishTime = isoDateTime(options.now?.getTime() ?? Date.now());
  const sink = new ChunkedSink(write);
  sink.push(
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
      '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" ' +
      'profiles="urn:mpeg:dash:profile:isoff-live:2011" ' +
      (dynamic
        ? `type="dynamic" availabilityStartTime="${isoDateTime(zeroMs)}" ` +
          `publishTime="${publishTime}" minimumUpdatePeriod="${xsDuration(longestMs)}" `
        : `type="static" mediaPresentationDuration="${xsDuration(base.endMs - base.startMs)}" `) +
      `maxSegmentDuration="${xsDuration(longestMs)}" ` +
      `minBufferTime="${xsDuration(Math.max(2000, longestMs))}">\n`,
  );
  const startOf = (period: RenditionPeriod) =>
    (base.items[period.item] as TimelineRun).entries[period.first].startMs;
  periods.forEach((period, k) => {
    const run = (index: number) => renditions[index].timeline.items[period.item] as TimelineRun;
    const entries = run(0).entries.slice(period.first, period.last + 1) as TimelineSegment[];
    const startMs = entries[0].startMs;
    // Up to the next Period: a hole belongs to the Period before it, as players count it.
    const endMs = k + 1 < periods.length
      ? startOf(periods[k + 1])
      : entries.at(-1)!.startMs + entries.at(-1)!.durationMs;
    const ids = period.present.map((index) => renditions[index].id);
    sink.push(
      `  <Period id="${xmlAttribute(`${ids.join("+")}-${Math.round(startMs)}`)}" ` +
        `start="${xsDuration(startMs - zeroMs)}" duration="${xsDuration(endMs - startMs)}">\n` +
        '    <AdaptationSet contentType="video" mimeType="video/mp4" segmentAlignment="true" ' +
        'startWithSAP="1">\n',
    );
    for (const index of period.present) {
      const own = run(index);
      const segments = own.entries.slice(period.first, period.last + 1) as TimelineSegment[];
      const video = renditions[index].video(own.recordingId)!;
      const init = checkUri(options.initUri(own.recordingId, own.initKey!), own);
      sink.push(
        `      <Representation id="${xmlAttribute(renditions[index].id)}" ` +
          `bandwidth="${video.bandwidth ?? peakBitRate(segments)}" ` +
          `codecs="${xmlAttribute(video.codec)}" width="${video.width}" height="${video.height}"` +
          (video.frameRate ? ` frameRate="${xmlAttribute(video.frameRate)}"` : "") + ">\n" +
          '        <SegmentList timescale="1000" presentationTimeOffset="0">\n' +
          `          <Initialization sourceURL="${xmlAttribute(init)}"/>\n` +
          "          <SegmentTimeline>\n",
      );
      // The first rendition's times: every Representation of the Period plays on them.
      let end = NaN;
      const offsets = entries.map((entry) => {
        const start = Math.round(entry.startMs - startMs);
        const stop = Math.round(entry.startMs + entry.durationMs - startMs);
        sink.push(`            <S${start === end ? "" : ` t="${start}"`} d="${stop - start}"/>\n`);
        end = stop;
        return start;
      });
      sink.push("          </SegmentTimeline>\n");
      segments.forEach((segment, i) => {
        const uri = checkUri(options.mediaUri(own.recordingId, segment.sequence, offsets[i]), own);
        sink.push(`          <SegmentURL media="${xmlAttribute(uri)}"/>\n`);
      });
      sink.push("        </SegmentList>\n      </Representation>\n");
    }
    sink.push("    </AdaptationSet>\n  </Period>\n");
  });
  if (periods.length === 0) sink.push('  <Period id="pending" start="PT0S"/>\n');
  if (dynamic) {
    sink.push(
      `  <UTCTiming schemeIdUri="urn:mpeg:dash:utc:direct:2014" value="${publishTime}"/>\n`,
    );
  }
  sink.push("</MPD>\n");
  sink.flush();
}

/** {@linkcode writeDashRenditions} into one string. */
export function dashRenditions(
  renditions: readonly DashRendition[],
  options: DashRenditionsOptions,
): string {
  const chunks: string[] = [];
  writeDashRenditions(renditions, options, (chunk) => chunks.push(chunk));
  return chunks.join("");
}

/**
 * The Periods of `renditions`: consecutive segments of the first rendition's runs, cut at its
 * holes and wherever the set of renditions having the segment (with a known video) changes.
 */
function renditionPeriods(renditions: readonly DashRendition[]): RenditionPeriod[] {
  const base = renditions[0].timeline;
  const periods: RenditionPeriod[] = [];
  base.items.forEach((item, k) => {
    if (item.kind !== "run") return;
    const runs = renditions.map(({ id, timeline }) => {
      const run = timeline.items[k];
      if (run?.kind !== "run" || run.entries.length !== item.entries.length) {
        throw new TypeError(
          `Cannot write rendition "${id}": it is not laid on the first's timeline`,
        );
      }
      return run;
    });
    const known = renditions.map((rendition, j) =>
      runs[j].initKey !== null && rendition.video(runs[j].recordingId) !== undefined
    );
    let open: RenditionPeriod | undefined;
    item.entries.forEach((entry, i) => {
      const present = entry.kind === "gap"
        ? []
        : runs.flatMap((run, j) => known[j] && run.entries[i].kind === "segment" ? [j] : []);
      // The first rendition must be there: the others are only laid on its segments.
      if (present[0] !== 0) {
        open = undefined;
        return;
      }
      if (open && open.present.join() === present.join()) {
        open.last = i;
        return;
      }
      open = { item: k, first: i, last: i, present };
      periods.push(open);
    });
  });
  return periods;
}

function peakBitRate(segments: readonly TimelineSegment[]): number {
  let peak = 0;
  for (const segment of segments) {
    if (segment.durationMs > 0) {
      peak = Math.max(peak, Math.ceil((segment.size * 8000) / segment.durationMs));
    }
  }
  return Math.max(1, peak);
}

function checkUri(uri: string, run: TimelineRun): string {
  if (CONTROL.test(uri)) {
    throw new TypeError(`Cannot use URI of recording "${run.recordingId}": control character`);
  }
  return uri;
}
