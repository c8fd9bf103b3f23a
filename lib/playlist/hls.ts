/**
 * HLS media playlists (RFC 8216, with EXT-X-GAP from draft-pantos-hls-rfc8216bis) written
 * straight from a timeline, line by line, in time linear in the number of segments.
 *
 * Choices:
 * - EXT-X-VERSION is 6: EXT-X-MAP outside an I-frame playlist needs it, and from 6 on
 *   EXT-X-TARGETDURATION bounds durations rounded to the nearest integer, which the target below
 *   relies on (so MPEG-TS-only playlists say 6 too). EXT-X-GAP needs no higher version
 *   (rfc8216bis section 8 lists none for it, though hls-parser asks for 8).
 * - EXT-X-TARGETDURATION is the largest EXTINF rounded to the nearest integer (a tie rounds up),
 *   at least 1 and at least `minTargetDuration`, so every EXTINF rounds to no more than it.
 * - EXTINF values are whole milliseconds written as seconds with three decimals.
 * - EXT-X-PROGRAM-DATE-TIME goes on the first segment and on the first after every
 *   discontinuity or gap; within a stretch the placed times are exactly the sum of the EXTINFs,
 *   so a tag per segment would repeat what a client already computes. `"every-segment"` writes
 *   one per segment anyway (about 45 bytes more each).
 * - A hole is written as filler when the caller has one for the encoding around it (`filler`):
 *   an EXT-X-DISCONTINUITY, the filler's EXT-X-MAP and EXT-X-PROGRAM-DATE-TIME, then entries
 *   no longer than the target duration (cut as `gapPiece` says) whose URIs answer real
 *   segments of a slate, then another EXT-X-DISCONTINUITY back to the recording's MAP. Every
 *   player plays the hole as the slate and the timeline keeps its length. They carry no
 *   EXT-X-GAP unless `fillerGapTag`: hls.js 1.7 stalls at EXT-X-GAP entries
 *   (`bufferStalledError`) instead of playing on, and what a player that honours the tag would
 *   skip is only the slate. Without filler (no slate for the encoding, or MPEG-TS runs, which
 *   cannot follow an EXT-X-MAP), a hole is EXT-X-GAP entries on `gapUri`, as rfc8216bis has it.
 *   A gap between two runs is written before the next run's EXT-X-DISCONTINUITY.
 * - Stretches (`stretches`, see `continuousStretches`): runs of one encoding played as one
 *   continuous media timeline. A stretch has one EXT-X-MAP (its first run's) and no
 *   EXT-X-DISCONTINUITY inside: its runs follow one another, and its holes are filler served
 *   under the stretch's own init segment (`HlsFiller.continuousPieceUri`), every URI carrying its
 *   decode time on the stretch's timeline (`stretchTicks`). EXT-X-PROGRAM-DATE-TIME still goes on
 *   every anchor. Players that ignore discontinuities (libavformat, GStreamer, VLC) then see
 *   timestamps that only go forward; a discontinuity is left only where the encoding changes.
 */
import { ChunkedSink, decimalSeconds, isoDateTime } from "./format.ts";
import { gapPiece, gapPieceCount } from "./gap_pieces.ts";
import { type RunStretch, stretchTicks } from "./stretches.ts";
import type { Timeline, TimelineRun, TimelineSegment } from "./timeline.ts";

/** Filler for the holes of one encoding: a slate's init segment and the URIs of its pieces. */
export interface HlsFiller {
  /** URI of the filler's init segment (signed by the caller). */
  initUri: string;
  /** URI of piece `index` of a hole of `totalMs` cut into `count` pieces (see `gapPiece`). */
  pieceUri: (totalMs: number, count: number, index: number) => string;
  /**
   * URI of the same piece made to play under the recording's own init segment, starting at
   * decode time `ticks` of its stretch; needed for holes inside a stretch.
   */
  continuousPieceUri?: (totalMs: number, count: number, index: number, ticks: number) => string;
}

