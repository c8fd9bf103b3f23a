/** Days and clock times in an IANA time zone (the fleet's), for the server and the browser. */

function parts(ms: number, timeZone: string): Record<string, number> {
  const out: Record<string, number> = {};
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
  for (const part of format.formatToParts(new Date(ms))) {
    if (part.type !== "literal") out[part.type] = Number(part.value);
  }
  return out;
}

/** How far `timeZone` is ahead of UTC at instant `ms`, in milliseconds. */
export function zoneOffsetMs(ms: number, timeZone: string): number {
  const p = parts(ms, timeZone);
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour % 24, p.minute, p.second);
  return wall - Math.floor(ms / 1000) * 1000;
}

/** The day (`YYYY-MM-DD`) that instant `at` falls on in `timeZone`. */
export function dayOf(at: Date, timeZone: string): string {
  const p = parts(at.getTime(), timeZone);
  return `${p.year}-${String(p.month).padStart(2, "0")}-${String(p.day).padStart(2, "0")}`;
}

/** The instant (epoch ms) at which day `day` (`YYYY-MM-DD`) begins in `timeZone`. */
export function zonedMidnight(day: string, timeZone: string): number {
  const [y, m, d] = day.split("-").map(Number);
  const wall = Date.UTC(y, m - 1, d);
  let ms = wall - zoneOffsetMs(wall, timeZone);
  ms = wall - zoneOffsetMs(ms, timeZone);
  return ms;
}

/** `HH:MM:SS` (or `HH:MM` without `seconds`) of instant `ms` in `timeZone`. */
export function clockTime(ms: number, timeZone: string, seconds = true): string {
  const p = parts(ms, timeZone);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(p.hour % 24)}:${two(p.minute)}${seconds ? `:${two(p.second)}` : ""}`;
}
