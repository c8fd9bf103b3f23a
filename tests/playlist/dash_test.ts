import assert from "node:assert/strict";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import {
  buildTimeline,
  dashManifest,
  type DashManifestOptions,
  type Timeline,
  type TimelineRun,
  type TimelineSegment,
  writeDashManifest,
} from "../../lib/playlist/mod.ts";
import { recording, run, T0 } from "./fixture.ts";

const QUERY = "exp=1795000000&sig=a$b_C-d";

const OPTIONS: DashManifestOptions = {
  type: "VOD",
  initUri: (recordingId) => `https://cdn.example.com/m/${recordingId}/init.mp4?${QUERY}`,
  mediaUri: (recordingId, number) =>
    `https://cdn.example.com/m/${recordingId}/${number}.m4s?${QUERY}`,
  video: () => ({ codec: "avc1.64001f", width: 1280, height: 720, frameRate: "25" }),
};

interface S {
  t?: number;
  d: number;
  r?: number;
}

interface Period {
  id: string;
  start: string;
  AdaptationSet: {
    mimeType: string;
    Representation: {
      bandwidth: number;
      codecs: string;
      width: number;
      height: number;
      frameRate: string;
      SegmentTemplate: {
        timescale: number;
        presentationTimeOffset: number;
        startNumber: number;
        initialization: string;
        media: string;
        SegmentTimeline: { S: S[] };
      };
    };
  };
}

/** Checks the MPD is well-formed XML and parses it, attributes as numbers where they are. */
function parse(xml: string) {
  assert.equal(XMLValidator.validate(xml), true);
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: "",
    parseAttributeValue: true,
    isArray: (name) => name === "Period" || name === "S",
  });
  return parser.parse(xml).MPD as Record<string, string> & { Period: Period[] };
}

/** The segments a Period's SegmentTimeline announces: number, start and duration (ms). */
function expand(period: Period): Array<{ number: number; t: number; d: number }> {
  const template = period.AdaptationSet.Representation.SegmentTemplate;
  const segments = [];
  let t = 0;
  let number = template.startNumber;
  for (const s of template.SegmentTimeline.S) {
    if (s.t !== undefined) {
      assert.ok(s.t >= t, "S@t never goes back");
      t = s.t;
    }
    for (let i = 0; i <= (s.r ?? 0); i++) {
      segments.push({ number: number++, t, d: s.d });
      t += s.d;
    }
  }
  return segments;
}

/** Seconds of an xs:duration `PT…S`. */
function seconds(duration: string): number {
  const match = /^PT(\d+(?:\.\d+)?)S$/.exec(duration);
  assert.ok(match, duration);
  return Number(match[1]);
}

function runsOf(timeline: Timeline): TimelineRun[] {
  return timeline.items.filter((item): item is TimelineRun => item.kind === "run");
}

