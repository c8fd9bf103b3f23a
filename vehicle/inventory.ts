/**
 * What the vehicle holds, as the server hears it: time ranges per camera and rendition, merged
 * when less than a second apart, at most 512 per camera and rendition (the oldest dropped). The
 * same range arithmetic tells a recall which of its time could not be had.
 */
import type { Rendition } from "./queue_entry.ts";

/** A span of wall-clock time, `[fromMs, toMs]`, epoch milliseconds. */
export type Range = [number, number];

/** One camera and rendition's holdings in a heartbeat. */
export interface InventoryEntry {
  camera: string;
  rendition: Rendition;
  ranges: Range[];
}

/** A held segment's place in time. */
export interface HeldSegment {
  camera: string;
  rendition: Rendition;
  startMs: number;
  endMs: number;
}

/** Ranges closer than this are reported as one. */
export const MERGE_GAP_MS = 1_000;
/** Most ranges reported per camera and rendition. */
export const MAX_RANGES = 512;

/** Sorts and merges ranges that overlap or are less than `gapMs` apart. */
export function mergeRanges(ranges: Iterable<Range>, gapMs = MERGE_GAP_MS): Range[] {
  const sorted = [...ranges].filter(([from, to]) => to > from).sort((a, b) => a[0] - b[0]);
  const merged: Range[] = [];
  for (const [from, to] of sorted) {
    const last = merged.at(-1);
    if (last && from - last[1] < gapMs) last[1] = Math.max(last[1], to);
    else merged.push([from, to]);
  }
  return merged;
}

/** Merged ranges, keeping only the newest `max`. */
export function compactRanges(ranges: Iterable<Range>, max = MAX_RANGES): Range[] {
  return mergeRanges(ranges).slice(-max);
}

/** The parts of `range` that none of `holes` (merged, sorted) covers. */
export function subtractRanges(range: Range, holes: Range[]): Range[] {
  const left: Range[] = [];
  let from = range[0];
  for (const [holeFrom, holeTo] of holes) {
    if (holeTo <= from) continue;
    if (holeFrom >= range[1]) break;
    if (holeFrom > from) left.push([from, holeFrom]);
    from = Math.max(from, holeTo);
  }
  if (from < range[1]) left.push([from, range[1]]);
  return left;
}

/** The parts of `range` inside `ranges` (merged, sorted). */
export function intersectRanges(range: Range, ranges: Range[]): Range[] {
  const inside: Range[] = [];
  for (const [from, to] of ranges) {
    const start = Math.max(from, range[0]);
    const end = Math.min(to, range[1]);
    if (end > start) inside.push([start, end]);
  }
  return inside;
}

/** The inventory of held segments, one entry per camera and rendition, in a stable order. */
export function inventoryOf(segments: Iterable<HeldSegment>): InventoryEntry[] {
  const groups = new Map<string, { camera: string; rendition: Rendition; ranges: Range[] }>();
  for (const segment of segments) {
    const key = `${segment.camera}\u0000${segment.rendition}`;
    let group = groups.get(key);
    if (!group) groups.set(key, group = { ...segment, ranges: [] });
    group.ranges.push([Math.floor(segment.startMs), Math.ceil(segment.endMs)]);
  }
  return [...groups.values()]
    .sort((a, b) => a.camera.localeCompare(b.camera) || a.rendition.localeCompare(b.rendition))
    .map(({ camera, rendition, ranges }) => ({
      camera,
      rendition,
      ranges: compactRanges(ranges),
    }));
}

/**
 * Ranges of time per camera and rendition that something happened to (evicted, for one), kept
 * compact and bounded; saved as JSON.
 */
export class RangeLog {
  #ranges = new Map<string, Range[]>();

  constructor(saved?: Record<string, unknown>) {
    for (const [key, value] of Object.entries(saved ?? {})) {
      if (!Array.isArray(value)) continue;
      const ranges = value.filter((r): r is Range =>
        Array.isArray(r) && r.length === 2 && Number.isFinite(r[0]) && Number.isFinite(r[1])
      );
      this.#ranges.set(key, compactRanges(ranges));
    }
  }

  /** Notes a range of a camera's rendition. */
  add(camera: string, rendition: Rendition, range: Range): void {
    const key = `${camera}/${rendition}`;
    this.#ranges.set(key, compactRanges([...(this.#ranges.get(key) ?? []), range]));
  }

  /** The noted ranges of a camera's rendition, merged and sorted. */
  get(camera: string, rendition: Rendition): Range[] {
    return this.#ranges.get(`${camera}/${rendition}`) ?? [];
  }

  /** The log as JSON. */
  toJSON(): Record<string, Range[]> {
    return Object.fromEntries(this.#ranges);
  }
}
