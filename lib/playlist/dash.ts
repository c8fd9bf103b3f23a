/**
 * DASH MPDs (ISO/IEC 23009-1, isoff-live profile) written straight from a timeline, in time
 * linear in the number of segments.
 *
 * Layout: one Period per run (id = recording id, start relative to the first run, or to
 * availabilityStartTime when dynamic), each with one video AdaptationSet and Representation and
 * a SegmentTemplate addressed by `$Number$` = the segment's sequence (`startNumber` = the first)
 * over a SegmentTimeline in milliseconds (timescale 1000). Equal consecutive durations share one
 * `<S>` (`@r`). A hole is a filler Period when the caller has filler for the encoding around it
 * (`filler`): a slate's own init segment and pieces cut as `gapPiece` says, addressed by
 * `$Number$` from 0, so the Periods tile the timeline and every player plays through the hole.
 * Without filler, a gap inside a run restarts the timeline with an explicit `@t`, and a gap
 * between runs is the distance between their Period starts.
 *
 * Choices:
 * - `$Number$` counts the S entries of a Period, so a run whose sequence numbers skip (a segment
 *   never arrived or was dropped), or that has a hole filled by filler, continues in a new
 *   Period there, with id `<recordingId>-<first sequence>`. Filler Periods are `gap-<ms>`, the
 *   hole's start in Unix milliseconds.
 * - `$Number$` is written unpadded by default: libavformat (ffmpeg, ffprobe, mpv) reads a
 *   `%0Nd` width of one digit only, so `$Number%010d$` cannot be opened there.
 * - Timeline times are media times: the placed start minus the run's `originMs` (the recording's
 *   start, where its media clock is taken to be zero); `presentationTimeOffset` is the Period's
 *   first `@t`, so the Period's first segment plays at the Period start.
 * - `@bandwidth` is the peak bit rate of a Period's segments (size over duration) unless the
 *   caller states one.
 * - Dynamic (EVENT) MPDs have no timeShiftBufferDepth: the whole DVR window stays seekable.
 *   They carry a `urn:mpeg:dash:utc:direct:2014` UTCTiming with the publish time.
 * - Only fMP4 (CMAF) runs can be described; an MPEG-TS run is a TypeError.
 */
import { ChunkedSink, isoDateTime, xmlAttribute, xsDuration } from "./format.ts";
import { gapPiece, gapPieceCount } from "./gap_pieces.ts";
import type { Timeline, TimelineGap, TimelineRun, TimelineSegment } from "./timeline.ts";

/** The video of a recording, from its init segment (see `parseInitSegment` in lib/media). */
export interface DashVideo {
  /** RFC 6381 codecs string, e.g. `avc1.64001f`. */
  codec: string;
  width: number;
  height: number;
  /** `"25"` or `"30000/1001"`, when known. */
  frameRate?: string;
  /** Bits per second; computed from segment sizes when absent. */
  bandwidth?: number;
}

/** Filler for the holes of one encoding: a slate's init segment, pieces and video. */
export interface DashFiller {
  /** URL of the filler's init segment (signed by the caller); any `$` is escaped as `$$`. */
  initUri: string;
  /**
   * URL template of the pieces of a hole of `totalMs` cut into `count` pieces: place `number`
   * (the `$Number…$` identifier, counting pieces from 0) verbatim where the index goes.
   */
  mediaUri: (totalMs: number, count: number, number: string) => string;
  video: DashVideo;
}

