import assert from "node:assert/strict";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import HLS from "hls-parser";
import {
  buildTimeline,
  continuousStretches,
  dashManifest,
  hlsMediaPlaylist,
  type StretchEncoding,
  type Timeline,
} from "../../lib/playlist/mod.ts";
import { recording, run, T0 } from "./fixture.ts";

type MediaPlaylist = InstanceType<typeof HLS.types.MediaPlaylist>;

const BASE = "https://cdn.example.com/media";
const QUERY = "exp=1795000000&sig=abc";
const TIMESCALE = 16_000;

/** A 10 s, a 9 s hole, b 6 s, then c (another encoding) 4 s right after b. */
function threeRecordings(): Timeline {
  const aEnd = T0 + 10_000;
  const bStart = aEnd + 9_000;
  return buildTimeline({
    recordings: [
      recording("a", T0),
      recording("b", bStart),
      recording("c", bStart + 6_000),
    ],
    segments: [
      ...run("a", { count: 5, startMs: T0 }),
      ...run("b", { count: 3, startMs: bStart }),
      ...run("c", { count: 2, startMs: bStart + 6_000 }),
    ],
  });
}

const encodings: Record<string, StretchEncoding> = {
  a: { key: "enc1", timescale: TIMESCALE, fillsHoles: true },
  b: { key: "enc1", timescale: TIMESCALE, fillsHoles: true },
  c: { key: "enc2", timescale: 90_000, fillsHoles: true },
};

const filler = () => ({
  initUri: `${BASE}/gap/slate/init.mp4?${QUERY}`,
  pieceUri: (total: number, count: number, i: number) =>
    `${BASE}/gap/slate/${total}/${count}/${i}.m4s?${QUERY}`,
  continuousPieceUri: (total: number, count: number, i: number, ticks: number) =>
    `${BASE}/gap/slate/${total}/${count}/${i}.m4s?${QUERY}&t=${ticks}`,
  mediaUri: (total: number, count: number, number: string) =>
    `${BASE}/gap/slate/${total}/${count}/${number}.m4s?${QUERY}`,
  video: { codec: "avc1.64001f", width: 640, height: 360 },
});

const ticksOf = (uri: string) => Number(new URL(uri).searchParams.get("t"));

Deno.test("runs of one encoding form a stretch; a change of encoding starts another", () => {
  const timeline = threeRecordings();
  const stretches = continuousStretches(
    timeline,
    (r) => encodings[r.recordingId],
  );
  const [a, b, c] = timeline.items.filter((item) => item.kind === "run");
  assert.deepEqual(stretches.get(a as never), {
    startMs: T0,
    timescale: TIMESCALE,
    continues: false,
  });
  assert.deepEqual(stretches.get(b as never), {
    startMs: T0,
    timescale: TIMESCALE,
    continues: true,
  });
  assert.equal(stretches.get(c as never), undefined, "a lone run without holes plays as it was");
  // Without filler under the init, a hole ends the stretch.
  const noFill = continuousStretches(
    timeline,
    (r) => ({ ...encodings[r.recordingId], fillsHoles: false }),
  );
  assert.equal(noFill.size, 0);
});

