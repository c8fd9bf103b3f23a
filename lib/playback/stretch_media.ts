/**
 * What playing recordings as one continuous timeline (a stretch, see `continuousStretches`)
 * needs of their media: the facts of an init segment that decide whether runs can share a
 * timeline and how filler must be timed under it, and media segments served with their decode
 * times moved onto the stretch's timeline.
 */
import { childrenOf, findBox, readBoxes } from "../media/box.ts";
import { type InitSegmentInfo, parseInitSegment } from "../media/mod.ts";
import { NotFoundError } from "../errors/mod.ts";
import type { ObjectStore, StoredObject } from "../storage/mod.ts";
import { rebaseFragment } from "./clip.ts";

/** What an init segment says, and what a stretch needs of it. */
export interface InitFacts {
  info: InitSegmentInfo;
  /**
   * SHA-256, hex, of the init segment's bytes but its edit lists (`edts`): equal digests, one
   * encoding. A camera's recordings differ only there: the capture-clock start offset (an empty
   * edit) and the B-frame delay (media_time, to a tick) are each recording's own. They move
   * presentation by a fraction of a frame; on a stretch's timeline the playlist places media.
   */
  digest: string;
  /**
   * Where the edit list starts the media, in timescale ticks (`elst` media_time of its first
   * non-empty edit; 0 without one): the composition offset a filler sample needs so that it is
   * presented when its decode time says, like the recording's own frames (B-frames shift them).
   */
  editMediaTime: number;
}

/** Reads {@linkcode InitFacts} from an init segment's bytes; throws what `parseInitSegment` throws. */
export async function initFacts(bytes: Uint8Array): Promise<InitFacts> {
  const info = parseInitSegment(bytes);
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", withoutEdits(bytes)));
  const digest = Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
  return { info, digest, editMediaTime: editMediaTime(bytes, info.trackId) };
}

/** The bytes of an init segment but its tracks' `edts` boxes (and the sizes that count them). */
function withoutEdits(init: Uint8Array): Uint8Array<ArrayBuffer> {
  const parts: Uint8Array[] = [];
  for (const box of readBoxes(init, "init segment")) {
    if (box.type !== "moov") {
      parts.push(init.subarray(box.offset, box.offset + box.size));
      continue;
    }
    parts.push(new TextEncoder().encode("moov"));
    for (const child of childrenOf(box)) {
      if (child.type !== "trak") {
        parts.push(new TextEncoder().encode(child.type), child.body);
        continue;
      }
      parts.push(new TextEncoder().encode("trak"));
      for (const part of childrenOf(child)) {
        if (part.type !== "edts") parts.push(new TextEncoder().encode(part.type), part.body);
      }
    }
  }
  const out = new Uint8Array(parts.reduce((n, part) => n + part.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/** The first non-empty edit's media_time of track `trackId`, 0 when there is none. */
function editMediaTime(init: Uint8Array, trackId: number): number {
  const moov = findBox(readBoxes(init, "init segment"), "moov");
  if (!moov) return 0;
  for (const trak of childrenOf(moov).filter((box) => box.type === "trak")) {
    const children = childrenOf(trak);
    const tkhd = findBox(children, "tkhd");
    if (!tkhd || tkhd.body.byteLength < 24) continue;
    const view = new DataView(tkhd.body.buffer, tkhd.body.byteOffset, tkhd.body.byteLength);
    const id = tkhd.body[0] === 1 ? view.getUint32(20) : view.getUint32(12);
    if (id !== trackId) continue;
    const edts = findBox(children, "edts");
    const elst = edts && findBox(childrenOf(edts), "elst");
    if (!elst || elst.body.byteLength < 8) return 0;
    const e = new DataView(elst.body.buffer, elst.body.byteOffset, elst.body.byteLength);
    const version1 = elst.body[0] === 1;
    const entrySize = version1 ? 20 : 12;
    const count = e.getUint32(4);
    for (let i = 0; i < count && 8 + (i + 1) * entrySize <= elst.body.byteLength; i++) {
      const at = 8 + i * entrySize;
      const mediaTime = version1 ? Number(e.getBigInt64(at + 8)) : e.getInt32(at + 4);
      if (mediaTime >= 0) return mediaTime;
    }
    return 0;
  }
  return 0;
}

/** Largest decode time a stretch's URL may ask for (2^48 ticks: 99 years at 90 kHz). */
export const MAX_STRETCH_TICKS = 2 ** 48;

/** A media segment moved onto a stretch's timeline, ready to send. */
export interface TimedSegment {
  bytes: Uint8Array<ArrayBuffer>;
  /** Strong validator: the stored object's ETag and the decode time. */
  etag: string;
}

/** The ETag of `object` served at decode time `ticks`. */
export function timedEtag(object: StoredObject, ticks: number): string {
  return `"${object.etag.replace(/^(W\/)?"|"$/g, "")}-t${ticks}"`;
}

/**
 * Stored media segment `key` with its fragments' decode times shifted so the first starts at
 * `ticks` (the rest keep their distance to it), its `sidx` dropped and its fragment sequence
 * numbers kept; NotFoundError when it is not stored. When `ifNoneMatch` already names it, no
 * bytes are read or made: the answer is empty, with its ETag (a 304 to whoever serves it).
 */
export async function timedSegment(
  store: ObjectStore,
  key: string,
  ticks: number,
  ifNoneMatch?: string,
): Promise<TimedSegment> {
  const head = ifNoneMatch ? await store.head(key) : undefined;
  if (head && ifNoneMatch!.split(",").some((tag) => tag.trim() === timedEtag(head, ticks))) {
    return { bytes: new Uint8Array(0), etag: timedEtag(head, ticks) };
  }
  const read = await store.read(key);
  if (!read) throw new NotFoundError(`Segment "${key.split("/").slice(-2).join("/")}" not found`);
  const bytes = new Uint8Array(await new Response(read.body).arrayBuffer());
  const { bytes: timed } = rebaseFragment(bytes, ticks, null);
  return { bytes: timed as Uint8Array<ArrayBuffer>, etag: timedEtag(read.object, ticks) };
}
