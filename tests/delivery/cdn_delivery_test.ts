/**
 * MEDIA_DELIVERY=cdn end to end, without CloudFront (none runs here): the server on a real S3
 * server lists CDN URLs signed with one custom policy per camera; the signature is checked
 * independently with node:crypto and the public key, as CloudFront would; nginx stands in for
 * the CDN with the bucket's files as its origin, showing each URL path maps to the stored object;
 * ffmpeg plays the playlist through it with nothing fetched from the server but the playlist.
 */
import assert from "node:assert/strict";
import { createVerify, generateKeyPairSync } from "node:crypto";
import { startNginx } from "../../bench/support/nginx.ts";
import { setUpVehicle } from "../support/fleet_api.ts";
import { makeCmaf } from "../support/media.ts";
import { recordingUpload } from "../support/recording_upload.ts";
import { startS3 } from "../support/s3.ts";
import { startServerProcess } from "../support/server.ts";
import { directPlaylist, mediaRequests, playedSeconds, uris } from "./delivery_support.ts";

const HOUR = 3_600_000;

/** CloudFront's URL-safe base64 (`+`→`-`, `=`→`_`, `/`→`~`) decoded. */
const cloudFrontBase64 = (text: string) =>
  Uint8Array.from(
    atob(text.replaceAll("-", "+").replaceAll("_", "=").replaceAll("~", "/")),
    (c) => c.charCodeAt(0),
  );

Deno.test("a CDN-delivered playlist lists URLs under one verified policy per camera that play through the CDN", async () => {
  const cmaf = await makeCmaf({ seconds: 6 });
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  const keyDir = await Deno.makeTempDir({ prefix: "motorcade-cdn-key-" });
  try {
    await Deno.writeTextFile(`${keyDir}/cdn.pem`, privateKey, { mode: 0o600 });
    await using s3 = await startS3();
    // The CDN: its origin is the bucket (versitygw keeps object `key` at dir/bucket/key).
    await using cdn = await startNginx({
      server: `location / { root ${s3.dir}/${s3.bucket}; }`,
      workers: "1",
    });
    const env = {
      ...s3.env,
      MEDIA_DELIVERY: "cdn",
      CDN_BASE_URL: cdn.url,
      CDN_KEY_PAIR_ID: "K2JCJMDEHXQW5F",
      CDN_PRIVATE_KEY_FILE: `${keyDir}/cdn.pem`,
    };
    await using server = await startServerProcess(env);
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

    const askedAt = Date.now();
    const playlist = await directPlaylist(server.url, vehicle, range, cmaf.segments.length);
    assert.equal(playlist.again, playlist.text, "a refresh is the same playlist");
    const listed = uris(playlist.text).map((uri) => new URL(uri));
    assert.equal(listed.length, 1 + cmaf.segments.length, playlist.text);
    const camera =
      `${cdn.url}/fleets/${vehicle.fleetId}/vehicles/${vehicle.vehicleId}/cameras/${vehicle.cameras.front}/`;
    for (const url of listed) {
      assert.ok(url.href.startsWith(camera), `${url} is on the CDN, under the camera`);
      assert.equal(url.search, listed[0].search, "one query for the camera: one cache key a path");
    }

    // What CloudFront checks, checked here with the public key.
    const query = listed[0].searchParams;
    assert.equal(query.get("Key-Pair-Id"), "K2JCJMDEHXQW5F");
    const policyText = new TextDecoder().decode(cloudFrontBase64(query.get("Policy")!));
    const verifier = createVerify("RSA-SHA1");
    verifier.update(policyText);
    assert.ok(verifier.verify(publicKey, cloudFrontBase64(query.get("Signature")!)));
    const [statement] = JSON.parse(policyText).Statement;
    assert.equal(statement.Resource, `${camera}*`);
    const expires = statement.Condition.DateLessThan["AWS:EpochTime"] * 1000;
    assert.equal(expires % HOUR, 0, "expiry on the hour");
    assert.ok(expires >= askedAt + 6 * HOUR && expires <= askedAt + 7 * HOUR + 60_000);

    // Each path is the stored object's key at the origin, and plays from there alone.
    const init = await fetch(listed[0]);
    assert.deepEqual(new Uint8Array(await init.arrayBuffer()), cmaf.init);
    const before = await mediaRequests(server.url);
    assert.ok(Math.abs(await playedSeconds(playlist.text) - 6) <= 0.5);
    assert.equal(await mediaRequests(server.url), before, "no segment came from the server");
    assert.ok(!server.logs.join("\n").includes("PRIVATE KEY"), "the key is never logged");

    // A key that cannot be read stops the start, naming the variable.
    const missing = await startServerProcess({ ...env, CDN_PRIVATE_KEY_FILE: `${keyDir}/none.pem` })
      .then(async (started) => {
        await started.stop();
        return "";
      }, (error: Error) => error.message);
    assert.match(missing, /exited with 2[^]*CDN_PRIVATE_KEY_FILE cannot be read/);
    await Deno.remove(vehicle.stateDir, { recursive: true });
  } finally {
    await Deno.remove(keyDir, { recursive: true });
  }
});
