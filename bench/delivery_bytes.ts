/**
 * Benchmark: bytes the server sends per playback minute in each MEDIA_DELIVERY mode (goal with
 * presigned/CDN URLs: the playlist only). One minute of 2 Mbit/s CMAF is uploaded to a server on a
 * real S3 server (versitygw); a player-like client then reads the HLS playlist with a viewer's
 * token and fetches every URI it lists (init and segments), wherever they point. The server sits
 * behind a counting TCP proxy, so what it sent is counted on the wire (headers included); uploads
 * go around the proxy. Modes: `server` (/media), `s3` (presigned GETs to versitygw), `cdn` (signed
 * CloudFront-style URLs; nginx stands in for the CDN, its origin the bucket's files).
 * Also timed: signing a day's 43,200 presigned URLs, here and with the SDK's presigner.
 *
 *   deno task bench:delivery [--seconds 60] [--bitrate 2000k]
 */
import { parseArgs } from "node:util";
import { generateKeyPairSync } from "node:crypto";
import { gzipSync } from "node:zlib";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { parseStorageUrl, type StorageTarget } from "../lib/config/mod.ts";
import { S3PresignedDelivery, signingHour } from "../lib/delivery/mod.ts";
import { setUpVehicle } from "../tests/support/fleet_api.ts";
import { makeCmaf } from "../tests/support/media.ts";
import { recordingUpload } from "../tests/support/recording_upload.ts";
import { startS3 } from "../tests/support/s3.ts";
import { startServerProcess } from "../tests/support/server.ts";
import { directPlaylist, playlistUrl, uris } from "../tests/delivery/delivery_support.ts";
import { startCountingProxy } from "./support/counting_proxy.ts";
import { freePort } from "./support/net.ts";
import { startNginx } from "./support/nginx.ts";
import { machineLine, num, row } from "./support/report.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "60" },
    bitrate: { type: "string", default: "2000k" },
  },
});
const machine = machineLine();
const SECONDS = Number(values.seconds);
const DAY_SEGMENTS = 43_200;

console.log(`bench:delivery: ${SECONDS} s of CMAF at ${values.bitrate}, 2 s segments`);
const cmaf = await makeCmaf({ seconds: SECONDS, size: "1280x720", bitrate: values.bitrate });
const mediaMs = cmaf.segments.reduce((ms, s) => ms + s.durationMs, 0);
const mediaBytes = cmaf.init.byteLength + cmaf.segments.reduce((n, s) => n + s.bytes.byteLength, 0);
const perMinute = (bytes: number) => bytes * 60_000 / mediaMs;

await using s3 = await startS3();
await using cdn = await startNginx({
  server: `location / { root ${s3.dir}/${s3.bucket}; }`,
  workers: "1",
});
const keyDir = await Deno.makeTempDir({ prefix: "motorcade-bench-cdn-" });
const { privateKey } = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  privateKeyEncoding: { type: "pkcs1", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
});
await Deno.writeTextFile(`${keyDir}/cdn.pem`, privateKey, { mode: 0o600 });
const modes: Record<string, Record<string, string>> = {
  server: { MEDIA_DELIVERY: "server" },
  s3: { MEDIA_DELIVERY: "s3" },
  cdn: {
    MEDIA_DELIVERY: "cdn",
    CDN_BASE_URL: cdn.url,
    CDN_KEY_PAIR_ID: "K2JCJMDEHXQW5F",
    CDN_PRIVATE_KEY_FILE: `${keyDir}/cdn.pem`,
  },
};