Deno.test("a static MPD has one Period per run whose timeline sums to the run", () => {
  const timeline = buildTimeline({
    recordings: [recording("a"), recording("b", T0 + 20_000)],
    segments: [
      ...run("a", { count: 5 }),
      ...run("b", { count: 3, startMs: T0 + 20_000, durationMs: 1960 }),
    ],
  });
  const mpd = parse(dashManifest(timeline, OPTIONS));
  assert.equal(mpd.type, "static");
  assert.equal(mpd.xmlns, "urn:mpeg:dash:schema:mpd:2011");
  assert.equal(mpd.profiles, "urn:mpeg:dash:profile:isoff-live:2011");
  assert.equal(seconds(mpd.mediaPresentationDuration), 20 + 3 * 1.96);
  assert.equal(mpd.timeShiftBufferDepth, undefined);
  assert.deepEqual(mpd.Period.map((p) => p.id), ["a", "b"]);
  assert.deepEqual(mpd.Period.map((p) => seconds(p.start)), [0, 20]);
  for (const [i, item] of runsOf(timeline).entries()) {
    const period = mpd.Period[i];
    const segments = expand(period);
    const expected = item.entries.filter((e): e is TimelineSegment => e.kind === "segment");
    assert.deepEqual(segments.map((s) => s.number), expected.map((s) => s.sequence));
    assert.equal(
      segments.reduce((sum, s) => sum + s.d, 0),
      expected.reduce((sum, s) => sum + s.durationMs, 0),
    );
    const template = period.AdaptationSet.Representation.SegmentTemplate;
    assert.equal(template.timescale, 1000);
    assert.equal(template.presentationTimeOffset, segments[0].t);
    const representation = period.AdaptationSet.Representation;
    assert.equal(representation.codecs, "avc1.64001f");
    assert.equal(representation.width, 1280);
    assert.equal(representation.frameRate, 25);
    assert.equal(period.AdaptationSet.mimeType, "video/mp4");
  }
  // Equal durations are run-length compressed.
  assert.deepEqual(mpd.Period[0].AdaptationSet.Representation.SegmentTemplate.SegmentTimeline.S, [
    { t: 0, d: 2000, r: 4 },
  ]);
});

Deno.test("templates keep the $Number$ identifier and escape $ and & of signed URLs", () => {
  const timeline = buildTimeline({
    recordings: [recording("a")],
    segments: run("a", { count: 2 }),
  });
  const xml = dashManifest(timeline, OPTIONS);
  // Unpadded by default: libavformat (ffmpeg, ffprobe, mpv) reads `%0Nd` of one digit only.
  assert.match(
    xml,
    /media="https:\/\/cdn\.example\.com\/m\/a\/\$Number\$\.m4s\?exp=1795000000&amp;sig=a\$\$b_C-d"/,
  );
  assert.match(
    xml,
    /initialization="https:\/\/cdn\.example\.com\/m\/a\/init\.mp4\?exp=1795000000&amp;sig=a\$\$b_C-d"/,
  );
  const template = parse(xml).Period[0].AdaptationSet.Representation.SegmentTemplate;
  // What a DASH client resolves for segment 1: the identifier filled in, `$$` back to `$`.
  const url = template.media.replace("$Number$", "1").replaceAll("$$", "$");
  assert.equal(url, `https://cdn.example.com/m/a/1.m4s?${QUERY}`);

  const padded = dashManifest(timeline, { ...OPTIONS, numberWidth: 10 });
  assert.match(padded, /\/\$Number%010d\$\.m4s/);
  assert.throws(
    () => dashManifest(timeline, { ...OPTIONS, mediaUri: (id) => `https://x/${id}/1.m4s` }),
    /lacks "\$Number\$"/,
  );
});

Deno.test("a hole inside a run restarts the SegmentTimeline with an explicit t", () => {
  const segments = run("a", { count: 6 });
  const timeline = buildTimeline({
    recordings: [recording("a")],
    segments: segments.map((s, i) => i >= 3 ? { ...s, startMs: s.startMs + 5000 } : s),
  });
  const [period] = parse(dashManifest(timeline, OPTIONS)).Period;
  assert.deepEqual(period.AdaptationSet.Representation.SegmentTemplate.SegmentTimeline.S, [
    { t: 0, d: 2000, r: 2 },
    { t: 11_000, d: 2000, r: 2 },
  ]);
  assert.deepEqual(expand(period).map((s) => s.number), [0, 1, 2, 3, 4, 5]);
});

