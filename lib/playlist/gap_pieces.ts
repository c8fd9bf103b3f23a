/**
 * How a hole is cut into filler pieces: the same rule for HLS entries, DASH `<S>` entries and the
 * filler segments the server answers for them, so a piece's URL (`total`, `count`, `index`) is
 * all the server needs to know its start and length.
 *
 * A hole of `totalMs` is cut into `count` = ceil(totalMs / maxPieceMs) pieces as equal as whole
 * milliseconds allow: the first `totalMs mod count` are one millisecond longer.
 */

/** One piece of a hole: where it starts (from the hole's start) and how long it lasts, in ms. */
export interface GapPiece {
  startMs: number;
  durationMs: number;
}

/** How many pieces of at most `maxPieceMs` a hole of `totalMs` is cut into (0 for no hole). */
export function gapPieceCount(totalMs: number, maxPieceMs: number): number {
  if (!(maxPieceMs >= 1)) throw new RangeError(`Piece length "${maxPieceMs}" must be 1 ms or more`);
  return totalMs > 0 ? Math.ceil(Math.round(totalMs) / Math.floor(maxPieceMs)) : 0;
}

/**
 * Piece `index` of a hole of `totalMs` cut into `count` pieces; RangeError when no such piece
 * exists (an index past the end, or more pieces than milliseconds).
 *
 * @example gapPiece(9001, 5, 4) // { startMs: 7201, durationMs: 1800 }
 */
export function gapPiece(totalMs: number, count: number, index: number): GapPiece {
  if (
    !Number.isInteger(totalMs) || !Number.isInteger(count) || !Number.isInteger(index) ||
    count < 1 || count > totalMs || index < 0 || index >= count
  ) {
    throw new RangeError(`Cannot cut piece ${index} of ${count} from a hole of ${totalMs} ms`);
  }
  const base = Math.floor(totalMs / count);
  const longer = totalMs - base * count; // pieces one millisecond longer, first
  return {
    startMs: index * base + Math.min(index, longer),
    durationMs: index < longer ? base + 1 : base,
  };
}