/** Options of {@linkcode writeHlsMediaPlaylist}. */
export interface HlsMediaPlaylistOptions {
  /** `VOD`: complete, ends with EXT-X-ENDLIST. `EVENT`: still growing, no EXT-X-ENDLIST. */
  type: "VOD" | "EVENT";
  /** URI of a media segment (signed by the caller); needed unless `mediaUri` is given. */
  segmentUri?: (
    recordingId: string,
    sequence: number,
    segment: TimelineSegment,
    ticks?: number,
  ) => string;
  /**
   * URI template of a recording's media segments, used instead of `segmentUri`: place `number`
   * verbatim where the sequence goes, e.g. `${base}/${recordingId}/${number}.m4s?${query}`; the
   * sequence is written there zero-padded to `numberWidth` digits, as DASH's `$Number%010d$`.
   * One call and one check per run instead of per segment: a day is 43,200 segments. In a
   * stretch it is also given `time`, to place verbatim where the segment's decode time on the
   * stretch's timeline goes (e.g. `&t=${time}`).
   */
  mediaUri?: (recordingId: string, number: string, time?: string) => string;
  /** Zero-padded width of the sequence in `mediaUri`; default 10, 0 for none. */
  numberWidth?: number;
  /** URI of a recording's init segment (signed by the caller). */
  initUri: (recordingId: string, initKey: string) => string;
  /** URI written on EXT-X-GAP entries when a hole has no filler; clients do not load it. */
  gapUri: string;
  /**
   * Filler for a hole next to recording `recordingId` (inside its run, or after it): undefined
   * when there is none, and the hole is written as EXT-X-GAP entries instead.
   */
  filler?: (recordingId: string) => HlsFiller | undefined;
  /** Runs played as one continuous timeline (see the module doc); none by default. */
  stretches?: Map<TimelineRun, RunStretch>;
  /** Whether filler entries carry EXT-X-GAP too; default false (see the module doc). */
  fillerGapTag?: boolean;
  /** Where EXT-X-PROGRAM-DATE-TIME goes; default `"anchors"` (see the module doc). */
  programDateTime?: "anchors" | "every-segment";
  /**
   * Lowest EXT-X-TARGETDURATION, in seconds. An EVENT playlist must keep its target duration as
   * it grows: set this to the longest segment the vehicles cut.
   */
  minTargetDuration?: number;
}

