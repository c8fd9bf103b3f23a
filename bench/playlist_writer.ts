/**
 * Benchmark: writing a day of 2-second segments (43,200) as an HLS media playlist and a DASH
 * MPD, against hls-parser's stringify of the same playlist as the baseline (quadratic with
 * EXT-X-PROGRAM-DATE-TIME, so it runs on a smaller playlist and its cost per segment is
 * compared). Prints figures only; fails on nothing.
 *
 *   deno run --allow-read bench/playlist_writer.ts [--segments 43200] [--rounds 30]
 */
import HLS from "hls-parser";
import { parseArgs } from "node:util";
import {
  buildTimeline,
  dashManifest,
  type HlsMediaPlaylistOptions,
  writeHlsMediaPlaylist,
} from "../lib/playlist/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    segments: { type: "string", default: "43200" },
    rounds: { type: "string", default: "30" },
    baseline: { type: "string", default: "2700" },
  },
});
const count = Number(values.segments);
const rounds = Number(values.rounds);

const T0 = Date.UTC(2026, 10, 24, 3);
const recordingId = "r20261124T030000Z-k3f9";
const prefix = `https://cdn.example.com/media/fleets/f1/vehicles/v1/cameras/c1/${recordingId}/`;
// One prefix signature for the whole recording, as the server signs it.
const query = "exp=1795000000&sig=Qm9ndXMgc2lnbmF0dXJlIGZvciB0aGUgYmVuY2htYXJr";

function segments(n: number) {
  return Array.from({ length: n }, (_, sequence) => ({
    recordingId,
    sequence,
    startMs: T0 + sequence * 2000,
    durationMs: 2000,
    objectKey: `${sequence}`,
    size: 500_000,
  }));
}
const recordings = [{ id: recordingId, initKey: "init.mp4", startedAt: new Date(T0) }];
const input = segments(count);

const hls = (programDateTime: "anchors" | "every-segment"): HlsMediaPlaylistOptions => ({
  type: "VOD",
  segmentUri: (_id, sequence) => `${prefix}${String(sequence).padStart(10, "0")}.m4s?${query}`,
  initUri: () => `${prefix}init.mp4?${query}`,
  gapUri: "https://cdn.example.com/media/gap.m4s",
  programDateTime,
});

/** Median and best of `rounds` runs of `fn`, after a few warm-up runs. */
function measure(fn: () => number): { median: number; best: number; size: number } {
  let size = 0;
  for (let i = 0; i < 5; i++) size = fn();
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    size = fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)], best: times[0], size };
}

function writeHls(timeline: ReturnType<typeof buildTimeline>, pdt: "anchors" | "every-segment") {
  let size = 0;
  writeHlsMediaPlaylist(timeline, hls(pdt), (chunk) => size += chunk.length);
  return size;
}

const timeline = buildTimeline({ recordings, segments: input });
// Durations alternating 1960/2040 ms defeat run-length compression: one <S> per segment.
const uneven = buildTimeline({
  recordings,
  segments: input.map((segment, i) => ({
    ...segment,
    startMs: T0 + Math.floor(i / 2) * 4000 + (i % 2) * 1960,
    durationMs: i % 2 ? 2040 : 1960,
  })),
});
const dash = (of: ReturnType<typeof buildTimeline>) =>
  dashManifest(of, {
    type: "VOD",
    initUri: () => `${prefix}init.mp4?${query}`,
    mediaUri: (_id, number) => `${prefix}${number}.m4s?${query}`,
    video: () => ({ codec: "avc1.64001f", width: 1280, height: 720, frameRate: "25" }),
  }).length;
const rows: Array<[string, { median: number; best: number; size: number }]> = [
  [
    "buildTimeline (sort + place)",
    measure(() => (buildTimeline({ recordings, segments: input }), 0)),
  ],
  ["HLS, PDT at anchors", measure(() => writeHls(timeline, "anchors"))],
  ["HLS, PDT on every segment", measure(() => writeHls(timeline, "every-segment"))],
  ["DASH MPD, equal durations", measure(() => dash(timeline))],
  ["DASH MPD, one S per segment", measure(() => dash(uneven))],
];

// Baseline: hls-parser's stringify of the every-segment playlist, on fewer segments.
const baselineCount = Number(values.baseline);
const small = buildTimeline({ recordings, segments: segments(baselineCount) });
const chunks: string[] = [];
writeHlsMediaPlaylist(small, hls("every-segment"), (chunk) => chunks.push(chunk));
const parsed = HLS.parse(chunks.join(""));
const baselineStart = performance.now();
HLS.stringify(parsed);
const baselineMs = performance.now() - baselineStart;
const ours = measure(() => writeHls(small, "every-segment"));

console.log(`Playlist writers, ${count} segments of 2 s (${rounds} rounds, median / best)`);
for (const [name, { median, best, size }] of rows) {
  console.log(
    `  ${name.padEnd(30)} ${median.toFixed(2).padStart(8)} ms  ${best.toFixed(2).padStart(8)} ms` +
      (size ? `  ${(size / 1024).toFixed(0).padStart(6)} KiB` : ""),
  );
}
console.log(
  `Baseline, ${baselineCount} segments with a PDT each: hls-parser stringify ` +
    `${baselineMs.toFixed(1)} ms, this writer ${ours.median.toFixed(2)} ms ` +
    `(${(baselineMs / ours.median).toFixed(0)}x)`,
);