Deno.test("HLS: a stretch has one MAP, no discontinuity, and decode times that follow the durations", () => {
  const timeline = threeRecordings();
  const stretches = continuousStretches(timeline, (r) => encodings[r.recordingId]);
  const text = hlsMediaPlaylist(timeline, {
    type: "VOD",
    mediaUri: (id, number, time) =>
      `${BASE}/${id}/${number}.m4s?${QUERY}${time === undefined ? "" : `&t=${time}`}`,
    initUri: (id) => `${BASE}/${id}/init.mp4?${QUERY}`,
    gapUri: `${BASE}/gap.m4s`,
    filler,
    stretches,
  });
  HLS.setOptions({ strictMode: true });
  const playlist = HLS.parse(text) as MediaPlaylist;
  HLS.setOptions({ strictMode: false });
  const maps = text.match(/#EXT-X-MAP:URI="([^"]+)"/g)!;
  assert.deepEqual(maps.map((m) => m.split("/").at(-1)!.split("?")[0]), ["init.mp4", "init.mp4"]);
  assert.ok(maps[0].includes("/a/init.mp4") && maps[1].includes("/c/init.mp4"), text);
  // One discontinuity: where the encoding changes (b → c), none around the hole.
  const discontinuities = playlist.segments.filter((s) => s.discontinuity);
  assert.equal(discontinuities.length, 1);
  assert.match(discontinuities[0].uri, /\/c\/0000000000\.m4s/);
  assert.ok(!text.includes("#EXT-X-GAP"));
  // a's 5 segments, the 9 s hole in 5 pieces, b's 3: decode times continuous in ticks.
  let elapsed = 0;
  const stretch = playlist.segments.slice(0, 13);
  assert.equal(stretch.filter((s) => s.uri.includes("/gap/")).length, 5);
  for (const segment of stretch) {
    assert.equal(ticksOf(segment.uri), Math.round(elapsed * TIMESCALE), segment.uri);
    elapsed += segment.duration;
  }
  // The run of another encoding is played as before: no `t`.
  assert.ok(playlist.segments.slice(13).every((s) => !s.uri.includes("&t=")));
  // PDT on every anchor: the start, the hole, b.
  const pdt = playlist.segments.filter((s) => s.programDateTime).map((s) =>
    s.programDateTime!.getTime()
  );
  assert.deepEqual(pdt, [T0, T0 + 10_000, T0 + 19_000, T0 + 25_000]);
});

Deno.test("DASH: a stretch is one Period of a SegmentList over a SegmentTimeline, one S per URL", () => {
  const timeline = threeRecordings();
  const stretches = continuousStretches(timeline, (r) => encodings[r.recordingId]);
  const text = dashManifest(timeline, {
    type: "VOD",
    initUri: (id) => `${BASE}/${id}/init.mp4?${QUERY}`,
    mediaUri: (id, number, time) =>
      `${BASE}/${id}/${number}.m4s?${QUERY}${time === undefined ? "" : `&t=${time}`}`,
    video: () => ({ codec: "avc1.64001f", width: 640, height: 360 }),
    filler,
    stretches,
  });
  assert.equal(XMLValidator.validate(text), true);
  const mpd = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: "",
    isArray: (name) => ["Period", "S", "SegmentURL"].includes(name),
  }).parse(text).MPD;
  assert.equal(mpd.Period.length, 2, text);
  const [first, second] = mpd.Period;
  assert.equal(first.start, "PT0S");
  assert.equal(second.start, "PT25S");
  const list = first.AdaptationSet.Representation.SegmentList;
  assert.equal(list.presentationTimeOffset, "0");
  assert.equal(list.timescale, "1000");
  assert.match(list.Initialization.sourceURL, /\/a\/init\.mp4/);
  const s = list.SegmentTimeline.S as Array<{ t?: string; d: string; r?: string }>;
  const urls = list.SegmentURL as Array<{ media: string }>;
  assert.equal(s.length, 13);
  assert.equal(urls.length, 13);
  assert.ok(s.every((entry) => entry.r === undefined));
  let t = 0;
  s.forEach((entry, i) => {
    assert.equal(ticksOf(urls[i].media), (t * TIMESCALE) / 1000, urls[i].media);
    t += Number(entry.d);
  });
  assert.equal(t, 25_000);
  assert.equal(urls.filter((u) => u.media.includes("/gap/")).length, 5);
  // c (another encoding, alone) keeps its SegmentTemplate Period.
  assert.ok(second.AdaptationSet.Representation.SegmentTemplate);
});

Deno.test("a growing playlist keeps the URIs it listed when a lone recording gains a successor", () => {
  const aEnd = T0 + 10_000;
  const growing = (withB: boolean) => {
    const timeline = buildTimeline({
      recordings: [recording("a", T0), ...(withB ? [recording("b", aEnd + 9_000)] : [])],
      segments: [
        ...run("a", { count: 5, startMs: T0 }),
        ...(withB ? run("b", { count: 3, startMs: aEnd + 9_000 }) : []),
      ],
    });
    const stretches = continuousStretches(timeline, (r) => encodings[r.recordingId], {
      lone: true,
    });
    return hlsMediaPlaylist(timeline, {
      type: "EVENT",
      mediaUri: (id, number, time) =>
        `${BASE}/${id}/${number}.m4s?${QUERY}${time === undefined ? "" : `&t=${time}`}`,
      initUri: (id) => `${BASE}/${id}/init.mp4?${QUERY}`,
      gapUri: `${BASE}/gap.m4s`,
      filler,
      stretches,
    });
  };
  const uris = (text: string) => text.split("\n").filter((line) => line.startsWith("https://"));
  const before = uris(growing(false));
  const after = uris(growing(true));
  assert.ok(before.every((uri) => uri.includes("&t=")), before.join("\n"));
  assert.deepEqual(after.slice(0, before.length), before, "listed URIs changed as it grew");
  assert.ok(after.length > before.length);
});