/** Options of {@linkcode writeDashManifest}. */
export interface DashManifestOptions {
  /** `VOD` → `type="static"`; `EVENT` → `type="dynamic"`, still growing. */
  type: "VOD" | "EVENT";
  /** URL of a recording's init segment (signed by the caller); any `$` is escaped as `$$`. */
  initUri: (recordingId: string, initKey: string) => string;
  /**
   * URL template of a recording's media segments: place `number` (the `$Number…$` identifier)
   * verbatim where the sequence goes, e.g. `${base}/${recordingId}/${number}.m4s?${query}`.
   * Every other `$` is escaped as `$$`.
   */
  mediaUri: (recordingId: string, number: string) => string;
  /** Zero-padded width of `$Number$`; default 0 (none; see the module doc). */
  numberWidth?: number;
  /** The video of a recording. */
  video: (recordingId: string) => DashVideo;
  /**
   * Filler for a hole next to recording `recordingId` (inside its run, or after it): undefined
   * when there is none, and the hole is left between Periods (or `@t`) instead.
   */
  filler?: (recordingId: string) => DashFiller | undefined;
  /** Longest filler piece; default the longest segment, at least 2 s. */
  maxFillerPieceMs?: number;
  /** publishTime (and UTCTiming) of a dynamic MPD; default now. */
  now?: Date;
  /**
   * availabilityStartTime of a dynamic MPD (keep it stable across updates, e.g. the window's
   * start); default, and at the latest, the timeline's start.
   */
  availabilityStartTime?: Date;
  /** minimumUpdatePeriod of a dynamic MPD; default the longest segment duration. */
  minimumUpdatePeriodMs?: number;
}

// deno-lint-ignore no-control-regex -- XML 1.0 cannot hold these, escaped or not
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/;

/**
 * Writes `timeline` as a DASH MPD, handing the text to `write` in chunks. An empty timeline is
 * a dynamic MPD with no Period yet (nothing recorded so far), and a RangeError when static.
 */
