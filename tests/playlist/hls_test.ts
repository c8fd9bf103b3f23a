import assert from "node:assert/strict";
import HLS from "hls-parser";
import {
  buildTimeline,
  hlsMediaPlaylist,
  type HlsMediaPlaylistOptions,
  writeHlsMediaPlaylist,
} from "../../lib/playlist/mod.ts";
import { recording, run, T0 } from "./fixture.ts";

type MediaPlaylist = InstanceType<typeof HLS.types.MediaPlaylist>;

const BASE = "https://cdn.example.com/media";
const QUERY = "exp=1795000000&sig=abc_DEF-123";

const OPTIONS: HlsMediaPlaylistOptions = {
  type: "VOD",
  segmentUri: (recordingId, sequence) =>
    `${BASE}/${recordingId}/${String(sequence).padStart(10, "0")}.m4s?${QUERY}`,
  initUri: (recordingId) => `${BASE}/${recordingId}/init.mp4?${QUERY}`,
  gapUri: `${BASE}/gap.m4s`,
};

/**
 * Parses with hls-parser in strict mode. hls-parser asks EXT-X-VERSION 8 for EXT-X-GAP, which
 * rfc8216bis (section 8, protocol version compatibility) does not: for playlists with gaps the
 * parse is lenient and that one complaint is the only one allowed.
 */
function parse(text: string): MediaPlaylist {
  const complaints: string[] = [];
  const error = console.error;
  console.error = (message: string) => complaints.push(String(message));
  try {
    HLS.setOptions({ strictMode: !text.includes("#EXT-X-GAP"), silent: false });
    const playlist = HLS.parse(text);
    assert.ok(!playlist.isMasterPlaylist);
    return playlist as MediaPlaylist;
  } finally {
    console.error = error;
    HLS.setOptions({ strictMode: false });
    assert.deepEqual(
      complaints.filter((c) => !c.includes("EXT-X-VERSION needs to be 8 or higher")),
      [],
    );
  }
}

