/**
 * Where a camera's video of the shown day is, for the DVR timeline: full quality on the server,
 * only the proxy on the server, only on the vehicle (either rendition), or nowhere. Read from
 * the availability API (`GET …/cameras/{cameraId}/availability`), best first at each moment.
 */

/** What the timeline shows of a moment, best first. */
export type Where = "full" | "proxy" | "vehicle" | "none";

/** A stretch of the timeline with one {@linkcode Where}. */
export interface WhereSpan {
  fromMs: number;
  toMs: number;
  where: Where;
}

/** One rendition's spans as the availability API answers them. */
export interface RenditionSpans {
  rendition: "full" | "proxy";
  spans: Array<{ from: string; to: string; where: "server" | "vehicle" | "none" }>;
}

/** What each {@linkcode Where} is called on the page. */
export const WHERE_TEXT: Record<Where, string> = {
  full: "full quality on the server",
  proxy: "proxy only on the server",
  vehicle: "on the vehicle only",
  none: "not recorded",
};

/** The best {@linkcode Where} at each moment of [fromMs, toMs), adjacent spans merged. */
export function whereabouts(
  renditions: readonly RenditionSpans[],
  fromMs: number,
  toMs: number,
): WhereSpan[] {
  const ranges: Record<Exclude<Where, "none">, Array<readonly [number, number]>> = {
    full: [],
    proxy: [],
    vehicle: [],
  };
  for (const { rendition, spans } of renditions) {
    for (const span of spans) {
      const range = [Date.parse(span.from), Date.parse(span.to)] as const;
      if (span.where === "server") ranges[rendition].push(range);
      else if (span.where === "vehicle") ranges.vehicle.push(range);
    }
  }
  const cuts = [
    ...new Set(
      [fromMs, toMs, ...Object.values(ranges).flat(2)].filter((ms) => ms >= fromMs && ms <= toMs),
    ),
  ].sort((a, b) => a - b);
  const within = (list: Array<readonly [number, number]>, at: number) =>
    list.some(([a, b]) => a <= at && at < b);
  const spans: WhereSpan[] = [];
  for (let i = 0; i + 1 < cuts.length; i++) {
    const [a, b] = [cuts[i], cuts[i + 1]];
    const where: Where = within(ranges.full, a)
      ? "full"
      : within(ranges.proxy, a)
      ? "proxy"
      : within(ranges.vehicle, a)
      ? "vehicle"
      : "none";
    const last = spans.at(-1);
    if (last?.where === where) last.toMs = b;
    else spans.push({ fromMs: a, toMs: b, where });
  }
  return spans;
}

/** The {@linkcode Where} of instant `ms` in `spans` (none outside them). */
export function whereAt(spans: readonly WhereSpan[], ms: number): Where {
  return spans.find((s) => s.fromMs <= ms && ms < s.toMs)?.where ?? "none";
}
