import assert from "node:assert/strict";
import HLS from "hls-parser";
import type { RenderedPlaylist } from "../../lib/playback/mod.ts";
import { playbackFixture, T0 } from "./fixture.ts";

const HOUR = 3_600_000;
type MediaPlaylist = InstanceType<typeof HLS.types.MediaPlaylist>;

function textOf(playlist: RenderedPlaylist): string {
  return new TextDecoder().decode(playlist.body);
}

function parse(playlist: RenderedPlaylist): MediaPlaylist {
  HLS.setOptions({ strictMode: false, silent: true });
  return HLS.parse(textOf(playlist)) as MediaPlaylist;
}

/** The object keys a playlist's media URLs name (`/media/<key>`), gaps left out. */
function keysOf(playlist: RenderedPlaylist): string[] {
  return parse(playlist).segments.filter((s) => !s.gap).map((s) =>
    new URL(s.uri).pathname.slice("/media/".length)
  );
}

Deno.test("a range playlist names every segment by the key it is stored under", async () => {
  await using f = await playbackFixture();
  await f.init("a");
  await f.index("a", { count: 5, startMs: T0 });
  await f.init("b");
  await f.index("b", { sequence: 7, count: 3, startMs: T0 + 60_000 });
  const scope = { fromMs: T0, toMs: T0 + HOUR };

  const rendered = await f.playback.playlist(f.camera, scope, "hls", "range");
  const { timeline } = await f.playback.timeline(f.camera, scope);
  const stored = timeline.items.flatMap((item) =>
    item.kind === "run"
      ? item.entries.flatMap((e) => e.kind === "segment" ? [e.objectKey] : [])
      : []
  );
  assert.equal(stored.length, 8);
  assert.deepEqual(keysOf(rendered), stored);
  const playlist = parse(rendered);
  assert.equal(playlist.playlistType, "VOD");
  assert.ok(textOf(rendered).endsWith("#EXT-X-ENDLIST\n"));
  assert.equal(playlist.segments.filter((s) => s.discontinuity).length, 1);
  const queries = new Set(
    playlist.segments.filter((s) => !s.gap).map((s) => new URL(s.uri).search),
  );
  assert.equal(queries.size, 1, "one prefix signature for every segment");
  assert.match([...queries][0], /^\?exp=\d+&kid=[\w-]+&sig=[\w-]+$/);
  assert.equal(rendered.contentType, "application/vnd.apple.mpegurl");
});

Deno.test("MPEG-TS recordings are listed as .ts; fMP4 segments still without init are not", async () => {
  await using f = await playbackFixture();
  await f.index("ts", { count: 3, startMs: T0 }); // no init: MPEG-TS
  await f.index("early", { count: 2, startMs: T0 + 6_000, extension: "m4s" }); // init not yet in
  const scope = { fromMs: T0, toMs: T0 + HOUR };

  const rendered = await f.playback.playlist(f.camera, scope, "hls", "range");
  assert.deepEqual(keysOf(rendered), [0, 1, 2].map((n) => f.key("ts", n, "ts")));
  assert.doesNotMatch(textOf(rendered), /EXT-X-MAP/);

  await f.init("early");
  assert.deepEqual(keysOf(await f.playback.playlist(f.camera, scope, "hls", "range")), [
    ...[0, 1, 2].map((n) => f.key("ts", n, "ts")),
    ...[0, 1].map((n) => f.key("early", n)),
  ]);
});

Deno.test("a playlist is written again only when the segments in its range change", async () => {
  await using f = await playbackFixture();
  await f.init("a");
  await f.index("a", { count: 5, startMs: T0 });
  await f.index("a", { sequence: 6, count: 4, startMs: T0 + 12_000 }); // sequence 5 is missing
  const scope = { fromMs: T0, toMs: T0 + HOUR };
  const playlist = () => f.playback.playlist(f.camera, scope, "hls", "range");

  const first = await playlist();
  assert.equal(keysOf(first).length, 9);
  assert.ok(parse(first).segments.some((s) => s.gap), "the missing segment leaves a gap");
  assert.equal(await playlist(), first, "served from the cache");

  f.playback.cache.invalidate(f.camera.cameraId); // say, segments of another range arrived
  assert.equal(await playlist(), first, "nothing in range changed: not written again");
  await f.init("later");
  await f.index("later", { count: 2, startMs: T0 + 2 * HOUR });
  assert.equal(await playlist(), first, "a recording after the range changes nothing in it");

  await f.index("a", { sequence: 5, count: 1, startMs: T0 + 10_000 }); // the late one
  const filled = await playlist();
  assert.notEqual(filled.etag, first.etag);
  assert.deepEqual(keysOf(filled), [...Array(10).keys()].map((n) => f.key("a", n)));
  assert.ok(!parse(filled).segments.some((s) => s.gap));

  await f.index("a", { sequence: 10, count: 1, startMs: T0 + 20_000 });
  const grown = await playlist();
  assert.deepEqual(keysOf(grown), [...Array(11).keys()].map((n) => f.key("a", n)));
  assert.notEqual(grown.etag, filled.etag);
});

Deno.test("an open range is an EVENT playlist that grows; a recording's turns VOD when closed", async () => {
  await using f = await playbackFixture();
  await f.init("a");
  await f.index("a", { count: 3, startMs: T0 });
  f.clock.now = T0 + 30_000; // the recording is live
  const open = () => f.playback.playlist(f.camera, { fromMs: T0 }, "hls", "open");
  const recording = () => f.playback.playlist(f.camera, { recordingId: "a" }, "hls", "recording");

  const live = await open();
  assert.equal(parse(live).playlistType, "EVENT");
  assert.doesNotMatch(textOf(live), /ENDLIST/);
  assert.equal(live.final, false);
  f.clock.now += 60_000; // the window's end moves with the clock; its segments do not
  f.playback.cache.invalidate(f.camera.cameraId);
  assert.equal(await open(), live);

  await f.index("a", { sequence: 3, count: 1, startMs: T0 + 6_000 });
  assert.equal(keysOf(await open()).length, 4);
  assert.equal(parse(await open()).playlistType, "EVENT");

  assert.equal(parse(await recording()).playlistType, "EVENT");
  await f.platform.catalog.recordings.close(f.camera.cameraId, "a", new Date(f.clock.now));
  f.playback.cache.invalidate(f.camera.cameraId);
  const closed = await recording();
  assert.equal(parse(closed).playlistType, "VOD");
  assert.ok(textOf(closed).endsWith("#EXT-X-ENDLIST\n"));
  assert.equal(keysOf(closed).length, 4);
});

Deno.test("segment URLs are signed anew every hour, and the playlist with them", async () => {
  await using f = await playbackFixture();
  await f.init("a");
  await f.index("a", { count: 2, startMs: T0 });
  const scope = { fromMs: T0, toMs: T0 + HOUR };
  const playlist = () => f.playback.playlist(f.camera, scope, "hls", "range");
  const expiry = (rendered: RenderedPlaylist) =>
    Number(new URL(parse(rendered).segments[0].uri).searchParams.get("exp"));

  f.clock.now = T0 + 86_400_000 + 60_000; // a minute past the hour
  const first = await playlist();
  assert.equal(expiry(first) * 1000 % HOUR, 0, "expiry rounded to the hour");
  f.clock.now += 30 * 60_000;
  assert.equal(await playlist(), first, "the same within the hour");
  f.clock.now += HOUR;
  const next = await playlist();
  assert.equal(expiry(next), expiry(first) + HOUR / 1000);
  assert.notEqual(next.etag, first.etag);
  assert.deepEqual(keysOf(next), keysOf(first));
});
