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
 * - Stretches (`stretches`, see `continuousStretches`): runs of one encoding played as one
 *   continuous media timeline are one Period (start = the stretch's start, presentationTimeOffset
 *   0) with one init segment, its holes filler played under that init. Each segment's URL
 *   carries its own recording and decode time, so the Period is a SegmentList (a `SegmentURL`
 *   per segment) over a SegmentTimeline in milliseconds from the stretch's start: no template
 *   could name them; each `<S>` is one segment (no `@r`: dash.js 5 picks a SegmentList's URL by
 *   the index of the `<S>`). libavformat, which plays one Period of an MPD, then plays the whole range
 *   when the encoding does not change.
 */
import { ChunkedSink, isoDateTime, xmlAttribute, xsDuration } from "./format.ts";
import { gapPiece, gapPieceCount } from "./gap_pieces.ts";
import { type RunStretch, stretchTicks } from "./stretches.ts";
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
  /**
   * URL of piece `index` made to play under the recording's own init segment, starting at decode
   * time `ticks` of its stretch; needed for holes inside a stretch.
   */
  continuousPieceUri?: (totalMs: number, count: number, index: number, ticks: number) => string;
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
   * Every other `$` is escaped as `$$`. In a stretch it is called per segment with the
   * sequence as `number` and its decode time on the stretch's timeline as `time` (a plain URL).
   */
  mediaUri: (recordingId: string, number: string, time?: string) => string;
  /** Zero-padded width of `$Number$`; default 0 (none; see the module doc). */
  numberWidth?: number;
  /** The video of a recording. */
  video: (recordingId: string) => DashVideo;
  /**
   * Filler for a hole next to recording `recordingId` (inside its run, or after it): undefined
   * when there is none, and the hole is left between Periods (or `@t`) instead.
   */
  filler?: (recordingId: string) => DashFiller | undefined;
  /** Runs played as one continuous timeline, one Period each (see the module doc). */
  stretches?: Map<TimelineRun, RunStretch>;
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
 * a dynamic MPD whose one Period has no AdaptationSet yet (nothing recorded so far: an MPD needs
 * a Period, a Period need not have content), and a RangeError when static.
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
      periodOpening(
        id,
        gap.startMs - zeroMs,
        { ...video, frameRate: undefined },
        video.bandwidth ?? 1000,
      ) +
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
  const uniqueId = (wanted: string) => {
    let id = wanted;
    for (let n = 2; periodIds.has(id); n++) id = `${wanted}-${n}`;
    periodIds.add(id);
    return id;
  };
  /** Writes a stretch (runs, and the gaps between them) as one Period. */
  const writeStretch = (parts: Array<TimelineRun | TimelineGap>, stretch: RunStretch) => {
    const runsIn = parts.filter((part): part is TimelineRun => part.kind === "run");
    const head = runsIn[0];
    const init = checkUri(options.initUri(head.recordingId, head.initKey!), head);
    const video = options.video(head.recordingId);
    const bandwidth = video.bandwidth ??
      Math.max(...runsIn.map((run) => peakBitRate(run.entries, 0, run.entries.length - 1)));
    const at = (ms: number) => Math.round(ms - stretch.startMs);
    /** Calls `piece` for every segment and filler piece of the stretch, in order. */
    const eachPiece = (piece: (start: number, stop: number, url: () => string) => void) => {
      const fill = (gap: TimelineGap, recordingId: string) => {
        const filler = options.filler?.(recordingId);
        if (!filler?.continuousPieceUri) {
          throw new TypeError(`Cannot fill a hole after recording "${recordingId}" in its stretch`);
        }
        const total = Math.round(gap.durationMs);
        const count = gapPieceCount(total, maxPieceMs);
        for (let i = 0; i < count; i++) {
          const p = gapPiece(total, count, i);
          const startMs = gap.startMs + p.startMs;
          piece(at(startMs), at(startMs + p.durationMs), () =>
            checkFillerUri(
              filler.continuousPieceUri!(total, count, i, stretchTicks(stretch, startMs)),
            ));
        }
      };
      let previous = head.recordingId;
      for (const part of parts) {
        if (part.kind === "gap") {
          fill(part, previous);
          continue;
        }
        previous = part.recordingId;
        for (const entry of part.entries) {
          if (entry.kind === "gap") {
            fill(entry, part.recordingId);
            continue;
          }
          piece(at(entry.startMs), at(entry.startMs + entry.durationMs), () =>
            checkUri(
              options.mediaUri(
                part.recordingId,
                String(entry.sequence),
                String(stretchTicks(stretch, entry.startMs)),
              ),
              part,
            ));
        }
      }
    };
    sink.push(
      periodOpening(uniqueId(head.recordingId), stretch.startMs - zeroMs, video, bandwidth) +
        '        <SegmentList timescale="1000" presentationTimeOffset="0">\n' +
        `          <Initialization sourceURL="${xmlAttribute(init)}"/>\n` +
        "          <SegmentTimeline>\n",
    );
    // One <S> per SegmentURL: dash.js 5 picks a SegmentList's URL by the index of the <S>, not
    // of the segment, so an `@r` would send it to the wrong URLs.
    const timelineSink = new SegmentTimelineSink(sink, false);
    eachPiece((start, stop) => timelineSink.add(start, stop));
    timelineSink.flush();
    sink.push("          </SegmentTimeline>\n");
    eachPiece((_start, _stop, url) =>
      sink.push(`          <SegmentURL media="${xmlAttribute(url())}"/>\n`)
    );
    sink.push(
      "        </SegmentList>\n" +
        "      </Representation>\n" +
        "    </AdaptationSet>\n" +
        "  </Period>\n",
    );
  };
  let previousRun: TimelineRun | undefined;
  const { items } = timeline;
  for (let at = 0; at < items.length; at++) {
    const item = items[at];
    if (item.kind === "gap") {
      if (previousRun) writeFiller(item, previousRun.recordingId);
      continue;
    }
    const stretch = options.stretches?.get(item);
    if (stretch) {
      let end = at;
      for (let k = at + 1; k < items.length; k++) {
        const next = items[k];
        if (next.kind !== "run") continue;
        if (!options.stretches?.get(next)?.continues) break;
        end = k;
      }
      writeStretch(items.slice(at, end + 1), stretch);
      previousRun = items[end] as TimelineRun;
      at = end;
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
        periodOpening(id, firstSegment.startMs - zeroMs, video, bandwidth) +
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
  if (runs.length === 0) sink.push('  <Period id="pending" start="PT0S"/>\n');
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

/** `<S>` entries from consecutive [start, stop) spans, run-length compressed. */
class SegmentTimelineSink {
  #t = 0;
  #d = -1;
  #r = 0;
  #explicit = true;
  #end = NaN;

  /** `repeat` false: one `<S>` per segment, no `@r`. */
  constructor(private readonly sink: ChunkedSink, private readonly repeat = true) {}

  add(start: number, stop: number): void {
    const duration = stop - start;
    if (this.repeat && start === this.#end && duration === this.#d) {
      this.#r++;
    } else {
      this.flush();
      this.#explicit = start !== this.#end;
      this.#t = start;
      this.#d = duration;
      this.#r = 0;
    }
    this.#end = stop;
  }

  flush(): void {
    if (this.#d < 0) return;
    const r = this.#r > 0 ? ` r="${this.#r}"` : "";
    this.sink.push(
      `            <S${this.#explicit ? ` t="${this.#t}"` : ""} d="${this.#d}"${r}/>\n`,
    );
    this.#d = -1;
  }
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

/** A Period's opening down to its one video Representation, `startMs` after the MPD's zero. */
function periodOpening(id: string, startMs: number, video: DashVideo, bandwidth: number): string {
  return `  <Period id="${xmlAttribute(id)}" start="${xsDuration(startMs)}">\n` +
    '    <AdaptationSet contentType="video" mimeType="video/mp4" segmentAlignment="true" ' +
    'startWithSAP="1">\n' +
    `      <Representation id="video" bandwidth="${bandwidth}" ` +
    `codecs="${xmlAttribute(video.codec)}" width="${video.width}" height="${video.height}"` +
    (video.frameRate ? ` frameRate="${xmlAttribute(video.frameRate)}"` : "") + ">\n";
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
