/**
 * A day of 2-second segments (43,200) through both writers. Linear time is checked by what the
 * writers do, never by a clock: one URI callback per segment, output that grows by exactly one
 * segment's lines per segment, and sink calls per 64 KiB rather than per line.
 */
import assert from "node:assert/strict";
import HLS from "hls-parser";
import {
  buildTimeline,
  dashManifest,
  hlsMediaPlaylist,
  type HlsMediaPlaylistOptions,
  writeHlsMediaPlaylist,
} from "../../lib/playlist/mod.ts";
import { recording, run, T0 } from "./fixture.ts";

const DAY = 43_200;
const QUERY = "exp=1795000000&sig=0123456789abcdefghijABCDEFGHIJ_-0123456789ab";

function day(count: number) {
  return buildTimeline({
    recordings: [recording("r20261124T030000Z-k3f9")],
    segments: run("r20261124T030000Z-k3f9", { count }),
  });
}

function counting(options: Partial<HlsMediaPlaylistOptions> = {}) {
  const calls = { segment: 0, init: 0 };
  const hls: HlsMediaPlaylistOptions = {
    type: "VOD",
    segmentUri: (recordingId, sequence) => {
      calls.segment++;
      return `https://cdn.example.com/m/${recordingId}/${
        String(sequence).padStart(10, "0")
      }.m4s?${QUERY}`;
    },
    initUri: (recordingId) => {
      calls.init++;
      return `https://cdn.example.com/m/${recordingId}/init.mp4?${QUERY}`;
    },
    gapUri: "https://cdn.example.com/m/gap.m4s",
    ...options,
  };
  return { calls, hls };
}

Deno.test("a day of segments costs one URI per segment and a constant number of bytes each", () => {
  const { calls, hls } = counting();
  let writes = 0;
  let size = 0;
  writeHlsMediaPlaylist(day(DAY), hls, (chunk) => {
    writes++;
    size += chunk.length;
  });
  assert.equal(calls.segment, DAY);
  assert.equal(calls.init, 1);
  assert.ok(writes <= Math.ceil(size / 65_536) + 1, `${writes} sink calls for ${size} bytes`);

  const segmentLines =
    `#EXTINF:2.000,\n${hls.segmentUri!("r20261124T030000Z-k3f9", 1, undefined!)}\n`.length;
  const half = hlsMediaPlaylist(day(DAY / 2), hls).length;
  assert.equal(size - half, (DAY / 2) * segmentLines, "output is linear in the segment count");

  const playlist = HLS.parse(hlsMediaPlaylist(day(DAY), hls)) as InstanceType<
    typeof HLS.types.MediaPlaylist
  >;
  assert.equal(playlist.segments.length, DAY);
  assert.equal(playlist.segments.reduce((sum, s) => sum + s.duration, 0), 86_400);
});

Deno.test("a PDT on every segment of a day adds exactly one fixed-size line per segment", () => {
  const anchors = hlsMediaPlaylist(day(DAY), counting().hls);
  const every = hlsMediaPlaylist(day(DAY), counting({ programDateTime: "every-segment" }).hls);
  const pdtLine = "#EXT-X-PROGRAM-DATE-TIME:2026-11-24T03:00:00.000Z\n".length;
  assert.equal(every.length - anchors.length, (DAY - 1) * pdtLine);
  const lines = every.split("\n");
  assert.equal(lines.filter((line) => line.startsWith("#EXT-X-PROGRAM-DATE-TIME:")).length, DAY);
  assert.equal(lines.at(-4), "#EXTINF:2.000,");
  assert.equal(lines.at(-5), `#EXT-X-PROGRAM-DATE-TIME:${new Date(T0 + 86_398_000).toISOString()}`);
});

Deno.test("a day of equal segments is one S element in the MPD", () => {
  let mediaCalls = 0;
  const xml = dashManifest(day(DAY), {
    type: "VOD",
    initUri: (recordingId) => `https://cdn.example.com/m/${recordingId}/init.mp4?${QUERY}`,
    mediaUri: (recordingId, number) => {
      mediaCalls++;
      return `https://cdn.example.com/m/${recordingId}/${number}.m4s?${QUERY}`;
    },
    video: () => ({ codec: "avc1.64001f", width: 1280, height: 720 }),
  });
  assert.equal(mediaCalls, 1);
  assert.equal(xml.match(/<S /g)?.length, 1);
  assert.match(xml, /<S t="0" d="2000" r="43199"\/>/);
  assert.match(xml, /mediaPresentationDuration="PT86400S"/);
});
