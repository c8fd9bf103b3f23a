import { ConflictError, NotFoundError } from "../errors/mod.ts";
import { childrenOf, findBox, readBoxes } from "../media/box.ts";
import { parseInitSegment, parseMediaSegment } from "../media/mod.ts";
import type { Timeline, TimelineRun } from "../playlist/mod.ts";
import type { ObjectStore } from "../storage/mod.ts";

async function readAll(store: ObjectStore, key: string): Promise<Uint8Array> {
  const read = await store.read(key);
  if (!read) throw new NotFoundError(`Segment "${key.split("/").slice(-2).join("/")}" is missing`);
  return new Uint8Array(await new Response(read.body).arrayBuffer());
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((byte, i) => byte === b[i]);
}

/**
 * Sets every track fragment's decode time (`tfdt`) of a media segment, on a copy, and drops its
 * segment index (`sidx`, optional), whose times would still be the recording's. This is what lets
 * fragments cut from the middle of a recording, or from several recordings, play as one file
 * starting at zero.
 */
export function rebaseFragment(segment: Uint8Array, baseMediaDecodeTime: number): Uint8Array {
  const kept = readBoxes(segment, "segment").filter((box) => box.type !== "sidx");
  const copy = new Uint8Array(kept.reduce((n, box) => n + box.size, 0));
  let at = 0;
  for (const box of kept) {
    copy.set(segment.subarray(box.offset, box.offset + box.size), at);
    at += box.size;
  }
  for (const moof of readBoxes(copy, "segment").filter((box) => box.type === "moof")) {
    for (const traf of childrenOf(moof).filter((box) => box.type === "traf")) {
      const tfdt = findBox(childrenOf(traf), "tfdt");
      if (!tfdt) continue;
      const view = new DataView(tfdt.body.buffer, tfdt.body.byteOffset, tfdt.body.byteLength);
      if (tfdt.body[0] === 1) view.setBigUint64(4, BigInt(baseMediaDecodeTime));
      else if (baseMediaDecodeTime <= 0xffffffff) view.setUint32(4, baseMediaDecodeTime);
      else throw new RangeError("Clip is too long for a version 0 tfdt");
    }
  }
  return copy;
}

/**
 * Streams a timeline's fMP4 segments as one fragmented MP4: the init segment once, then every
 * fragment with its decode time rebased so the clip starts at zero and holes between segments or
 * recordings are closed. No re-encoding: the clip starts at the keyframe that opens the first
 * segment overlapping the range and ends with the last one. Recordings must share an encoding
 * (identical init segments); otherwise it is a ConflictError naming where the encoding changes.
 * The timeline must carry its segments' object keys.
 */
export async function* clipFragments(
  store: ObjectStore,
  timeline: Timeline,
): AsyncGenerator<Uint8Array> {
  const runs = timeline.items.filter((item): item is TimelineRun => item.kind === "run");
  if (runs.length === 0) throw new NotFoundError("Nothing was recorded in that range");
  if (runs.some((run) => run.initKey === null)) {
    throw new ConflictError("Clips are made of fMP4 (CMAF) recordings; this range holds MPEG-TS");
  }
  const init = await readAll(store, runs[0].initKey!);
  for (const run of runs.slice(1)) {
    if (!sameBytes(init, await readAll(store, run.initKey!))) {
      throw new ConflictError(
        `The range spans recordings with different encodings (recording "${run.recordingId}" ` +
          `starts at ${new Date(run.startMs).toISOString()}): export the parts separately`,
      );
    }
  }
  const track = parseInitSegment(init); // a clear error now rather than an unplayable file later
  yield init;
  let decodeTime = 0;
  for (const run of runs) {
    for (const entry of run.entries) {
      if (entry.kind !== "segment") continue;
      if (entry.objectKey === undefined) {
        throw new TypeError("Cannot export a clip from a timeline made without object keys");
      }
      const bytes = await readAll(store, entry.objectKey);
      const info = parseMediaSegment(bytes, track);
      yield rebaseFragment(bytes, decodeTime);
      decodeTime += info.durationInTimescale;
    }
  }
}
