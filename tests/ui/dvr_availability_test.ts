/** The DVR timeline's reading of the availability API: the best place of each moment. */
import assert from "node:assert/strict";
import { type RenditionSpans, whereabouts, whereAt } from "../../islands/dvr/availability.ts";

const T = Date.UTC(2026, 11, 6, 8, 0, 0);
const at = (s: number) => new Date(T + s * 1000).toISOString();
const span = (from: number, to: number, where: "server" | "vehicle" | "none") => ({
  from: at(from),
  to: at(to),
  where,
});

Deno.test("whereabouts prefers full quality on the server, then the proxy, then the vehicle", () => {
  const renditions: RenditionSpans[] = [
    {
      rendition: "full",
      spans: [span(0, 10, "vehicle"), span(10, 20, "server"), span(20, 40, "vehicle")],
    },
    { rendition: "proxy", spans: [span(0, 30, "server"), span(30, 60, "none")] },
  ];
  const spans = whereabouts(renditions, T, T + 60_000);
  assert.deepEqual(
    spans.map((s) => [(s.fromMs - T) / 1000, (s.toMs - T) / 1000, s.where]),
    [[0, 10, "proxy"], [10, 20, "full"], [20, 30, "proxy"], [30, 40, "vehicle"], [40, 60, "none"]],
  );
  assert.equal(whereAt(spans, T + 15_000), "full");
  assert.equal(whereAt(spans, T + 90_000), "none");
});
