/**
 * The timeline of a camera: its recordings' segments laid out on one line of time that never
 * goes backwards, as runs (one recording's segments, played with that recording's init segment)
 * separated by discontinuities, with the holes in between made explicit as gaps. Both playlist
 * writers (HLS, DASH) describe the same timeline.
 *
 * How segments are placed (all times are the vehicle's wall-clock milliseconds):
 * - Input is filtered to the window (a segment overlapping [fromMs, toMs) is kept whole) and
 *   sorted by start time, recording (older `startedAt` first, then id), sequence and object key;
 *   segments are then placed in that order. Of several with the same recording and sequence, the
 *   first placed stays (`dropped.duplicate` counts the others).
 * - A segment continues the current run when it belongs to the same recording with a higher
 *   sequence. It is placed right where the run ends (sequence numbers, not clocks, say that
 *   media is continuous); if the hole between it and the previous segment (its start minus the
 *   previous one's start plus duration) exceeds the tolerance, a gap covers the time up to its
 *   own start first, so the timeline meets the vehicle's clock again after every gap.
 * - Any other segment opens a new run (a discontinuity). It is placed at its own start, or at the
 *   end of what is already placed when it starts up to `gapToleranceMs` earlier (or later: holes
 *   no longer than the tolerance are absorbed everywhere). A longer hole becomes a gap item
 *   between the runs.
 * - Overlaps: a segment that would open a run more than `gapToleranceMs` before the end of what
 *   is already placed is dropped (counted in `dropped.overlapping`). Segments cannot be trimmed,
 *   so the earliest-starting recording keeps contested time, and on equal starts the older one.
 * - A recording without an init segment plays only if its segments are MPEG-TS (object key ends
 *   `.ts`); fMP4 segments waiting for their init, and segments without a key, are dropped
 *   (`dropped.noInit`).
 */
import type { Recording, Segment } from "../catalog/mod.ts";

/** Holes between segments up to this long are jitter, not gaps. */
export const DEFAULT_GAP_TOLERANCE_MS = 500;

/** What the timeline needs of a recording. `startedAt` (media time zero) helps DASH. */
export type TimelineRecording =
  & Pick<Recording, "id" | "initKey">
  & Partial<Pick<Recording, "startedAt">>;

/**
 * What the timeline needs of a segment. `size` (bytes) lets DASH state a bandwidth; `objectKey`
 * is carried to the placed segment (clip export reads it) and tells MPEG-TS (`.ts`) apart, which
 * only matters for a recording without an init segment.
 */
export type TimelineSegmentInput =
  & Pick<Segment, "recordingId" | "sequence" | "startMs" | "durationMs">
  & Partial<Pick<Segment, "size" | "objectKey">>;

/** Input of {@linkcode buildTimeline}. */
export interface TimelineInput {
  recordings: Iterable<TimelineRecording>;
  /** In any order, duplicates allowed. */
  segments: Iterable<TimelineSegmentInput>;
  /** Start of the window (inclusive); unbounded when absent. */
  fromMs?: number;
  /** End of the window (exclusive); unbounded when absent. */
  toMs?: number;
  /** Longest hole treated as contiguous; default {@linkcode DEFAULT_GAP_TOLERANCE_MS}. */
  gapToleranceMs?: number;
}

/** A segment placed on the timeline. */
export interface TimelineSegment {
  kind: "segment";
  sequence: number;
  /** Placed start (see the module doc); equals the vehicle's start unless jitter was absorbed. */
  startMs: number;
  durationMs: number;
  /** As given in the input; absent when the input had none. */
  objectKey?: string;
  /** Bytes; 0 when unknown. */
  size: number;
}

/** Time with no media: inside a run, or between two runs. */
export interface TimelineGap {
  kind: "gap";
  startMs: number;
  durationMs: number;
}