console.log(machine);
console.log(
  `media: ${num(mediaBytes / 1e6, 2, 0)} MB in ${num(mediaMs / 1000, 1, 0)} s ` +
    `(${num(perMinute(mediaBytes) / 1e6, 2, 0)} MB per playback minute), ` +
    `${cmaf.segments.length} segments`,
);
row(
  "mode",
  "server bytes/playback min",
  "  playlist",
  " per URI",
  "   fetched elsewhere",
  "day playlist (est.; gzip)",
);
try {
  for (const [mode, env] of Object.entries(modes)) {
    const port = freePort();
    await using proxy = startCountingProxy(port);
    await using _server = await startServerProcess({
      ...s3.env,
      ...env,
      PORT: String(port),
      PUBLIC_URL: proxy.url,
    });
    const direct = `http://127.0.0.1:${port}`;
    const vehicle = await setUpVehicle(direct);
    const upload = recordingUpload(direct, vehicle.vehicleId, await vehicle.tokens!.token(), cmaf);
    const stored = async (answer: Promise<{ status: number; text: string }>) => {
      const { status, text } = await answer;
      if (status !== 201) throw new Error(`upload: ${status} ${text}`);
    };
    await stored(upload.put("init", cmaf.init));
    for (const i of cmaf.segments.keys()) await stored(upload.segment(i));
    const range = { from: new Date(upload.start), to: new Date(upload.start + mediaMs) };
    // Indexed and rendered once (the cache is what a second viewer would get), then played.
    await directPlaylist(direct, vehicle, range, cmaf.segments.length);

    const before = proxy.served;
    const answer = await fetch(playlistUrl(proxy.url, vehicle, range), {
      headers: { authorization: `Bearer ${vehicle.ownerToken}` },
    });
    const text = await answer.text();
    const listed = uris(text);
    let elsewhere = 0;
    for (const uri of listed) {
      const response = await fetch(uri);
      const body = new Uint8Array(await response.arrayBuffer());
      if (response.status !== 200) throw new Error(`${mode}: GET ${uri}: ${response.status}`);
      if (!uri.startsWith(proxy.url)) elsewhere += body.byteLength;
    }
    const served = proxy.served - before;
    const uriBytes = listed.reduce((n, uri) => n + uri.length + 1, 0) / listed.length;
    const gzipped = gzipSync(text).byteLength / cmaf.segments.length;
    row(
      mode,
      `${num(perMinute(served) / 1e3, 1, 12)} kB (${
        num(served / perMinute(mediaBytes) * 100, 2, 6)
      }% of media)`,
      `${num(new TextEncoder().encode(text).byteLength / 1e3, 1, 6)} kB`,
      `${num(uriBytes, 0, 5)} B`,
      `${num(perMinute(elsewhere) / 1e6, 2, 8)} MB/min`,
      `~${num(uriBytes * DAY_SEGMENTS / 1e6, 1, 5)} MB; ~${
        num(gzipped * DAY_SEGMENTS / 1e6, 1, 4)
      } MB`,
    );
    await Deno.remove(vehicle.stateDir, { recursive: true });
  }

  // What signing a day's playlist costs: this synchronous SigV4 vs. the SDK's presigner.
  const delivery = new S3PresignedDelivery(
    parseStorageUrl(s3.storageUrl) as Extract<StorageTarget, { kind: "s3" }>,
    { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  );
  const credentials = { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
  const hour = signingHour(Date.now());
  const key = (i: number) => `fleets/f/vehicles/v/cameras/c/r/${String(i).padStart(10, "0")}.m4s`;
  let started = performance.now();
  const sign = delivery.signer(credentials, "us-east-1", hour, 7 * 3600);
  for (let i = 0; i < DAY_SEGMENTS; i++) sign(key(i));
  const ours = performance.now() - started;
  delivery.close();
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials,
  });
  const SDK_URLS = 2_000;
  started = performance.now();
  for (let i = 0; i < SDK_URLS; i++) {
    await getSignedUrl(client, new GetObjectCommand({ Bucket: s3.bucket, Key: key(i) }), {
      expiresIn: 7 * 3600,
      signingDate: new Date(hour),
    });
  }
  const sdk = (performance.now() - started) / SDK_URLS;
  client.destroy();
  row(
    "presign a day (43,200 URLs)",
    `${num(ours, 0, 6)} ms here`,
    `${num(sdk * DAY_SEGMENTS, 0, 6)} ms with getSignedUrl (${num(sdk * 1000, 0, 0)} µs a URL)`,
  );
} finally {
  await Deno.remove(keyDir, { recursive: true });
}
