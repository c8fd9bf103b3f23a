/**
 * MEDIA_DELIVERY=s3 end to end: the server on a real S3 server (versitygw) lists presigned GETs
 * in its HLS playlists, ffmpeg plays them straight from S3 with nothing fetched from the server
 * but the playlist, S3 refuses URLs that were tampered with or have expired, and the playlist is
 * byte-identical between refreshes within the hour. One server process on its own S3 server, in
 * either test configuration.
 */
import assert from "node:assert/strict";
import { parseStorageUrl, type StorageTarget } from "../../lib/config/mod.ts";
import { S3PresignedDelivery, signingHour } from "../../lib/delivery/mod.ts";
import { setUpVehicle, signedLinks } from "../support/fleet_api.ts";
import { makeCmaf } from "../support/media.ts";
import { recordingUpload } from "../support/recording_upload.ts";
import { startS3 } from "../support/s3.ts";
import { startServerProcess } from "../support/server.ts";
import {
  directPlaylist,
  mediaRequests,
  playedSeconds,
  playlistUrl,
  uris,
} from "./delivery_support.ts";

const HOUR = 3_600_000;

Deno.test("an S3-delivered playlist lists presigned GETs that a player plays from S3 alone", async () => {
  const cmaf = await makeCmaf({ seconds: 6 });
  await using s3 = await startS3();
  await using server = await startServerProcess({ ...s3.env, MEDIA_DELIVERY: "s3" });
  const vehicle = await setUpVehicle(server.url);
  const upload = recordingUpload(
    server.url,
    vehicle.vehicleId,
    await vehicle.tokens!.token(),
    cmaf,
  );
  assert.equal((await upload.put("init", cmaf.init)).status, 201);
  for (const i of cmaf.segments.keys()) assert.equal((await upload.segment(i)).status, 201);
  const range = {
    from: new Date(upload.start),
    to: new Date(upload.start + cmaf.segments.reduce((ms, s) => ms + s.durationMs, 0)),
  };

  const playlist = await directPlaylist(server.url, vehicle, range, cmaf.segments.length);
  const listed = uris(playlist.text);
  assert.equal(listed.length, 1 + cmaf.segments.length, playlist.text);
  const bucketUrl = `${s3.endpoint}/${s3.bucket}/fleets/${vehicle.fleetId}/vehicles/`;
  for (const uri of listed) {
    assert.ok(uri.startsWith(bucketUrl), `${uri} is a URL of the bucket`);
    assert.match(uri, /\?X-Amz-Algorithm=AWS4-HMAC-SHA256&.*&X-Amz-Signature=[0-9a-f]{64}&/);
  }
  // Signed at the hour, so a refresh within it is byte-identical (and so is its ETag).
  assert.equal(playlist.again, playlist.text, "a refresh within the hour is the same playlist");
  assert.equal(playlist.etags[0], playlist.etags[1]);

  // A player nobody here wrote plays it, and the server sends it nothing but the playlist.
  const before = await mediaRequests(server.url);
  assert.ok(Math.abs(await playedSeconds(playlist.text) - 6) <= 0.5);
  assert.equal(await mediaRequests(server.url), before, "no segment came from the server");

  // S3 refuses a URL whose signature, or whose object, is not the signed one.
  const segment = listed[1];
  const ok = await fetch(segment);
  assert.equal(ok.status, 200);
  assert.deepEqual(new Uint8Array(await ok.arrayBuffer()), cmaf.segments[0].bytes);
  const signature = /X-Amz-Signature=([0-9a-f]{64})/.exec(segment)![1];
  const flipped = signature.slice(0, -1) + (signature.endsWith("0") ? "1" : "0");
  for (
    const tampered of [
      segment.replace(signature, flipped),
      segment.replace("0000000000.m4s", "0000000001.m4s"),
      segment.replace(/X-Amz-Expires=\d+/, "X-Amz-Expires=604800"),
      segment.split("?")[0],
    ]
  ) {
    const refused = await fetch(tampered);
    await refused.body?.cancel();
    assert.equal(refused.status, 403, `S3 refuses ${tampered}`);
  }

  // A URL signed three hours ago for two hours has expired: S3 refuses it; one signed an hour
  // ago for two hours still plays.
  const delivery = new S3PresignedDelivery(
    parseStorageUrl(s3.storageUrl) as Extract<StorageTarget, { kind: "s3" }>,
    { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  );
  try {
    const key = new URL(segment).pathname.slice(`/${s3.bucket}/`.length);
    const hour = signingHour(Date.now());
    const sign = (signedAt: number) =>
      delivery.signer(
        { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
        "us-east-1",
        signedAt,
        2 * 3600,
      )(key);
    const expired = await fetch(sign(hour - 3 * HOUR));
    await expired.body?.cancel();
    assert.equal(expired.status, 403, "an expired presigned URL is refused");
    const valid = await fetch(sign(hour - HOUR));
    await valid.body?.cancel();
    assert.equal(valid.status, 200, "the same URL within its lifetime is served");
  } finally {
    delivery.close();
  }

  // Links keep the media route (revocable, narrowed to their recordings); DASH keeps it too.
  const links = await signedLinks(server.url, vehicle, "front", range);
  for (const link of [links.hls, links.dash]) {
    const text = await (await fetch(link)).text();
    assert.ok(text.includes(`${server.url}/media/fleets/`), text);
    assert.ok(!text.includes(s3.endpoint), text);
  }
  // (The counter above does count media requests: one through a link's playlist shows.)
  const viaServer = uris(await (await fetch(links.hls)).text())[1];
  await (await fetch(viaServer)).body?.cancel();
  assert.equal(await mediaRequests(server.url), before + 1);
  await Deno.remove(vehicle.stateDir, { recursive: true });
});

Deno.test("an S3-delivered range across two recordings and a hole takes only slate from the server", async () => {
  const cmaf = await makeCmaf({ seconds: 4 });
  await using s3 = await startS3();
  await using server = await startServerProcess({ ...s3.env, MEDIA_DELIVERY: "s3" });
  const vehicle = await setUpVehicle(server.url);
  const token = await vehicle.tokens!.token();
  const first = recordingUpload(server.url, vehicle.vehicleId, token, cmaf);
  const second = recordingUpload(server.url, vehicle.vehicleId, token, cmaf, { recording: "r2" });
  const lengthMs = cmaf.segments.reduce((ms, s) => ms + s.durationMs, 0);
  const holeMs = 6_000;
  for (
    const [upload, startMs] of [[first, first.start], [
      second,
      first.start + lengthMs + holeMs,
    ]] as const
  ) {
    assert.equal((await upload.put("init", cmaf.init)).status, 201);
    let at = startMs;
    for (const [i, { bytes, durationMs }] of cmaf.segments.entries()) {
      const stored = await upload.put(`segments/${i}`, bytes, {
        "motorcade-segment-start": new Date(at).toISOString(),
        "motorcade-segment-duration": (durationMs / 1000).toFixed(3),
      });
      assert.equal(stored.status, 201, stored.text);
      at += durationMs;
    }
  }
  const range = { from: new Date(first.start), to: new Date(first.start + 2 * lengthMs + holeMs) };
  const last = `/r2/${String(cmaf.segments.length - 1).padStart(10, "0")}.m4s?`;
  let text = "";
  for (let attempt = 0; attempt < 100 && !text.includes(last); attempt++) {
    if (attempt) await new Promise((resolve) => setTimeout(resolve, 100));
    text = await (await fetch(playlistUrl(server.url, vehicle, range), {
      headers: { authorization: `Bearer ${vehicle.ownerToken}` },
    })).text();
  }
  assert.ok(text.includes(last), text);
  // No stretch: nothing rewrites decode times, so the recordings are apart, and no URI has `t`.
  assert.ok(text.includes("#EXT-X-DISCONTINUITY"), text);
  assert.ok(!/[?&]t=/.test(text), text);
  const listed = uris(text);
  const fromS3 = listed.filter((uri) => uri.startsWith(`${s3.endpoint}/${s3.bucket}/`));
  const fromServer = listed.filter((uri) => uri.startsWith(`${server.url}/media/`));
  assert.equal(fromS3.length, 2 * (1 + cmaf.segments.length), text);
  assert.deepEqual([...fromS3, ...fromServer].sort(), [...listed].sort(), text);
  for (const uri of fromServer) assert.match(uri, /\/gap\//, "only slate comes from the server");
  // Every URI a player loads answers (EXT-X-GAP entries, which players skip, are not loaded).
  const before = await mediaRequests(server.url);
  const loaded = listed.filter((uri) => !text.includes(`#EXT-X-GAP\n${uri}`));
  for (const uri of loaded) {
    const response = await fetch(uri);
    await response.body?.cancel();
    assert.equal(response.status, 200, uri);
  }
  assert.equal(
    await mediaRequests(server.url) - before,
    loaded.filter((uri) => uri.startsWith(server.url)).length,
  );
  await Deno.remove(vehicle.stateDir, { recursive: true });
});
