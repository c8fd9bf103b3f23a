import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { playbackFixture, T0 } from "./fixture.ts";

const HOUR = 3_600_000;

Deno.test("the playlist route sends validators, CORS, and gzip to clients that take it", async () => {
  await using f = await playbackFixture();
  await f.init("a");
  await f.index("a", { count: 50, startMs: T0 });
  const { fleetId, vehicleId, cameraId } = f.camera;
  const camera = `/api/v1/fleets/${fleetId}/vehicles/${vehicleId}/cameras/${cameraId}`;
  const links = await f.platform.call("POST", `${camera}/links`, {
    token: f.ownerToken,
    json: { from: new Date(T0).toISOString(), to: new Date(T0 + HOUR).toISOString() },
  });
  assert.equal(links.status, 201);
  const link = new URL((await links.json()).hls);
  const get = (headers: Record<string, string> = {}) =>
    f.platform.call("GET", link.pathname + link.search, {
      headers: { origin: "https://player.example", ...headers },
    });

  const plain = await get({ "accept-encoding": "identity" });
  assert.equal(plain.status, 200);
  const text = await plain.text();
  assert.match(text, /^#EXTM3U\n/);
  assert.equal(text.match(/^#EXTINF:/gm)?.length, 50);
  const etag = plain.headers.get("etag")!;
  assert.match(etag, /^"[\w-]+"$/);
  assert.equal(plain.headers.get("content-type"), "application/vnd.apple.mpegurl");
  assert.equal(plain.headers.get("content-encoding"), null);
  assert.equal(plain.headers.get("content-length"), String(new TextEncoder().encode(text).length));
  assert.equal(plain.headers.get("cache-control"), "public, max-age=60");
  assert.equal(plain.headers.get("vary"), "Accept-Encoding");
  assert.equal(plain.headers.get("access-control-allow-origin"), "*");
  assert.match(plain.headers.get("access-control-expose-headers")!, /ETag/);
  assert.ok(plain.headers.get("x-request-id"));

  for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, "*"]) {
    const again = await get({ "accept-encoding": "identity", "if-none-match": ifNoneMatch });
    assert.equal(again.status, 304, ifNoneMatch);
    assert.equal(again.headers.get("etag"), etag);
    assert.equal(await again.text(), "");
  }
  const stale = await get({ "accept-encoding": "identity", "if-none-match": '"other"' });
  assert.equal(stale.status, 200);
  await stale.body?.cancel();

  const gzipped = await get({ "accept-encoding": "gzip, deflate, br" });
  assert.equal(gzipped.status, 200);
  assert.equal(gzipped.headers.get("content-encoding"), "gzip");
  assert.equal(gzipped.headers.get("vary"), "Accept-Encoding");
  const bytes = new Uint8Array(await gzipped.arrayBuffer());
  assert.equal(gzipped.headers.get("content-length"), String(bytes.byteLength));
  assert.equal(new TextDecoder().decode(gunzipSync(bytes)), text);
  const gzipEtag = gzipped.headers.get("etag")!;
  assert.notEqual(gzipEtag, etag, "another representation, another strong validator");
  assert.equal((await get({ "accept-encoding": "gzip", "if-none-match": gzipEtag })).status, 304);

  for (const refused of ["gzip;q=0", "br", "*;q=0"]) {
    const response = await get({ "accept-encoding": refused });
    assert.equal(response.headers.get("content-encoding"), null, refused);
    assert.equal(await response.text(), text);
  }
  const any = await get({ "accept-encoding": "*" });
  assert.equal(any.headers.get("content-encoding"), "gzip");
  await any.body?.cancel();
});
