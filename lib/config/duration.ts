const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a duration such as `90`, `90s`, `15m`, `12h` or `30d` into milliseconds (a bare number is
 * seconds). Returns `undefined` when the text is not a duration.
 *
 * @example parseDuration("15m") // 900000
 */
export function parseDuration(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!match) return undefined;
  return Math.round(Number(match[1]) * UNITS[match[2] ?? "s"]);
}