Deno.test("a run whose sequence numbers skip continues in a new Period", () => {
  const segments = run("a", { count: 6, sequence: 10 });
  const timeline = buildTimeline({
    recordings: [recording("a")],
    segments: segments.filter((s) => s.sequence !== 13), // 13 never arrived
  });
  const mpd = parse(dashManifest(timeline, OPTIONS));
  assert.deepEqual(mpd.Period.map((p) => p.id), ["a", "a-14"]);
  assert.deepEqual(mpd.Period.map((p) => seconds(p.start)), [0, 8]);
  assert.deepEqual(expand(mpd.Period[0]).map((s) => s.number), [10, 11, 12]);
  assert.deepEqual(expand(mpd.Period[1]).map((s) => s.number), [14, 15]);
  const second = mpd.Period[1].AdaptationSet.Representation.SegmentTemplate;
  assert.equal(second.startNumber, 14);
  // Media time keeps counting from the recording's start: sequence 14 is 8 s in.
  assert.equal(second.presentationTimeOffset, 8000);
  assert.deepEqual(second.SegmentTimeline.S, [{ t: 8000, d: 2000, r: 1 }]);
});

Deno.test("a dynamic MPD grows: no duration, no time-shift limit, an update period", () => {
  const timeline = buildTimeline({
    recordings: [recording("a", T0 - 60_000)],
    segments: run("a", { count: 3, sequence: 30 }),
  });
  const now = new Date(T0 + 10_000);
  const xml = dashManifest(timeline, { ...OPTIONS, type: "EVENT", now });
  const mpd = parse(xml) as ReturnType<typeof parse> & { UTCTiming: Record<string, string> };
  assert.equal(mpd.type, "dynamic");
  assert.equal(mpd.availabilityStartTime, new Date(T0).toISOString());
  assert.equal(mpd.publishTime, now.toISOString());
  assert.equal(seconds(mpd.minimumUpdatePeriod), 2);
  assert.equal(mpd.mediaPresentationDuration, undefined);
  assert.equal(mpd.timeShiftBufferDepth, undefined);
  assert.equal(mpd.UTCTiming.schemeIdUri, "urn:mpeg:dash:utc:direct:2014");
  const template = mpd.Period[0].AdaptationSet.Representation.SegmentTemplate;
  // The recording started a minute before the window: media time is 60 s in.
  assert.equal(template.presentationTimeOffset, 60_000);
  assert.equal(template.startNumber, 30);

  const fixed = parse(dashManifest(timeline, {
    ...OPTIONS,
    type: "EVENT",
    now,
    availabilityStartTime: new Date(T0 - 3_600_000),
    minimumUpdatePeriodMs: 6000,
  }));
  assert.equal(seconds(fixed.Period[0].start), 3600);
  assert.equal(fixed.minimumUpdatePeriod, "PT6S");
  // A window starting inside the first segment: the segment is kept whole, the MPD starts with it.
  const inside = parse(
    dashManifest(timeline, {
      ...OPTIONS,
      type: "EVENT",
      availabilityStartTime: new Date(T0 + 1500),
    }),
  );
  assert.equal(inside.availabilityStartTime, new Date(T0).toISOString());
  assert.equal(seconds(inside.Period[0].start), 0);
});

Deno.test("bandwidth is the peak bit rate of the Period's segments unless given", () => {
  const segments = run("a", { count: 3 }).map((s, i) => ({
    ...s,
    size: [250_000, 500_000, 100_000][i],
  }));
  const timeline = buildTimeline({ recordings: [recording("a")], segments });
  const [period] = parse(dashManifest(timeline, OPTIONS)).Period;
  assert.equal(period.AdaptationSet.Representation.bandwidth, 2_000_000);
  const stated = parse(dashManifest(timeline, {
    ...OPTIONS,
    video: () => ({ codec: "avc1.64001f", width: 1, height: 1, bandwidth: 123 }),
  }));
  assert.equal(stated.Period[0].AdaptationSet.Representation.bandwidth, 123);
});

Deno.test("DASH refuses an empty timeline and MPEG-TS runs", () => {
  assert.throws(
    () => dashManifest(buildTimeline({ recordings: [], segments: [] }), OPTIONS),
    RangeError,
  );
  const ts = buildTimeline({
    recordings: [recording("t", T0, null)],
    segments: run("t", { count: 1, extension: "ts" }),
  });
  assert.throws(() => dashManifest(ts, OPTIONS), /MPEG-TS recording "t"/);
});

