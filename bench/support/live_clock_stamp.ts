/**
 * The time stamp `bench/live_latency.ts` paints into frames and reads back: 24 bits of
 * milliseconds (wrapping after 4.6 hours) and an 8-bit check, as 32 black/white blocks in an 8x4
 * grid, most significant bit first. Blocks are 32 pixels at 720p (scaled with the height), big
 * enough to survive H.264 at low bit rates and the ladder's downscaling to 480p.
 */

/** Columns and rows of the grid. */
export const GRID = { columns: 8, rows: 4 };

/** Top-left offset and block size, in pixels, for a source `height` pixels high. */
export function gridGeometry(height: number): { origin: number; block: number } {
  const block = Math.max(16, Math.round((32 * height) / 720) & ~1);
  return { origin: block, block };
}

/** The 8-bit check of a 24-bit value. */
export function stampCheck(value: number): number {
  return (((value & 0xff) + ((value >> 8) & 0xff) * 3 + ((value >> 16) & 0xff) * 7) & 0xff) ^ 0x5a;
}

/** The 32 bits painted for `ms`: 24 bits of value, then the check. */
export function stampBits(ms: number): boolean[] {
  const value = ms & 0xffffff;
  const word = (value * 256 + stampCheck(value)) >>> 0;
  return Array.from({ length: 32 }, (_, i) => ((word >>> (31 - i)) & 1) === 1);
}
