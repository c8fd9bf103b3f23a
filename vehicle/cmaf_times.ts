/**
 * Reads presentation times out of the CMAF files ffmpeg writes: the init segment's timescale and
 * edit list, a media segment's decode time (`tfdt`) and its samples' durations and composition
 * offsets (`trun`). With frames stamped by the capture clock, a segment's first presentation time
 * is when its first picture was taken, which ffmpeg's playlist does not say exactly (with
 * variable frame timing its durations add up packet guesses, not timestamps).
 */

/** The presentation timeline of a recording's video track, from its init segment. */
export interface TrackTimeline {
  /** Media timescale (mdhd), ticks per second. */
  timescale: number;
  /** Presentation time of the first sample, seconds (the edit list's empty edit). */
  startS: number;
  /** Media time the presentation starts at, in media ticks (the edit list's media_time). */
  mediaTime: number;
}

/** A media segment's place on the presentation timeline. */
export interface SegmentTimes {
  /** Presentation time of its first sample, seconds. */
  startS: number;
  /** Sum of its samples' durations, seconds. */
  durationS: number;
}

const CONTAINERS = new Set(["moov", "trak", "mdia", "edts", "moof", "traf"]);

interface Box {
  type: string;
  body: DataView;
}

/** Top-level and container boxes of `bytes`, depth first (only the ones this module reads). */
function* walk(view: DataView): Generator<Box> {
  let at = 0;
  while (at + 8 <= view.byteLength) {
    let size = view.getUint32(at);
    const type = String.fromCharCode(
      view.getUint8(at + 4),
      view.getUint8(at + 5),
      view.getUint8(at + 6),
      view.getUint8(at + 7),
    );
    let header = 8;
    if (size === 1) {
      size = Number(view.getBigUint64(at + 8));
      header = 16;
    } else if (size === 0) size = view.byteLength - at;
    if (size < header || at + size > view.byteLength) return;
    const body = new DataView(view.buffer, view.byteOffset + at + header, size - header);
    yield { type, body };
    if (CONTAINERS.has(type)) yield* walk(body);
    at += size;
  }
}

function find(view: DataView, type: string): DataView | undefined {
  for (const box of walk(view)) if (box.type === type) return box.body;
  return undefined;
}

function toView(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The video track's timeline from an init segment; undefined when it has none. */
export function readTrackTimeline(init: Uint8Array): TrackTimeline | undefined {
  const view = toView(init);
  const mvhd = find(view, "mvhd");
  const mdhd = find(view, "mdhd");
  if (!mvhd || !mdhd) return undefined;
  const movieScale = mvhd.getUint32(mvhd.getUint8(0) === 1 ? 20 : 12);
  const timescale = mdhd.getUint32(mdhd.getUint8(0) === 1 ? 20 : 12);
  if (!movieScale || !timescale) return undefined;
  let startS = 0;
  let mediaTime = 0;
  const elst = find(view, "elst");
  if (elst) {
    const wide = elst.getUint8(0) === 1;
    const count = elst.getUint32(4);
    let at = 8;
    for (let i = 0; i < count && at + (wide ? 20 : 12) <= elst.byteLength; i++) {
      const duration = wide ? Number(elst.getBigUint64(at)) : elst.getUint32(at);
      const time = wide ? Number(elst.getBigInt64(at + 8)) : elst.getInt32(at + 4);
      at += wide ? 20 : 12;
      if (time === -1) startS += duration / movieScale;
      else {
        mediaTime = time;
        break;
      }
    }
  }
  return { timescale, startS, mediaTime };
}

/** A media segment's first presentation time and duration; undefined when it cannot be read. */
export function readSegmentTimes(
  segment: Uint8Array,
  track: TrackTimeline,
): SegmentTimes | undefined {
  const view = toView(segment);
  const tfhd = find(view, "tfhd");
  const tfdt = find(view, "tfdt");
  const trun = find(view, "trun");
  if (!tfhd || !tfdt || !trun) return undefined;
  const decodeTime = tfdt.getUint8(0) === 1 ? Number(tfdt.getBigUint64(4)) : tfdt.getUint32(4);
  // tfhd: default sample duration, if given.
  const tfhdFlags = tfhd.getUint32(0) & 0xffffff;
  let at = 8; // version/flags, track_ID
  if (tfhdFlags & 0x01) at += 8; // base data offset
  if (tfhdFlags & 0x02) at += 4; // sample description index
  const defaultDuration = tfhdFlags & 0x08 ? tfhd.getUint32(at) : 0;
  const version = trun.getUint8(0);
  const flags = trun.getUint32(0) & 0xffffff;
  const count = trun.getUint32(4);
  at = 8;
  if (flags & 0x001) at += 4; // data offset
  if (flags & 0x004) at += 4; // first sample flags
  let duration = 0;
  let firstOffset = 0;
  for (let i = 0; i < count; i++) {
    let sampleDuration = defaultDuration;
    if (flags & 0x100) sampleDuration = trun.getUint32(at), at += 4;
    if (flags & 0x200) at += 4;
    if (flags & 0x400) at += 4;
    if (flags & 0x800) {
      const offset = version === 0 ? trun.getUint32(at) : trun.getInt32(at);
      if (i === 0) firstOffset = offset;
      at += 4;
    }
    if (at > trun.byteLength) return undefined;
    duration += sampleDuration;
  }
  if (count === 0) return undefined;
  return {
    startS: track.startS + (decodeTime + firstOffset - track.mediaTime) / track.timescale,
    durationS: duration / track.timescale,
  };
}
