/**
 * ffmpeg (a real HLS client) reads playlists written over real CMAF segments from disk.
 */
import assert from "node:assert/strict";
import { parseInitSegment, parseMediaSegment } from "../../lib/media/mod.ts";
import {
  buildTimeline,
  hlsMediaPlaylist,
  type TimelineRecording,
  type TimelineSegmentInput,
} from "../../lib/playlist/mod.ts";
import { type CmafFolder, makeCmaf, run } from "../media/cmaf_fixture.ts";
import { T0 } from "./fixture.ts";

/** A recording of the CMAF in `cmaf`, timed by its own fragments, starting at `startMs`. */
async function recordingOf(id: string, cmaf: CmafFolder, startMs: number) {
  const init = parseInitSegment(await Deno.readFile(cmaf.init));
  const segments: TimelineSegmentInput[] = [];
  let at = startMs;
  for (const [sequence, path] of cmaf.segments.entries()) {
    const media = parseMediaSegment(await Deno.readFile(path), init);
    const durationMs = Math.round((media.durationInTimescale * 1000) / init.timescale);
    segments.push({ recordingId: id, sequence, startMs: at, durationMs, objectKey: path });
    at += durationMs;
  }
  const recording: TimelineRecording = { id, initKey: cmaf.init, startedAt: new Date(startMs) };
  return { recording, segments };
}

/** Writes the VOD playlist with file URIs, remuxes it with ffmpeg, and probes the result. */
async function remux(
  dir: string,
  recordings: TimelineRecording[],
  segments: TimelineSegmentInput[],
  window: { fromMs?: number; toMs?: number } = {},
) {
  const timeline = buildTimeline({ recordings, segments, ...window });
  const playlist = `${dir}/playlist.m3u8`;
  await Deno.writeTextFile(
    playlist,
    hlsMediaPlaylist(timeline, {
      type: "VOD",
      segmentUri: (_recordingId, _sequence, segment) => `file://${segment.objectKey}`,
      initUri: (_recordingId, initKey) => `file://${initKey}`,
      gapUri: `file://${dir}/gap.m4s`,
    }),
  );
  const output = `${dir}/remuxed.mp4`;
  await run("ffmpeg", ["-v", "error", "-y", "-i", playlist, "-c", "copy", output]);
  const probe = JSON.parse(
    await run("ffprobe", [
      "-v",
      "error",
      "-count_packets",
      "-show_entries",
      "format=duration:stream=nb_read_packets",
      "-of",
      "json",
      output,
    ]),
  );
  let expectedMs = 0; // the media the playlist lists
  for (const item of timeline.items) {
    if (item.kind !== "run") continue;
    for (const entry of item.entries) if (entry.kind === "segment") expectedMs += entry.durationMs;
  }
  return {
    durationMs: Number(probe.format.duration) * 1000,
    frames: Number(probe.streams[0].nb_read_packets),
    expectedMs,
  };
}

Deno.test("ffmpeg remuxes a VOD playlist of a recording to its full duration", async () => {
  await using cmaf = await makeCmaf();
  const { recording, segments } = await recordingOf("a", cmaf, T0);
  const result = await remux(cmaf.dir, [recording], segments);
  assert.equal(result.expectedMs, 6000);
  assert.ok(Math.abs(result.durationMs - result.expectedMs) <= 50, `${result.durationMs} ms`);
  assert.equal(result.frames, 150);
});

Deno.test("ffmpeg reads a window of a recording, whole segments only", async () => {
  await using cmaf = await makeCmaf();
  const { recording, segments } = await recordingOf("a", cmaf, T0);
  const result = await remux(cmaf.dir, [recording], segments, { fromMs: T0 + 3000 });
  assert.equal(result.expectedMs, 4000);
  assert.ok(Math.abs(result.durationMs - 4000) <= 50, `${result.durationMs} ms`);
  assert.equal(result.frames, 100);
});

Deno.test("ffmpeg follows a discontinuity and a new MAP into the next recording", async () => {
  await using first = await makeCmaf();
  await using second = await makeCmaf();
  const a = await recordingOf("a", first, T0);
  const b = await recordingOf("b", second, T0 + 6000);
  const result = await remux(first.dir, [a.recording, b.recording], [...a.segments, ...b.segments]);
  assert.equal(result.expectedMs, 12_000);
  assert.ok(Math.abs(result.durationMs - result.expectedMs) <= 50, `${result.durationMs} ms`);
  assert.equal(result.frames, 300);
});
