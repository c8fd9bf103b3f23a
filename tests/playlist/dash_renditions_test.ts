import assert from "node:assert/strict";
import { XMLValidator } from "fast-xml-parser";
import {
  buildTimeline,
  dashRenditions,
  type DashRenditionsOptions,
  type Timeline,
} from "../../lib/playlist/mod.ts";
import { recording, run, T0 } from "./fixture.ts";

const OPTIONS: DashRenditionsOptions = {
  type: "VOD",
  initUri: (recordingId) => `https://m.example.com/${recordingId}/init.mp4?sig=a`,
  mediaUri: (recordingId, sequence, offsetMs) =>
    `https://m.example.com/${recordingId}/${sequence}.m4s?sig=a&t=${offsetMs * 90}`,
};
const PROXY_VIDEO = { codec: "avc1.64000d", width: 320, height: 180, bandwidth: 150_000 };
const FULL_VIDEO = { codec: "avc1.64001f", width: 1280, height: 720, bandwidth: 2_000_000 };

/** The proxy's timeline, ten 2 s segments of "r1-p" from T0, with a hole where `holes` says. */
function proxyTimeline(holes: number[] = []): Timeline {
  return buildTimeline({
    recordings: [recording("r1-p")],
    segments: run("r1-p", { count: 10 }).filter((s) => !holes.includes(s.sequence)),
  });
}

/** Full quality "r1" laid on `proxy`: its segment where `present` has the index, else a gap. */
function laidOn(proxy: Timeline, present: number[]): Timeline {
  return {
    ...proxy,
    items: proxy.items.map((item) =>
      item.kind === "gap" ? item : {
        ...item,
        recordingId: "r1",
        initKey: "cam/r1/init.mp4",
        entries: item.entries.map((entry, i) =>
          entry.kind === "segment" && present.includes(i)
            ? { ...entry, sequence: 100 + i }
            : { kind: "gap" as const, startMs: entry.startMs, durationMs: entry.durationMs }
        ),
      }
    ),
  };
}

function periods(mpd: string): string[][] {
  assert.equal(XMLValidator.validate(mpd), true);
  return [...mpd.matchAll(/<Period id="([^"]+)" start="([^"]+)" duration="([^"]+)"/g)]
    .map(([, id, start, duration]) => [id, start, duration]);
}

Deno.test("a renditions MPD cuts Periods where full quality starts and stops", () => {
  const proxy = proxyTimeline();
  const mpd = dashRenditions([
    { id: "proxy", timeline: proxy, video: () => PROXY_VIDEO },
    { id: "full", timeline: laidOn(proxy, [3, 4, 5]), video: () => FULL_VIDEO },
  ], OPTIONS);
  assert.deepEqual(periods(mpd), [
    [`proxy-${T0}`, "PT0S", "PT6S"],
    [`proxy+full-${T0 + 6000}`, "PT6S", "PT6S"],
    [`proxy-${T0 + 12_000}`, "PT12S", "PT8S"],
  ]);
  assert.match(mpd, /type="static" mediaPresentationDuration="PT20S"/);
  // The Period with both: two Representations on one timeline from the Period's start, each
  // URL served from its offset in the Period.
  const both = mpd.split("<Period").find((p) => p.includes('id="proxy+full'))!;
  assert.match(both, /<Representation id="proxy" bandwidth="150000" codecs="avc1.64000d"/);
  assert.match(both, /<Representation id="full" bandwidth="2000000" codecs="avc1.64001f"/);
  assert.deepEqual(
    [...both.matchAll(/<SegmentURL media="([^"]+)"/g)].map(([, u]) =>
      u.split("/").slice(-2).join("/")
    ),
    [
      "r1-p/3.m4s?sig=a&amp;t=0",
      "r1-p/4.m4s?sig=a&amp;t=180000",
      "r1-p/5.m4s?sig=a&amp;t=360000",
      "r1/103.m4s?sig=a&amp;t=0",
      "r1/104.m4s?sig=a&amp;t=180000",
      "r1/105.m4s?sig=a&amp;t=360000",
    ],
  );
  assert.equal((both.match(/<S t="0" d="2000"\/>/g) ?? []).length, 2);
  assert.equal((both.match(/<S d="2000"\/>/g) ?? []).length, 4);
});