export function writeDashManifest(
  timeline: Timeline,
  options: DashManifestOptions,
  write: (chunk: string) => void,
): void {
  const runs = timeline.items.filter((item): item is TimelineRun => item.kind === "run");
  const dynamic = options.type === "EVENT";
  if (runs.length === 0 && !dynamic) {
    throw new RangeError("Cannot write a static MPD for a timeline with no segment");
  }
  for (const run of runs) {
    if (run.initKey === null) {
      throw new TypeError(`Cannot describe MPEG-TS recording "${run.recordingId}" in DASH`);
    }
  }
  // A Period cannot start before availabilityStartTime, and a window's first segment (kept whole)
  // may start before the window: then the timeline's start wins.
  const zeroMs = runs.length === 0
    ? (options.availabilityStartTime ?? options.now ?? new Date()).getTime()
    : dynamic
    ? Math.min(options.availabilityStartTime?.getTime() ?? Infinity, timeline.startMs)
    : timeline.startMs;
  const width = options.numberWidth ?? 0;
  const numberIdentifier = width > 0 ? `$Number%0${width}d$` : "$Number$";
  const longestMs = runs.length === 0
    ? 2000
    : Math.max(1, Math.round(timeline.maxSegmentDurationMs));

  const sink = new ChunkedSink(write);
  let root = '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" ' +
    'profiles="urn:mpeg:dash:profile:isoff-live:2011" ';
  const publishTime = isoDateTime(options.now?.getTime() ?? Date.now());
  if (dynamic) {
    root += `type="dynamic" availabilityStartTime="${isoDateTime(zeroMs)}" ` +
      `publishTime="${publishTime}" ` +
      `minimumUpdatePeriod="${xsDuration(options.minimumUpdatePeriodMs ?? longestMs)}" `;
  } else {
    root += `type="static" ` +
      `mediaPresentationDuration="${xsDuration(timeline.endMs - timeline.startMs)}" `;
  }
  root += `maxSegmentDuration="${xsDuration(longestMs)}" ` +
    `minBufferTime="${xsDuration(Math.max(2000, longestMs))}">\n`;
  sink.push(root);

  const periodIds = new Set<string>();
  const maxPieceMs = options.maxFillerPieceMs ?? Math.max(2000, longestMs);
  const writeFiller = (gap: TimelineGap, recordingId: string) => {
    const filler = options.filler?.(recordingId);
    const total = Math.round(gap.durationMs);
    const count = filler ? gapPieceCount(total, maxPieceMs) : 0;
    if (!filler || count === 0) return;
    let id = `gap-${Math.round(gap.startMs)}`;
    for (let n = 2; periodIds.has(id); n++) id = `gap-${Math.round(gap.startMs)}-${n}`;
    periodIds.add(id);
    const pieces = checkFillerUri(filler.mediaUri(total, count, numberIdentifier))
      .split(numberIdentifier);
    if (pieces.length < 2) {
      throw new TypeError(`Cannot use filler URI "${pieces[0]}": it lacks "${numberIdentifier}"`);
    }
    const media = pieces.map(escapeDollars).join(numberIdentifier);
    const init = escapeDollars(checkFillerUri(filler.initUri));
    const { video } = filler;
    const first = gapPiece(total, count, 0).durationMs;
    const longer = total - Math.floor(total / count) * count;
    const s = longer === 0 || longer === count
      ? `            <S t="0" d="${first}"${count > 1 ? ` r="${count - 1}"` : ""}/>\n`
      : `            <S t="0" d="${first}"${longer > 1 ? ` r="${longer - 1}"` : ""}/>\n` +
        `            <S d="${first - 1}"${
          count - longer > 1 ? ` r="${count - longer - 1}"` : ""
        }/>\n`;
    sink.push(
      `  <Period id="${xmlAttribute(id)}" start="${xsDuration(gap.startMs - zeroMs)}">\n` +
        '    <AdaptationSet contentType="video" mimeType="video/mp4" segmentAlignment="true" ' +
        'startWithSAP="1">\n' +
        `      <Representation id="video" bandwidth="${video.bandwidth ?? 1000}" ` +
        `codecs="${xmlAttribute(video.codec)}" width="${video.width}" height="${video.height}"` +
        ">\n" +
        `        <SegmentTemplate timescale="1000" presentationTimeOffset="0" startNumber="0" ` +
        `initialization="${xmlAttribute(init)}" media="${xmlAttribute(media)}">\n` +
        "          <SegmentTimeline>\n" + s +
        "          </SegmentTimeline>\n" +
        "        </SegmentTemplate>\n" +
        "      </Representation>\n" +
        "    </AdaptationSet>\n" +
        "  </Period>\n",
    );
  };
  let previousRun: TimelineRun | undefined;
  for (const item of timeline.items) {
    if (item.kind === "gap") {
      if (previousRun) writeFiller(item, previousRun.recordingId);
      continue;
    }
    const run = item;
    previousRun = run;
    const media = templatePieces(
      options.mediaUri(run.recordingId, numberIdentifier),
      run,
      numberIdentifier,
    );
    const init = escapeDollars(checkUri(options.initUri(run.recordingId, run.initKey!), run));
    const video = options.video(run.recordingId);
    const fill = options.filler?.(run.recordingId) !== undefined;
    let previousLast = -1;
    for (const [first, last] of periodsOf(run.entries, fill)) {
      for (let i = previousLast + 1; i < first && previousLast >= 0; i++) {
        const entry = run.entries[i];
        if (entry.kind === "gap") writeFiller(entry, run.recordingId);
      }
      previousLast = last;
      const firstSegment = run.entries[first] as TimelineSegment;
      let id = periodIds.has(run.recordingId)
        ? `${run.recordingId}-${firstSegment.sequence}`
        : run.recordingId;
      for (let n = 2; periodIds.has(id); n++) {
        id = `${run.recordingId}-${firstSegment.sequence}-${n}`;
      }
      periodIds.add(id);
      const t0 = Math.round(firstSegment.startMs - run.originMs);
      const bandwidth = video.bandwidth ?? peakBitRate(run.entries, first, last);
      sink.push(
        `  <Period id="${xmlAttribute(id)}" start="${
          xsDuration(firstSegment.startMs - zeroMs)
        }">\n` +
          '    <AdaptationSet contentType="video" mimeType="video/mp4" segmentAlignment="true" ' +
          'startWithSAP="1">\n' +
          `      <Representation id="video" bandwidth="${bandwidth}" ` +
          `codecs="${xmlAttribute(video.codec)}" width="${video.width}" height="${video.height}"` +
          (video.frameRate ? ` frameRate="${xmlAttribute(video.frameRate)}"` : "") + ">\n" +
          `        <SegmentTemplate timescale="1000" presentationTimeOffset="${t0}" ` +
          `startNumber="${firstSegment.sequence}" initialization="${xmlAttribute(init)}" ` +
          `media="${xmlAttribute(media)}">\n` +
          "          <SegmentTimeline>\n",
      );
      writeSegmentTimeline(sink, run, first, last);
      sink.push(
        "          </SegmentTimeline>\n" +
          "        </SegmentTemplate>\n" +
          "      </Representation>\n" +
          "    </AdaptationSet>\n" +
          "  </Period>\n",
      );
    }
  }
  if (dynamic) {
    sink.push(
      `  <UTCTiming schemeIdUri="urn:mpeg:dash:utc:direct:2014" value="${publishTime}"/>\n`,
    );
  }
  sink.push("</MPD>\n");
  sink.flush();
}

