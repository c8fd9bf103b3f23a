/**
 * Reads the HLS media playlist ffmpeg keeps for a recording. A segment is finished once ffmpeg
 * lists it there: with `temp_file` the muxer writes the segment under `.tmp`, renames it, and only
 * then rewrites the playlist (itself through a temporary file and a rename).
 */
import HLS from "hls-parser";

/** A finished media segment, as the playlist lists it. */
export interface ListedSegment {
  /** File name in the recording's capture folder, e.g. `0000000012.m4s`. */
  file: string;
  /** ffmpeg's segment number, from the file name. */
  sequence: number;
  durationS: number;
  /** Wall clock of the first frame (EXT-X-PROGRAM-DATE-TIME), epoch milliseconds. */
  startMs: number | undefined;
  /** Timing guessed from the neighbours (crash recovery of a segment ffmpeg had not listed). */
  estimated?: boolean;
}

/** What ffmpeg's playlist says so far. */
export interface CapturePlaylist {
  /** The init segment's file name, once ffmpeg wrote it. */
  init: string | undefined;
  segments: ListedSegment[];
  /** ffmpeg finished the recording (EXT-X-ENDLIST). */
  ended: boolean;
}

const SEGMENT_FILE = /^(\d{1,10})\.m4s$/;

/** Parses ffmpeg's playlist text. Entries whose names are not `<number>.m4s` are skipped. */
export function parseCapturePlaylist(text: string): CapturePlaylist {
  const playlist = HLS.parse(text);
  if (playlist.isMasterPlaylist) throw new TypeError("Expected a media playlist, got a master");
  const media = playlist as InstanceType<typeof HLS.types.MediaPlaylist>;
  let init: string | undefined;
  const segments: ListedSegment[] = [];
  for (const segment of media.segments) {
    init ??= segment.map?.uri;
    const match = SEGMENT_FILE.exec(segment.uri);
    if (!match) continue;
    segments.push({
      file: segment.uri,
      sequence: Number(match[1]),
      durationS: segment.duration,
      startMs: segment.programDateTime?.getTime(),
    });
  }
  return { init, segments, ended: media.endlist };
}

/** Sequence number of a segment file name, or undefined if it is not one. */
export function segmentSequence(file: string): number | undefined {
  const match = SEGMENT_FILE.exec(file);
  return match ? Number(match[1]) : undefined;
}

/** ffmpeg's file name of segment `sequence` (`-hls_segment_filename %010d.m4s`). */
export function segmentFileName(sequence: number): string {
  return `${String(sequence).padStart(10, "0")}.m4s`;
}

/**
 * Timing for finished segments the playlist does not list (ffmpeg renames a segment before it
 * rewrites the playlist, so a crash can fall in between), from their listed neighbours and the
 * segment grid. Segments with no neighbour to count from are left out.
 */
export function estimateUnlisted(
  playlist: CapturePlaylist,
  sequences: number[],
  segmentSeconds: number,
): ListedSegment[] {
  const listed = playlist.segments.filter((s) => s.startMs !== undefined);
  const first = listed[0];
  const last = listed.at(-1);
  const stepMs = segmentSeconds * 1000;
  return sequences.flatMap((sequence) => {
    let startMs: number | undefined;
    if (last && sequence > last.sequence) {
      startMs = last.startMs! + last.durationS * 1000 + (sequence - last.sequence - 1) * stepMs;
    } else if (first && sequence < first.sequence) {
      startMs = first.startMs! - (first.sequence - sequence) * stepMs;
    }
    if (startMs === undefined) return [];
    const file = segmentFileName(sequence);
    return [{ file, sequence, durationS: segmentSeconds, startMs, estimated: true }];
  });
}
