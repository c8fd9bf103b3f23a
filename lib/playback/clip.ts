import { ConflictError, NotFoundError } from "../errors/mod.ts";
import { childrenOf, findBox, readBoxes } from "../media/box.ts";
import { type InitSegmentInfo, parseInitSegment, parseMediaSegment } from "../media/mod.ts";
import type { Timeline, TimelineRun } from "../playlist/mod.ts";
import type { ObjectStore } from "../storage/mod.ts";

/** A stored object a clip (or a playlist) left out, and why. */
export interface SkippedObject {
  kind: "init" | "segment";
  key: string;
  error: unknown;
}

async function readAll(store: ObjectStore, key: string): Promise<Uint8Array> {
  const read = await store.read(key);
  if (!read) throw new NotFoundError(`Segment "${key.split("/").slice(-2).join("/")}" is missing`);
  return new Uint8Array(await new Response(read.body).arrayBuffer());
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((byte, i) => byte === b[i]);
}

/**
 * A media segment made to continue a clip, on a copy: its fragments' decode times (`tfdt`)
 * shifted so the first starts at `baseMediaDecodeTime`, their sequence numbers (`mfhd`)
 * renumbered from `firstSequenceNumber` (ISO/IEC 14496-12 8.8.5: increasing in file order), and
 * its segment index (`sidx`, optional) dropped, whose times would still be the recording's. This
 * is what lets fragments cut from the middle of a recording, or from several recordings, play as
 * one file starting at zero. `fragments` is how many sequence numbers it took. With
 * `firstSequenceNumber` null, the sequence numbers are kept (a segment served on its own).
 */
export function rebaseFragment(
  segment: Uint8Array,
  baseMediaDecodeTime: number,
  firstSequenceNumber: number | null = 1,
): { bytes: Uint8Array; fragments: number } {
  const kept = readBoxes(segment, "segment").filter((box) => box.type !== "sidx");
  const copy = new Uint8Array(kept.reduce((n, box) => n + box.size, 0));
  let at = 0;
  for (const box of kept) {
    copy.set(segment.subarray(box.offset, box.offset + box.size), at);
    at += box.size;
  }
  let shift: number | undefined;
  let sequence = firstSequenceNumber ?? 0;
  for (const moof of readBoxes(copy, "segment").filter((box) => box.type === "moof")) {
    const children = childrenOf(moof);
    const mfhd = findBox(children, "mfhd");
    if (mfhd && firstSequenceNumber !== null) {
      if (mfhd.body.byteLength < 8) throw new RangeError('Cannot renumber a truncated "mfhd"');
      new DataView(mfhd.body.buffer, mfhd.body.byteOffset, 8).setUint32(4, sequence);
    }
    sequence++;
    for (const traf of children.filter((box) => box.type === "traf")) {
      const tfdt = findBox(childrenOf(traf), "tfdt");
      if (!tfdt) continue;
      const view = new DataView(tfdt.body.buffer, tfdt.body.byteOffset, tfdt.body.byteLength);
      const version1 = tfdt.body[0] === 1;
      const original = version1 ? Number(view.getBigUint64(4)) : view.getUint32(4);
      shift ??= baseMediaDecodeTime - original;
      const time = original + shift;
      if (version1) view.setBigUint64(4, BigInt(time));
      else if (time <= 0xffffffff) view.setUint32(4, time);
      else throw new RangeError("Clip is too long for a version 0 tfdt");
    }
  }
  return { bytes: copy, fragments: sequence - (firstSequenceNumber ?? 0) };
}

/**
 * Streams a timeline's fMP4 segments as one fragmented MP4: the init segment once, then every
 * fragment with its decode time rebased so the clip starts at zero and holes between segments or
 * recordings are closed (a clip is the recorded video, played back to back: its own timeline
 * has no holes; the playlists are where holes keep their place), its fragment sequence numbers
 * counting from 1 across the whole clip. No re-encoding: the clip starts at the keyframe that
 * opens the first segment overlapping the range and ends with the last one. Recordings must
 * share an encoding (identical init segments); otherwise it is a ConflictError naming where the
 * encoding changes. A stored object that is missing or unreadable is left out (a recording whose
 * init segment is, wholly) and reported to `onSkip`. The timeline must carry its segments'
 * object keys.
 */
export async function* clipFragments(
  store: ObjectStore,
  timeline: Timeline,
  onSkip: (skipped: SkippedObject) => void = () => {},
): AsyncGenerator<Uint8Array> {
  const runs = timeline.items.filter((item): item is TimelineRun => item.kind === "run");
  if (runs.length === 0) throw new NotFoundError("Nothing was recorded in that range");
  if (runs.some((run) => run.initKey === null)) {
    throw new ConflictError("Clips are made of fMP4 (CMAF) recordings; this range holds MPEG-TS");
  }
  let init: Uint8Array | undefined;
  let track: InitSegmentInfo | undefined;
  const playable: TimelineRun[] = [];
  for (const run of runs) {
    let bytes: Uint8Array;
    try {
      bytes = await readAll(store, run.initKey!);
      if (!init) track = parseInitSegment(bytes);
    } catch (error) {
      onSkip({ kind: "init", key: run.initKey!, error });
      continue;
    }
    if (!init) init = bytes;
    else if (!sameBytes(init, bytes)) {
      throw new ConflictError(
        `The range spans recordings with different encodings (recording "${run.recordingId}" ` +
          `starts at ${new Date(run.startMs).toISOString()}): export the parts separately`,
      );
    }
    playable.push(run);
  }
  if (!init || !track) throw new NotFoundError("Nothing playable was recorded in that range");
  yield init;
  let decodeTime = 0;
  let sequence = 1;
  for (const run of playable) {
    for (const entry of run.entries) {
      if (entry.kind !== "segment") continue;
      if (entry.objectKey === undefined) {
        throw new TypeError("Cannot export a clip from a timeline made without object keys");
      }
      let rebased: { bytes: Uint8Array; fragments: number };
      let duration: number;
      try {
        const bytes = await readAll(store, entry.objectKey);
        duration = parseMediaSegment(bytes, track).durationInTimescale;
        rebased = rebaseFragment(bytes, decodeTime, sequence);
      } catch (error) {
        onSkip({ kind: "segment", key: entry.objectKey, error });
        continue;
      }
      yield rebased.bytes;
      decodeTime += duration;
      sequence += rebased.fragments;
    }
  }
}