Deno.test("a VOD playlist of one recording carries every header tag a player needs", () => {
  const timeline = buildTimeline({
    recordings: [recording("a")],
    segments: run("a", { count: 5 }),
  });
  const text = hlsMediaPlaylist(timeline, OPTIONS);
  const playlist = parse(text);
  assert.equal(playlist.version, 6);
  assert.equal(playlist.targetDuration, 2);
  assert.equal(playlist.mediaSequenceBase, 0);
  assert.equal(playlist.discontinuitySequenceBase, 0);
  assert.equal(playlist.playlistType, "VOD");
  assert.equal(playlist.endlist, true);
  assert.equal(playlist.independentSegments, true);
  assert.equal(playlist.segments.length, 5);
  const [first] = playlist.segments;
  assert.equal(first.map?.uri, `${BASE}/a/init.mp4?${QUERY}`);
  assert.equal(first.uri, `${BASE}/a/0000000000.m4s?${QUERY}`);
  assert.equal(first.duration, 2);
  assert.equal(first.programDateTime?.toISOString(), "2026-11-24T03:00:00.000Z");
  assert.ok(playlist.segments.slice(1).every((s) => !s.programDateTime && !s.discontinuity));
  // hls-parser drops these two at their default of 0; the lead asked for them written.
  assert.match(text, /^#EXT-X-MEDIA-SEQUENCE:0$/m);
  assert.match(text, /^#EXT-X-DISCONTINUITY-SEQUENCE:0$/m);
  assert.match(text, /^#EXT-X-PROGRAM-DATE-TIME:2026-11-24T03:00:00\.000Z$/m);
  assert.ok(text.endsWith("#EXT-X-ENDLIST\n"));
  assert.equal(text.match(/#EXT-X-MAP/g)?.length, 1);
});

Deno.test("an EVENT playlist says so and has no ENDLIST", () => {
  const timeline = buildTimeline({
    recordings: [recording("a")],
    segments: run("a", { count: 3 }),
  });
  const text = hlsMediaPlaylist(timeline, { ...OPTIONS, type: "EVENT" });
  const playlist = parse(text);
  assert.equal(playlist.playlistType, "EVENT");
  assert.equal(playlist.endlist, false);
  assert.doesNotMatch(text, /ENDLIST/);
});

Deno.test("target duration is the longest EXTINF rounded to the nearest integer", () => {
  const cases: Array<[number[], number]> = [
    [[2000, 2400, 1999], 2], // 2.4 rounds to 2
    [[2000, 2500], 3], // a tie rounds up
    [[2000, 2600], 3],
    [[300], 1], // never below 1
    [[6001, 2000], 6],
  ];
  for (const [durations, target] of cases) {
    let at = T0;
    const segments = durations.map((durationMs, sequence) => {
      const segment = {
        recordingId: "a",
        sequence,
        startMs: at,
        durationMs,
        objectKey: `${sequence}`,
      };
      at += durationMs;
      return segment;
    });
    const timeline = buildTimeline({ recordings: [recording("a")], segments });
    const playlist = parse(hlsMediaPlaylist(timeline, OPTIONS));
    assert.equal(playlist.targetDuration, target, `durations ${durations}`);
    for (const segment of playlist.segments) {
      assert.ok(Math.round(segment.duration) <= playlist.targetDuration);
    }
    assert.deepEqual(playlist.segments.map((s) => Math.round(s.duration * 1000)), durations);
  }
  const steady = buildTimeline({ recordings: [recording("a")], segments: run("a", { count: 2 }) });
  assert.equal(
    parse(hlsMediaPlaylist(steady, { ...OPTIONS, minTargetDuration: 4 })).targetDuration,
    4,
  );
});

Deno.test("recordings are split by DISCONTINUITY, each with its MAP and a PDT after it", () => {
  const timeline = buildTimeline({
    recordings: [recording("a"), recording("b", T0 + 6000)],
    segments: [...run("a", { count: 3 }), ...run("b", { count: 2, startMs: T0 + 6000 })],
  });
  const playlist = parse(hlsMediaPlaylist(timeline, OPTIONS));
  const segments = playlist.segments;
  assert.equal(segments.length, 5);
  assert.deepEqual(segments.map((s) => Boolean(s.discontinuity)), [
    false,
    false,
    false,
    true,
    false,
  ]);
  assert.deepEqual(segments.map((s) => s.map?.uri.split("/").at(-2)), ["a", "a", "a", "b", "b"]);
  assert.equal(segments[3].programDateTime?.getTime(), T0 + 6000);
  assert.equal(segments[3].uri, `${BASE}/b/0000000000.m4s?${QUERY}`);
  assert.equal(segments[3].discontinuitySequence, 1);
});

Deno.test("holes become EXT-X-GAP entries no longer than the target, then a PDT", () => {
  const a = run("a", { count: 4 });
  const timeline = buildTimeline({
    recordings: [recording("a"), recording("b", T0 + 30_000)],
    segments: [
      a[0],
      a[1],
      { ...a[2], startMs: a[2].startMs + 9000 }, // a 9 s hole inside the recording
      { ...a[3], startMs: a[3].startMs + 9000 }, // a ends at T0 + 17 s
      ...run("b", { count: 2, startMs: T0 + 30_000 }), // 13 s between the recordings
    ],
  });
  const text = hlsMediaPlaylist(timeline, OPTIONS);
  const playlist = parse(text);
  const target = playlist.targetDuration;
  assert.equal(target, 2);
  const kinds = playlist.segments.map((s) => s.gap ? "gap" : s.uri.split("/").at(-2));
  assert.deepEqual(kinds, [
    "a",
    "a",
    ...Array(5).fill("gap"), // 9 s in 5 entries of 1.8 s
    "a",
    "a",
    ...Array(7).fill("gap"), // 13 s in 7 entries
    "b",
    "b",
  ]);
  const gaps = playlist.segments.filter((s) => s.gap);
  assert.ok(gaps.every((s) => s.uri === `${BASE}/gap.m4s` && Math.round(s.duration) <= target));
  assert.deepEqual(gaps.slice(0, 5).map((s) => s.duration), Array(5).fill(1.8));
  const sum = (from: number, to: number) =>
    Math.round(gaps.slice(from, to).reduce((total, s) => total + s.duration * 1000, 0));
  assert.equal(sum(0, 5), 9000);
  assert.equal(sum(5, 12), 13_000);
  // The gap between recordings comes before the DISCONTINUITY, which comes with b's first segment.
  assert.ok(playlist.segments.slice(0, 16).every((s) => !s.discontinuity));
  assert.equal(playlist.segments[16].discontinuity, true);
  // A PDT re-anchors the first segment after each gap, and says its true start.
  assert.equal(playlist.segments[7].programDateTime?.getTime(), T0 + 13_000);
  assert.equal(playlist.segments[16].programDateTime?.getTime(), T0 + 30_000);
  assert.equal(text.match(/#EXT-X-PROGRAM-DATE-TIME/g)?.length, 3);
  assertPdtMatchesDurations(playlist);
});

Deno.test("a PDT on every segment says the same times as the anchors and durations", () => {
  const timeline = buildTimeline({
    recordings: [recording("a")],
    segments: run("a", { count: 30, durationMs: 1999 }),
  });
  const every = parse(hlsMediaPlaylist(timeline, { ...OPTIONS, programDateTime: "every-segment" }));
  assert.ok(every.segments.every((s) => s.programDateTime));
  assertPdtMatchesDurations(every);
  assert.equal(every.segments[29].programDateTime?.toISOString(), "2026-11-24T03:00:57.971Z");
});

/** Each PDT equals the previous PDT plus the EXTINF durations in between. */
function assertPdtMatchesDurations(playlist: MediaPlaylist) {
  let expected: number | undefined;
  for (const segment of playlist.segments) {
    if (segment.programDateTime) {
      if (expected !== undefined) assert.equal(segment.programDateTime.getTime(), expected);
      expected = segment.programDateTime.getTime();
    }
    expected! += Math.round(segment.duration * 1000);
  }
}

Deno.test("MPEG-TS runs get no MAP and may not follow fMP4 ones", () => {
  const ts = buildTimeline({
    recordings: [recording("t", T0, null)],
    segments: run("t", { count: 2, extension: "ts" }),
  });
  const text = hlsMediaPlaylist(ts, OPTIONS);
  assert.doesNotMatch(text, /EXT-X-MAP/);
  assert.equal(parse(text).segments.length, 2);

  const mixed = buildTimeline({
    recordings: [recording("a"), recording("t", T0 + 10_000, null)],
    segments: [
      ...run("a", { count: 1 }),
      ...run("t", { count: 1, startMs: T0 + 10_000, extension: "ts" }),
    ],
  });
  assert.throws(() => hlsMediaPlaylist(mixed, OPTIONS), /MPEG-TS recording "t" after an fMP4/);
});

Deno.test("URIs that would break a playlist line or quoted string are refused", () => {
  const timeline = buildTimeline({
    recordings: [recording("a")],
    segments: run("a", { count: 1 }),
  });
  assert.throws(() => hlsMediaPlaylist(timeline, { ...OPTIONS, initUri: () => 'x"y' }), TypeError);
  assert.throws(
    () => hlsMediaPlaylist(timeline, { ...OPTIONS, segmentUri: () => "x\n#EXT-X-ENDLIST" }),
    TypeError,
  );
});

Deno.test("a media URI template writes the same playlist as a URI per segment", () => {
  const timeline = buildTimeline({
    recordings: [recording("a"), recording("t", T0 + 20_000, null)],
    segments: [
      ...run("t", { count: 3, startMs: T0 - 10_000, extension: "ts" }),
      ...run("a", { count: 4, sequence: 98 }),
      ...run("a", { count: 2, sequence: 9_999_999_999, startMs: T0 + 60_000 }),
    ],
  });
  const templated = hlsMediaPlaylist(timeline, {
    ...OPTIONS,
    segmentUri: undefined,
    mediaUri: (recordingId, number) =>
      `${BASE}/${recordingId}/${number}.${recordingId === "t" ? "ts" : "m4s"}?${QUERY}`,
  });
  const perSegment = hlsMediaPlaylist(timeline, {
    ...OPTIONS,
    segmentUri: (recordingId, sequence) =>
      `${BASE}/${recordingId}/${String(sequence).padStart(10, "0")}.${
        recordingId === "t" ? "ts" : "m4s"
      }?${QUERY}`,
  });
  assert.equal(templated, perSegment);
  assert.match(templated, /\/a\/0000000098\.m4s\?/);
  assert.match(templated, /\/a\/10000000000\.m4s\?/);
  assert.match(templated, /\/t\/0000000002\.ts\?/);
  const unpadded = hlsMediaPlaylist(timeline, {
    ...OPTIONS,
    mediaUri: (recordingId, number) => `${recordingId}/${number}`,
    numberWidth: 0,
  });
  assert.match(unpadded, /^a\/98$/m);
});

Deno.test("a media URI template must hold the number once and no line break", () => {
  const timeline = buildTimeline({
    recordings: [recording("a")],
    segments: run("a", { count: 1 }),
  });
  const refused = (mediaUri: (recordingId: string, number: string) => string) =>
    assert.throws(() => hlsMediaPlaylist(timeline, { ...OPTIONS, mediaUri }), TypeError);
  refused(() => `${BASE}/a/fixed.m4s`);
  refused((_, number) => `${BASE}/${number}/${number}.m4s`);
  refused((_, number) => `${BASE}/${number}.m4s\n#EXT-X-ENDLIST`);
  assert.throws(
    () => hlsMediaPlaylist(timeline, { ...OPTIONS, segmentUri: undefined }),
    /no segmentUri or mediaUri/,
  );
});

Deno.test("an empty timeline is a valid playlist with no segment", () => {
  const timeline = buildTimeline({ recordings: [], segments: [] });
  const playlist = parse(hlsMediaPlaylist(timeline, { ...OPTIONS, type: "EVENT" }));
  assert.equal(playlist.segments.length, 0);
  assert.equal(playlist.targetDuration, 1);
});

Deno.test("the streaming writer hands over chunks that add up to the playlist", () => {
  const timeline = buildTimeline({
    recordings: [recording("a")],
    segments: run("a", { count: 5000 }),
  });
  const chunks: string[] = [];
  writeHlsMediaPlaylist(timeline, OPTIONS, (chunk) => chunks.push(chunk));
  assert.ok(chunks.length > 1);
  assert.ok(chunks.slice(0, -1).every((chunk) => chunk.length >= 65_536 && chunk.length < 66_000));
  assert.equal(chunks.join(""), hlsMediaPlaylist(timeline, OPTIONS));
});

Deno.test("with filler, holes are slate pieces between discontinuities, PDT on both sides", () => {
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
    initUri: `${BASE}/gap/enc-${recordingId}/init.mp4?${QUERY}`,
    pieceUri: (total: number, count: number, index: number) =>
      `${BASE}/gap/enc-${recordingId}/${total}/${count}/${index}.m4s?${QUERY}`,
  });
  const text = hlsMediaPlaylist(timeline, { ...OPTIONS, filler });
  assert.doesNotMatch(text, /#EXT-X-GAP/);
  const playlist = parse(text);
  const kinds = playlist.segments.map((s) => s.uri.split("/").at(-2));
  assert.deepEqual(kinds, [
    "a",
    "a",
    ...Array(5).fill("5"), // 9.001 s in 5 pieces
    "a",
    "a",
    ...Array(7).fill("7"), // 12.999 s in 7 pieces
    "b",
    "b",
  ]);
  const pieces = playlist.segments.filter((s) => s.uri.includes("/gap/"));
  assert.deepEqual(pieces.slice(0, 5).map((s) => s.duration), [1.801, 1.8, 1.8, 1.8, 1.8]);
  assert.ok(pieces.every((s) => Math.round(s.duration) <= playlist.targetDuration));
  assert.equal(pieces[4].uri, `${BASE}/gap/enc-a/9001/5/4.m4s?${QUERY}`);
  // Into the hole and out of it: a discontinuity with the filler's map, then one with a's again.
  const discontinuities = playlist.segments.flatMap((s, i) => s.discontinuity ? [i] : []);
  assert.deepEqual(discontinuities, [2, 7, 9, 16]);
  assert.deepEqual(
    discontinuities.map((i) => playlist.segments[i].map?.uri.split("/").slice(-2, -1)[0]),
    ["enc-a", "a", "enc-a", "b"],
  );
  // The wall clock is said at each side of each hole.
  assert.deepEqual(discontinuities.map((i) => playlist.segments[i].programDateTime?.getTime()), [
    T0 + 4000,
    T0 + 13_001,
    T0 + 17_001,
    T0 + 30_000,
  ]);
  assertPdtMatchesDurations(playlist);

  const tagged = hlsMediaPlaylist(timeline, { ...OPTIONS, filler, fillerGapTag: true });
  assert.equal(tagged.match(/#EXT-X-GAP\n/g)?.length, 12);
  // No filler for an encoding: EXT-X-GAP on the gap URI, as before.
  const none = parse(hlsMediaPlaylist(timeline, { ...OPTIONS, filler: () => undefined }));
  assert.equal(none.segments.filter((s) => s.gap && s.uri === `${BASE}/gap.m4s`).length, 12);
});