/** Consecutive segments of one recording, played with its init segment. */
export interface TimelineRun {
  kind: "run";
  recordingId: string;
  /** Object key of the init segment; null for MPEG-TS, which needs none. */
  initKey: string | null;
  /** Wall-clock instant of media time zero: the recording's `startedAt`, else its first segment. */
  originMs: number;
  startMs: number;
  endMs: number;
  /** Segments, and the gaps between them; starts and ends with a segment. */
  entries: Array<TimelineSegment | TimelineGap>;
  segmentCount: number;
}

/** Why input segments were left out. */
export interface DroppedSegments {
  /** Outside the window. */
  outside: number;
  /** The same recording and sequence as one kept. */
  duplicate: number;
  /** Starting too far into time already covered by another run. */
  overlapping: number;
  /** Segments of a recording not in the input, or fMP4 ones whose init segment is not known. */
  noInit: number;
  /** Non-finite times, non-positive durations, bad sequence numbers. */
  invalid: number;
}

/** A camera's segments laid out for playback. */
export interface Timeline {
  /** Runs, with a gap item between two runs when time passes between them. */
  items: Array<TimelineRun | TimelineGap>;
  /** Start of the first run; 0 when empty. */
  startMs: number;
  /** End of the last run; 0 when empty. */
  endMs: number;
  segmentCount: number;
  runCount: number;
  maxSegmentDurationMs: number;
  dropped: DroppedSegments;
}

/**
 * Lays a camera's segments out as runs and gaps (see the module doc for the rules).
 *
 * @example
 * const timeline = buildTimeline({ recordings, segments, fromMs, toMs });
 * for (const item of timeline.items) if (item.kind === "run") console.log(item.recordingId);
 */
export function buildTimeline(input: TimelineInput): Timeline {
  const tolerance = input.gapToleranceMs ?? DEFAULT_GAP_TOLERANCE_MS;
  if (!(tolerance >= 0)) throw new RangeError(`Gap tolerance "${tolerance}" must be 0 or more`);
  const fromMs = input.fromMs ?? -Infinity;
  const toMs = input.toMs ?? Infinity;
  const dropped: DroppedSegments = {
    outside: 0,
    duplicate: 0,
    overlapping: 0,
    noInit: 0,
    invalid: 0,
  };

  const recordings = new Map<string, KnownRecording>();
  const byAge = [...input.recordings].sort((a, b) =>
    (a.startedAt?.getTime() ?? 0) - (b.startedAt?.getTime() ?? 0) || compare(a.id, b.id)
  );
  byAge.forEach((recording, rank) =>
    recordings.set(recording.id, { recording, rank, placed: new Set() })
  );

  const candidates: TimelineSegmentInput[] = [];
  for (const segment of input.segments) {
    const { startMs, durationMs, sequence } = segment;
    if (
      !Number.isFinite(startMs) || !Number.isFinite(durationMs) || durationMs <= 0 ||
      !Number.isInteger(sequence) || sequence < 0
    ) {
      dropped.invalid++;
    } else if (startMs >= toMs || startMs + durationMs <= fromMs) {
      dropped.outside++;
    } else {
      const known = recordings.get(segment.recordingId);
      if (
        !known || (known.recording.initKey === null && !segment.objectKey?.endsWith(".ts"))
      ) {
        dropped.noInit++;
      } else {
        candidates.push(segment);
      }
    }
  }
  const rank = (segment: TimelineSegmentInput) => recordings.get(segment.recordingId)!.rank;
  candidates.sort((a, b) =>
    a.startMs - b.startMs || rank(a) - rank(b) || a.sequence - b.sequence ||
    compare(a.objectKey ?? "", b.objectKey ?? "")
  );

  const items: Timeline["items"] = [];
  let run: TimelineRun | undefined;
  let cursor = -Infinity; // end of what is placed so far
  let previousEnd = 0; // the vehicle's end of the previous segment of the run
  let previousSequence = -1;
  let segmentCount = 0;
  let maxSegmentDurationMs = 0;

  for (const segment of candidates) {
    const known = recordings.get(segment.recordingId)!;
    if (known.placed.has(segment.sequence)) {
      dropped.duplicate++;
      continue;
    }
    let startMs: number;
    if (run && run.recordingId === segment.recordingId && segment.sequence > previousSequence) {
      startMs = cursor;
      if (segment.startMs - previousEnd > tolerance && segment.startMs > cursor) {
        run.entries.push({ kind: "gap", startMs: cursor, durationMs: segment.startMs - cursor });
        startMs = segment.startMs;
      }
    } else {
      const hole = segment.startMs - cursor; // Infinity for the first run
      if (hole < -tolerance) {
        dropped.overlapping++;
        continue;
      }
      startMs = hole > tolerance ? segment.startMs : cursor;
      if (run && hole > tolerance) items.push({ kind: "gap", startMs: cursor, durationMs: hole });
      const { recording } = known;
      run = {
        kind: "run",
        recordingId: segment.recordingId,
        initKey: recording.initKey,
        originMs: Math.min(recording.startedAt?.getTime() ?? segment.startMs, startMs),
        startMs,
        endMs: startMs,
        entries: [],
        segmentCount: 0,
      };
      items.push(run);
    }
    known.placed.add(segment.sequence);
    run.entries.push({
      kind: "segment",
      sequence: segment.sequence,
      startMs,
      durationMs: segment.durationMs,
      objectKey: segment.objectKey,
      size: segment.size ?? 0,
    });
    run.segmentCount++;
    cursor = startMs + segment.durationMs;
    run.endMs = cursor;
    previousEnd = segment.startMs + segment.durationMs;
    previousSequence = segment.sequence;
    segmentCount++;
    if (segment.durationMs > maxSegmentDurationMs) maxSegmentDurationMs = segment.durationMs;
  }

  const runs = items.filter((item): item is TimelineRun => item.kind === "run");
  return {
    items,
    startMs: runs.length ? runs[0].startMs : 0,
    endMs: runs.length ? runs[runs.length - 1].endMs : 0,
    segmentCount,
    runCount: runs.length,
    maxSegmentDurationMs,
    dropped,
  };
}

