import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { PlaylistCache, RenderedPlaylist } from "../../lib/playback/mod.ts";
import { playlistEtag, utf8Text } from "../../lib/playback/rendered_playlist.ts";

const encoder = new TextEncoder();

function playlistOf(text: string, etag = '"e"'): RenderedPlaylist {
  return new RenderedPlaylist(encoder.encode(text), etag, "application/vnd.apple.mpegurl", true);
}

async function bytesOf(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

Deno.test("a writer's chunks become the UTF-8 of their text, whatever the characters", () => {
  for (
    const chunks of [
      [],
      ["#EXTM3U\n", "#EXT-X-VERSION:6\n"],
      ["ascii then ", "é, € and 🚌 ", "x".repeat(70_000), "🚌".repeat(3)],
      ["🚌"],
    ]
  ) {
    const bytes = utf8Text((write) => chunks.forEach(write));
    assert.deepEqual(bytes, encoder.encode(chunks.join("")));
  }
});

Deno.test("a rendered playlist streams its bytes, plain or gzip'd, as often as asked", async () => {
  const text = "#EXTINF:2.000,\nhttps://cdn.example.com/0000000001.m4s?exp=1&sig=x\n".repeat(
    20_000,
  );
  const playlist = playlistOf(text);
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(await bytesOf(playlist.stream()), encoder.encode(text));
    assert.equal(new TextDecoder().decode(gunzipSync(await bytesOf(playlist.stream(true)))), text);
  }
  assert.ok(playlist.gzipped.byteLength < playlist.body.byteLength / 20);
  assert.equal(playlist.gzipEtag, '"e-gz"');
  assert.deepEqual(await bytesOf(playlistOf("").stream()), new Uint8Array());
});

Deno.test("a playlist's ETag changes with its body and with what it was made of", () => {
  const body = encoder.encode("#EXTM3U\n#EXTINF:2.000,\na\n");
  const other = encoder.encode("#EXTM3U\n#EXTINF:2.000,\nb\n");
  const etag = playlistEtag("source", body);
  assert.match(etag, /^"[\w-]{32}"$/);
  assert.equal(playlistEtag("source", body), etag);
  assert.notEqual(playlistEtag("source", other), etag);
  assert.notEqual(playlistEtag("another source", body), etag);
});

Deno.test("a cached playlist is stale once its camera changes, until its source is confirmed", () => {
  const cache = new PlaylistCache();
  const playlist = playlistOf("#EXTM3U\n");
  const version = cache.version("cam");
  cache.set("k", "cam", version, "source 1", playlist);
  assert.equal(cache.get("k", "cam"), playlist);
  assert.equal(cache.get("k", "other camera"), undefined);

  cache.invalidate("cam");
  assert.equal(cache.get("k", "cam"), undefined);
  assert.equal(cache.revalidate("k", "cam", cache.version("cam"), "source 2"), undefined);
  assert.equal(cache.get("k", "cam"), undefined);
  assert.equal(cache.revalidate("k", "cam", cache.version("cam"), "source 1"), playlist);
  assert.equal(cache.get("k", "cam"), playlist);

  // The camera changed while the playlist was being rendered: it is stale as soon as it is kept.
  const before = cache.version("cam");
  cache.invalidate("cam");
  cache.set("k", "cam", before, "source 3", playlist);
  assert.equal(cache.get("k", "cam"), undefined);
  assert.equal(cache.revalidate("k", "cam", cache.version("cam"), "source 3"), playlist);
});

Deno.test("the playlist cache holds at most its size, dropping the least recently used", () => {
  const cache = new PlaylistCache(4_000);
  const playlist = () => playlistOf("x".repeat(900));
  for (const key of ["a", "b", "c", "d"]) cache.set(key, "cam", 0, "s", playlist());
  assert.ok(cache.get("a", "cam"));
  cache.set("e", "cam", 0, "s", playlist());
  assert.ok(cache.get("a", "cam"), "used last, kept");
  assert.equal(cache.get("b", "cam"), undefined, "least recently used, dropped");
  cache.set("big", "cam", 0, "s", playlistOf("x".repeat(1_001)));
  assert.equal(cache.get("big", "cam"), undefined, "over a quarter of the cache: not kept");
});