// deno-lint-ignore no-control-regex -- a URI line or quoted-string cannot hold these
const UNSAFE_URI = /[\u0000-\u001f\u007f"]/;
/** What `mediaUri` is given for the number: no URI can hold it, so it cannot be mistaken. */
const NUMBER = "\u0000number\u0000";
/** What `mediaUri` is given for the decode time, likewise. */
const TIME = "\u0000time\u0000";

/**
 * Writes `timeline` as an HLS media playlist, handing the text to `write` in chunks.
 *
 * @example
 * const chunks: string[] = [];
 * writeHlsMediaPlaylist(timeline, {
 *   type: "VOD",
 *   mediaUri: (recordingId, number) => `${base}/${recordingId}/${number}.m4s?${query}`,
 *   initUri: (recordingId) => `${base}/${recordingId}/init.mp4?${query}`,
 *   gapUri: `${base}/gap.m4s`,
 * }, (chunk) => chunks.push(chunk));
 */
export function writeHlsMediaPlaylist(
  timeline: Timeline,
  options: HlsMediaPlaylistOptions,
  write: (chunk: string) => void,
): void {
  const targetDuration = hlsTargetDuration(timeline, options.minTargetDuration);
  const maxGapMs = targetDuration * 1000;
  const everySegment = options.programDateTime === "every-segment";
  const gapUri = checkUri(options.gapUri, "gap");
  const { segmentUri, mediaUri } = options;
  if (!segmentUri && !mediaUri) {
    throw new TypeError("Cannot write segments: no segmentUri or mediaUri");
  }
  const width = options.numberWidth ?? 10;
  const runs = timeline.items.filter((item): item is TimelineRun => item.kind === "run");
  // EXT-X-MAP cannot be revoked: MPEG-TS runs may only come before every fMP4 one.
  let mapped = false;
  for (const run of runs) {
    if (run.initKey !== null) mapped = true;
    else if (mapped) {
      throw new TypeError(
        `Cannot write MPEG-TS recording "${run.recordingId}" after an fMP4 one in one playlist`,
      );
    }
  }

  const sink = new ChunkedSink(write);
  sink.push(
    "#EXTM3U\n" +
      "#EXT-X-VERSION:6\n" +
      `#EXT-X-TARGETDURATION:${targetDuration}\n` +
      "#EXT-X-MEDIA-SEQUENCE:0\n" +
      "#EXT-X-DISCONTINUITY-SEQUENCE:0\n" +
      `#EXT-X-PLAYLIST-TYPE:${options.type}\n` +
      "#EXT-X-INDEPENDENT-SEGMENTS\n",
  );

  const fmp4Only = runs.every((run) => run.initKey !== null);
  /** Writes a hole next to `recordingId`; true when it was filler, so a MAP must follow. */
  const writeGap = (startMs: number, durationMs: number, recordingId: string): boolean => {
    const filler = fmp4Only ? options.filler?.(recordingId) : undefined;
    if (filler) {
      const total = Math.round(durationMs);
      const count = gapPieceCount(total, maxGapMs);
      if (count === 0) return false;
      sink.push(
        "#EXT-X-DISCONTINUITY\n" +
          `#EXT-X-MAP:URI="${checkUri(filler.initUri, "filler init")}"\n` +
          `#EXT-X-PROGRAM-DATE-TIME:${isoDateTime(startMs)}\n`,
      );
      const tag = options.fillerGapTag ? "#EXT-X-GAP\n" : "";
      for (let i = 0; i < count; i++) {
        const piece = gapPiece(total, count, i);
        sink.push(`#EXTINF:${decimalSeconds(piece.durationMs)},\n${tag}`);
        sink.push(`${checkSegmentUri(filler.pieceUri(total, count, i))}\n`);
      }
      return true;
    }
    const total = Math.round(durationMs);
    const pieces = Math.ceil(total / maxGapMs);
    const base = Math.floor(total / pieces);
    for (let i = 0; i < pieces; i++) {
      const piece = i < total - base * pieces ? base + 1 : base;
      if (piece > 0) sink.push(`#EXTINF:${decimalSeconds(piece)},\n#EXT-X-GAP\n${gapUri}\n`);
    }
    return false;
  };

  /** Writes a hole inside a stretch: filler under the stretch's init, no discontinuity. */
  const writeContinuousGap = (
    startMs: number,
    durationMs: number,
    recordingId: string,
    stretch: RunStretch,
  ) => {
    const filler = options.filler?.(recordingId);
    if (!filler?.continuousPieceUri) {
      throw new TypeError(`Cannot fill a hole after recording "${recordingId}" in its stretch`);
    }
    const total = Math.round(durationMs);
    const count = gapPieceCount(total, maxGapMs);
    if (count === 0) return;
    sink.push(`#EXT-X-PROGRAM-DATE-TIME:${isoDateTime(startMs)}\n`);
    const tag = options.fillerGapTag ? "#EXT-X-GAP\n" : "";
    for (let i = 0; i < count; i++) {
      const piece = gapPiece(total, count, i);
      const ticks = stretchTicks(stretch, startMs + piece.startMs);
      sink.push(`#EXTINF:${decimalSeconds(piece.durationMs)},\n${tag}`);
      sink.push(`${checkSegmentUri(filler.continuousPieceUri(total, count, i, ticks))}\n`);
    }
  };

  let first = true;
  let extinfMs = NaN;
  let extinf = "";
  let previousRun: TimelineRun | undefined;
  const { items } = timeline;
  for (let at = 0; at < items.length; at++) {
    const item = items[at];
    if (item.kind === "gap") {
      const next = items[at + 1];
      const stretch = next?.kind === "run" ? options.stretches?.get(next) : undefined;
      if (stretch?.continues) {
        writeContinuousGap(item.startMs, item.durationMs, previousRun!.recordingId, stretch);
      } else {
        writeGap(item.startMs, item.durationMs, previousRun!.recordingId);
      }
      continue;
    }
    previousRun = item;
    const stretch = options.stretches?.get(item);
    const map = item.initKey === null
      ? ""
      : `#EXT-X-MAP:URI="${checkUri(options.initUri(item.recordingId, item.initKey), "init")}"\n`;
    if (!stretch?.continues) {
      if (!first) sink.push("#EXT-X-DISCONTINUITY\n");
      sink.push(map);
    }
    first = false;
    // With a template, a segment's URI line is three pieces: before, the number, after (five in
    // a stretch: before, the number, between, the decode time, after).
    const template = mediaUri &&
      templatePieces(mediaUri(item.recordingId, NUMBER, stretch ? TIME : undefined), !!stretch);
    let anchor = true;
    for (const entry of item.entries) {
      if (entry.kind === "gap") {
        if (stretch) {
          writeContinuousGap(entry.startMs, entry.durationMs, item.recordingId, stretch);
        } else if (writeGap(entry.startMs, entry.durationMs, item.recordingId)) {
          sink.push(`#EXT-X-DISCONTINUITY\n${map}`);
        }
        anchor = true;
        continue;
      }
      if (anchor || everySegment) {
        sink.push(`#EXT-X-PROGRAM-DATE-TIME:${isoDateTime(entry.startMs)}\n`);
      }
      anchor = false;
      if (entry.durationMs !== extinfMs) { // durations repeat: write each line once
        extinfMs = entry.durationMs;
        extinf = `#EXTINF:${decimalSeconds(Math.round(entry.durationMs))},\n`;
      }
      sink.push(extinf);
      if (template) {
        sink.push(template[0]);
        sink.push(width > 0 ? String(entry.sequence).padStart(width, "0") : String(entry.sequence));
        sink.push(template[1]);
        if (stretch) {
          sink.push(String(stretchTicks(stretch, entry.startMs)));
          sink.push(template[2]);
        }
      } else {
        const ticks = stretch && stretchTicks(stretch, entry.startMs);
        sink.push(checkSegmentUri(segmentUri!(item.recordingId, entry.sequence, entry, ticks)));
        sink.push("\n");
      }
    }
  }
  if (options.type === "VOD") sink.push("#EXT-X-ENDLIST\n");
  sink.flush();
}

/** {@linkcode writeHlsMediaPlaylist} into one string. */
export function hlsMediaPlaylist(timeline: Timeline, options: HlsMediaPlaylistOptions): string {
  const chunks: string[] = [];
  writeHlsMediaPlaylist(timeline, options, (chunk) => chunks.push(chunk));
  return chunks.join("");
}

/**
 * EXT-X-TARGETDURATION for `timeline`: the longest EXTINF (whole milliseconds) rounded to the
 * nearest second, ties up (RFC 8216 4.3.3.1), and at least `minTargetDuration` and 1.
 */
export function hlsTargetDuration(timeline: Timeline, minTargetDuration = 1): number {
  const longest = Math.round(timeline.maxSegmentDurationMs);
  return Math.max(1, Math.ceil(minTargetDuration), Math.floor((longest + 500) / 1000));
}

function checkUri(uri: string, what: string): string {
  if (UNSAFE_URI.test(uri)) {
    throw new TypeError(
      `Cannot write ${what} URI "${uri}": it contains a quote or control character`,
    );
  }
  return uri;
}

/**
 * A `mediaUri` template split at the number (and at the time when `timed`), the line's end
 * added after the last piece, each piece checked as {@linkcode checkSegmentUri} checks a whole
 * URI.
 */
function templatePieces(template: string, timed: boolean): string[] {
  const pieces = template.split(NUMBER);
  if (pieces.length !== 2) {
    throw new TypeError(`Cannot use media URI "${template}": it must hold the number once`);
  }
  const rest = timed ? pieces[1].split(TIME) : [pieces[1]];
  if (rest.length !== (timed ? 2 : 1) || pieces[0].includes(TIME)) {
    throw new TypeError(`Cannot use media URI "${template}": it must hold the time once`);
  }
  const all = [pieces[0], ...rest].map(checkSegmentUri);
  all[all.length - 1] += "\n";
  return all;
}

/** The check of segment URIs, one per segment: a line break is what could inject a tag. */
function checkSegmentUri(uri: string): string {
  if (uri.indexOf("\n") !== -1 || uri.indexOf("\r") !== -1) {
    throw new TypeError(`Cannot write segment URI "${uri}": it contains a line break`);
  }
  return uri;
}