/** A recording of the input, its rank by age, and the sequences of it placed so far. */
interface KnownRecording {
  recording: TimelineRecording;
  rank: number;
  placed: Set<number>;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * `timeline` with the runs `drop` picks turned into holes (time kept, nothing to play), as when
 * a recording's init segment cannot be read; gaps that then touch are merged, and a timeline no
 * longer starts or ends with one.
 */
export function withoutRuns(timeline: Timeline, drop: (run: TimelineRun) => boolean): Timeline {
  if (!timeline.items.some((item) => item.kind === "run" && drop(item))) return timeline;
  const items: Timeline["items"] = [];
  let hole: TimelineGap | undefined;
  const extendHole = (fromMs: number, toMs: number) => {
    const startMs = hole?.startMs ?? fromMs;
    hole = { kind: "gap", startMs, durationMs: toMs - startMs };
  };
  for (const item of timeline.items) {
    if (item.kind === "gap") {
      if (items.length) extendHole(item.startMs, item.startMs + item.durationMs);
    } else if (drop(item)) {
      if (items.length) extendHole(item.startMs, item.endMs);
    } else {
      if (hole && hole.durationMs > 0) items.push(hole);
      hole = undefined;
      items.push(item);
    }
  }
  const runs = items.filter((item): item is TimelineRun => item.kind === "run");
  let maxSegmentDurationMs = 0;
  for (const run of runs) {
    for (const entry of run.entries) {
      if (entry.kind === "segment" && entry.durationMs > maxSegmentDurationMs) {
        maxSegmentDurationMs = entry.durationMs;
      }
    }
  }
  return {
    items,
    startMs: runs.length ? runs[0].startMs : 0,
    endMs: runs.length ? runs[runs.length - 1].endMs : 0,
    segmentCount: runs.reduce((n, run) => n + run.segmentCount, 0),
    runCount: runs.length,
    maxSegmentDurationMs,
    dropped: timeline.dropped,
  };
}