Deno.test("the streaming MPD writer hands over chunks that add up to the MPD", () => {
  const timeline = buildTimeline({
    recordings: [recording("a")],
    // Alternating durations defeat run-length compression: one S per segment.
    segments: run("a", { count: 4000 }).map((s, i) => ({
      ...s,
      startMs: T0 + Math.floor(i / 2) * 4000 + (i % 2) * 1900,
      durationMs: i % 2 ? 2100 : 1900,
    })),
  });
  const chunks: string[] = [];
  writeDashManifest(timeline, OPTIONS, (chunk) => chunks.push(chunk));
  assert.ok(chunks.length > 1);
  const xml = chunks.join("");
  assert.equal(xml, dashManifest(timeline, OPTIONS));
  const [period] = parse(xml).Period;
  assert.equal(period.AdaptationSet.Representation.SegmentTemplate.SegmentTimeline.S.length, 4000);
  assert.equal(expand(period).reduce((sum, s) => sum + s.d, 0), 8_000_000);
});

Deno.test("with filler, holes are filler Periods whose starts keep time", () => {
  const a = run("a", { count: 4 });
  const timeline = buildTimeline({
    recordings: [recording("a"), recording("b", T0 + 30_000)],
    segments: [
      a[0],
      a[1],
      { ...a[2], startMs: a[2].startMs + 9001 }, // a 9.001 s hole inside the recording
      { ...a[3], startMs: a[3].startMs + 9001 },
      ...run("b", { count: 2, startMs: T0 + 30_000 }), // 12.999 s between the recordings
    ],
  });
  const filler = (recordingId: string) => ({
    initUri: `https://cdn.example.com/m/gap/enc-${recordingId}/init.mp4?${QUERY}`,
    mediaUri: (total: number, count: number, number: string) =>
      `https://cdn.example.com/m/gap/enc-${recordingId}/${total}/${count}/${number}.m4s?${QUERY}`,
    video: { codec: "avc1.64001f", width: 1280, height: 720, bandwidth: 8000 },
  });
  const mpd = parse(dashManifest(timeline, { ...OPTIONS, filler }));
  assert.deepEqual(mpd.Period.map((p) => p.id), [
    "a",
    `gap-${T0 + 4000}`,
    "a-2",
    `gap-${T0 + 17_001}`,
    "b",
  ]);
  // Each Period starts where the one before it ends: the holes keep their time.
  const starts = mpd.Period.map((p) => seconds(p.start));
  assert.deepEqual(starts, [0, 4, 13.001, 17.001, 30]);
  const lengths = mpd.Period.map((p) => expand(p).reduce((sum, s) => sum + s.d, 0) / 1000);
  starts.slice(1).forEach((start, i) => assert.ok(Math.abs(start - starts[i] - lengths[i]) < 1e-9));
  assert.equal(seconds(mpd.mediaPresentationDuration), 34);

  const hole = mpd.Period[1];
  const template = hole.AdaptationSet.Representation.SegmentTemplate;
  assert.equal(template.startNumber, 0);
  assert.equal(template.presentationTimeOffset, 0);
  assert.match(template.initialization, /\/gap\/enc-a\/init\.mp4\?/);
  assert.match(template.media, /\/gap\/enc-a\/9001\/5\/\$Number\$\.m4s\?/);
  assert.deepEqual(expand(hole), [
    { number: 0, t: 0, d: 1801 },
    { number: 1, t: 1801, d: 1800 },
    { number: 2, t: 3601, d: 1800 },
    { number: 3, t: 5401, d: 1800 },
    { number: 4, t: 7201, d: 1800 },
  ]);
  // a's second Period keeps a's media time: its first segment is 13.001 s in.
  assert.equal(
    mpd.Period[2].AdaptationSet.Representation.SegmentTemplate.presentationTimeOffset,
    13_001,
  );
});
