/**
 * The server with its object store on S3 (`STORAGE_URL=s3://…`, a real versitygw): uploads land in
 * the bucket as plain media, play back through the server's /media route, and an S3 that is down
 * makes ingest answer 503 with Retry-After, the vehicle's cue to retry, with nothing lost.
 */
import assert from "node:assert/strict";
import { setUpVehicle, signedLinks } from "../support/fleet_api.ts";
import { contentDigest, makeCmaf } from "../support/media.ts";
import { startS3 } from "../support/s3.ts";
import { startServer } from "../support/server.ts";

Deno.test("a server on S3 stores uploads there as plain media and plays them through /media", async () => {
  const cmaf = await makeCmaf({ seconds: 6 });
  await using s3 = await startS3();
  await using server = await startServer(s3.env);
  const vehicle = await setUpVehicle(server.url);
  const token = await vehicle.tokens!.token();
  const base =
    `${server.url}/api/v1/ingest/vehicles/${vehicle.vehicleId}/cameras/front/recordings/r1`;
  const start = Date.now() - 60_000;
  const put = async (path: string, bytes: Uint8Array, headers: Record<string, string> = {}) => {
    const response = await fetch(`${base}/${path}`, {
      method: "PUT",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "video/iso.segment",
        "content-digest": await contentDigest(bytes),
        ...headers,
      },
      body: bytes as BodyInit,
    });
    return {
      status: response.status,
      retryAfter: response.headers.get("retry-after"),
      text: await response.text(),
    };
  };
  const segment = async (i: number, bytes = cmaf.segments[i].bytes) =>
    await put(`segments/${i}`, bytes, {
      "motorcade-segment-start": new Date(
        start + cmaf.segments.slice(0, i).reduce((ms, s) => ms + s.durationMs, 0),
      ).toISOString(),
      "motorcade-segment-duration": (cmaf.segments[i].durationMs / 1000).toFixed(3),
    });

  assert.equal((await put("init", cmaf.init)).status, 201);
  for (const i of cmaf.segments.keys()) {
    const stored = await segment(i);
    assert.equal(stored.status, 201, stored.text);
  }
  assert.equal((await segment(0)).status, 200, "a retry of the same bytes");
  assert.equal((await segment(0, cmaf.segments[1].bytes)).status, 409, "other bytes");

  // The bucket holds the media itself; the server's disk holds none of it.
  const store = s3.store();
  const keys = await Array.fromAsync(store.list(""));
  assert.equal(keys.length, 1 + cmaf.segments.length, keys.join("\n"));
  const initKey = keys.find((key) => key.endsWith("init.mp4"))!;
  const initRead = await store.read(initKey);
  assert.deepEqual(new Uint8Array(await new Response(initRead!.body).arrayBuffer()), cmaf.init);
  const local = await Array.fromAsync(Deno.readDir(`${server.dataDir}/objects`)).catch(() => []);
  assert.deepEqual(local, [], "nothing stored under DATA_DIR/objects");

  // Played through the server: the playlist lists every segment and ffmpeg reads it all.
  const to = new Date(start + cmaf.segments.reduce((ms, s) => ms + s.durationMs, 0));
  const links = await signedLinks(server.url, vehicle, "front", { from: new Date(start), to });
  let playlist = "";
  for (let attempt = 0; attempt < 100; attempt++) { // the indexer is asynchronous
    const response = await fetch(links.hls);
    assert.equal(response.status, 200);
    playlist = await response.text();
    if ((playlist.match(/#EXTINF/g) ?? []).length === cmaf.segments.length) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal((playlist.match(/#EXTINF/g) ?? []).length, cmaf.segments.length, playlist);
  const mediaUrl = new URL(
    playlist.split("\n").find((line) => line && !line.startsWith("#"))!,
    links.hls,
  );
  const media = await fetch(mediaUrl);
  assert.equal(media.status, 200);
  assert.equal(new URL(mediaUrl).origin, server.url, "delivery is through the server");
  await media.body?.cancel();
  const out = await Deno.makeTempFile({ suffix: ".mp4" });
  try {
    const copy = await new Deno.Command("ffmpeg", {
      args: ["-v", "error", "-y", "-i", links.hls, "-c", "copy", out],
      stderr: "piped",
    }).output();
    assert.ok(copy.success, new TextDecoder().decode(copy.stderr));
    const probe = await new Deno.Command("ffprobe", {
      args: ["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", out],
      stdout: "piped",
    }).output();
    const duration = Number(new TextDecoder().decode(probe.stdout));
    assert.ok(Math.abs(duration - 6) <= 0.5, `played ${duration} s of 6`);
  } finally {
    await Deno.remove(out);
  }

  // S3 down: the upload is refused with 503 and Retry-After; once it is back the retry lands.
  const more = cmaf.segments.length;
  const extra = async () =>
    await put(`segments/${more}`, cmaf.segments[0].bytes, {
      "motorcade-segment-start": to.toISOString(),
      "motorcade-segment-duration": "2.000",
    });
  await s3.kill();
  const refused = await extra();
  assert.equal(refused.status, 503, refused.text);
  assert.equal(refused.retryAfter, "5");
  assert.match(refused.text, /object store is unavailable/);
  await s3.restart();
  const retried = await extra();
  assert.equal(retried.status, 201, retried.text);
  assert.equal((await Array.fromAsync(store.list(""))).length, keys.length + 1);
  await Deno.remove(vehicle.stateDir, { recursive: true });
});