Deno.test("a renditions MPD ends a Period at a hole of the proxy, and leaves out unknown video", () => {
  const proxy = proxyTimeline([5]);
  const full = laidOn(proxy, [
    ...proxy.items.flatMap((item) => item.kind === "run" ? item.entries.keys().toArray() : []),
  ]);
  const mpd = dashRenditions([
    { id: "proxy", timeline: proxy, video: () => PROXY_VIDEO },
    { id: "full", timeline: full, video: () => FULL_VIDEO },
  ], OPTIONS);
  assert.deepEqual(periods(mpd), [
    [`proxy+full-${T0}`, "PT0S", "PT12S"], // to the next Period: the hole is its own
    [`proxy+full-${T0 + 12_000}`, "PT12S", "PT8S"],
  ]);
  // A rendition whose video is unknown (its init unreadable) is absent wherever it is.
  const unknown = dashRenditions([
    { id: "proxy", timeline: proxy, video: () => PROXY_VIDEO },
    { id: "full", timeline: full, video: () => undefined },
  ], OPTIONS);
  assert.deepEqual(periods(unknown).map(([id]) => id.split("-")[0]), ["proxy", "proxy"]);
});

Deno.test("a renditions MPD of one rendition is that rendition's Periods", () => {
  const mpd = dashRenditions(
    [{ id: "full", timeline: proxyTimeline(), video: () => FULL_VIDEO }],
    OPTIONS,
  );
  assert.deepEqual(periods(mpd), [[`full-${T0}`, "PT0S", "PT20S"]]);
});

Deno.test("a renditions MPD refuses a rendition not laid on the first's timeline", () => {
  const proxy = proxyTimeline();
  const other = buildTimeline({
    recordings: [recording("r1")],
    segments: run("r1", { count: 4 }),
  });
  assert.throws(
    () =>
      dashRenditions([
        { id: "proxy", timeline: proxy, video: () => PROXY_VIDEO },
        { id: "full", timeline: other, video: () => FULL_VIDEO },
      ], OPTIONS),
    { name: "TypeError", message: /rendition "full": it is not laid on the first's timeline/ },
  );
});

Deno.test("a renditions MPD with nothing yet is a dynamic MPD's pending Period, and no static one", () => {
  const empty = buildTimeline({ recordings: [], segments: [] });
  const renditions = [{ id: "proxy", timeline: empty, video: () => PROXY_VIDEO }];
  assert.throws(() => dashRenditions(renditions, OPTIONS), RangeError);
  const mpd = dashRenditions(renditions, {
    ...OPTIONS,
    type: "EVENT",
    now: new Date(T0),
    availabilityStartTime: new Date(T0),
  });
  assert.match(mpd, /type="dynamic"/);
  assert.match(mpd, /<Period id="pending" start="PT0S"\/>/);
  assert.equal(XMLValidator.validate(mpd), true);
});

Deno.test("a renditions MPD of a growing range is dynamic, its Periods from availabilityStartTime", () => {
  const proxy = proxyTimeline();
  const mpd = dashRenditions([
    { id: "proxy", timeline: proxy, video: () => PROXY_VIDEO },
    { id: "full", timeline: laidOn(proxy, [8, 9]), video: () => FULL_VIDEO },
  ], {
    ...OPTIONS,
    type: "EVENT",
    now: new Date(T0 + 30_000),
    availabilityStartTime: new Date(T0 - 60_000),
  });
  assert.match(mpd, /type="dynamic" availabilityStartTime="2026-11-24T02:59:00.000Z"/);
  assert.deepEqual(periods(mpd), [
    [`proxy-${T0}`, "PT60S", "PT16S"],
    [`proxy+full-${T0 + 16_000}`, "PT76S", "PT4S"],
  ]);
  assert.match(mpd, /<UTCTiming schemeIdUri="urn:mpeg:dash:utc:direct:2014"/);
});