/** {@linkcode writeDashManifest} into one string. */
export function dashManifest(timeline: Timeline, options: DashManifestOptions): string {
  const chunks: string[] = [];
  writeDashManifest(timeline, options, (chunk) => chunks.push(chunk));
  return chunks.join("");
}

/** `<S>` entries for entries[first..last] of `run`, run-length compressed. */
function writeSegmentTimeline(sink: ChunkedSink, run: TimelineRun, first: number, last: number) {
  let t = 0; // start of the pending S
  let d = -1; // its duration; -1 when none is pending
  let r = 0;
  let explicit = true;
  let end = NaN; // where the pending S's last repetition ends
  const flush = () => {
    if (d < 0) return;
    sink.push(
      `            <S${explicit ? ` t="${t}"` : ""} d="${d}"${r > 0 ? ` r="${r}"` : ""}/>\n`,
    );
  };
  for (let i = first; i <= last; i++) {
    const entry = run.entries[i] as TimelineSegment | TimelineGap;
    if (entry.kind === "gap") continue;
    const start = Math.round(entry.startMs - run.originMs);
    const stop = Math.round(entry.startMs + entry.durationMs - run.originMs);
    const duration = stop - start;
    if (start === end && duration === d) {
      r++;
    } else {
      flush();
      explicit = start !== end;
      t = start;
      d = duration;
      r = 0;
    }
    end = stop;
  }
  flush();
}

/**
 * Index pairs [first segment, last segment] of the stretches with consecutive sequences, also
 * cut at every gap when `atGaps`.
 */
function periodsOf(entries: TimelineRun["entries"], atGaps: boolean): Array<[number, number]> {
  const periods: Array<[number, number]> = [];
  let first = -1;
  let last = -1;
  let sequence = -1;
  entries.forEach((entry, i) => {
    if (entry.kind === "gap") {
      if (atGaps && first >= 0) {
        periods.push([first, last]);
        first = -1;
      }
      return;
    }
    if (first >= 0 && entry.sequence !== sequence + 1) {
      periods.push([first, last]);
      first = -1;
    }
    if (first < 0) first = i;
    last = i;
    sequence = entry.sequence;
  });
  if (first >= 0) periods.push([first, last]);
  return periods;
}

function peakBitRate(entries: TimelineRun["entries"], first: number, last: number): number {
  let peak = 0;
  for (let i = first; i <= last; i++) {
    const entry = entries[i];
    if (entry.kind === "segment") {
      peak = Math.max(peak, Math.ceil((entry.size * 8000) / entry.durationMs));
    }
  }
  return Math.max(1, peak);
}

/** Splits a media template at the number identifier and escapes every other `$`. */
function templatePieces(uri: string, run: TimelineRun, identifier: string): string {
  const pieces = checkUri(uri, run).split(identifier);
  if (pieces.length < 2) {
    throw new TypeError(
      `Cannot use media URI "${uri}" of recording "${run.recordingId}": it lacks "${identifier}"`,
    );
  }
  return pieces.map(escapeDollars).join(identifier);
}

function escapeDollars(text: string): string {
  return text.replaceAll("$", "$$$$");
}

function checkFillerUri(uri: string): string {
  if (CONTROL.test(uri)) throw new TypeError("Cannot use filler URI: control character");
  return uri;
}

function checkUri(uri: string, run: TimelineRun): string {
  if (CONTROL.test(uri)) {
    throw new TypeError(`Cannot use URI of recording "${run.recordingId}": control character`);
  }
  return uri;
}
