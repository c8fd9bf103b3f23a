/**
 * The signers of MEDIA_DELIVERY, checked against independent references: S3 presigned URLs
 * against the AWS SDK's own presigner (byte for byte), CDN signed URLs against the public key with
 * node:crypto; and the configuration that names them.
 */
import assert from "node:assert/strict";
import { createVerify, generateKeyPairSync } from "node:crypto";
import { S3RequestPresigner } from "@aws-sdk/s3-request-presigner";
import { S3Client } from "@aws-sdk/client-s3";
import { parseConfig, parseStorageUrl, type StorageTarget } from "../../lib/config/mod.ts";
import {
  CdnSignedDelivery,
  openMediaDelivery,
  S3PresignedDelivery,
  signingHour,
} from "../../lib/delivery/mod.ts";

const HOUR = 3_600_000;
const CREDENTIALS = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCY",
};
const s3Target = (url: string) => parseStorageUrl(url) as Extract<StorageTarget, { kind: "s3" }>;

/** The SDK's presigned GET of `url` (path already encoded), as of `signedAt`, for `expires` s. */
async function sdkPresigned(
  url: string,
  region: string,
  signedAt: number,
  expires: number,
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
): Promise<string> {
  const parsed = new URL(url);
  const client = new S3Client({ region, credentials });
  try {
    const presigner = new S3RequestPresigner({ ...client.config });
    const signed = await presigner.presign({
      protocol: parsed.protocol,
      hostname: parsed.hostname,
      port: parsed.port ? Number(parsed.port) : undefined,
      method: "GET",
      path: parsed.pathname,
      query: {},
      headers: { host: parsed.host },
    }, { signingDate: new Date(signedAt), expiresIn: expires });
    // Sorted by name, as the SDK's getSignedUrl writes a URL.
    const query = Object.entries(signed.query ?? {}).sort(([a], [b]) => a < b ? -1 : 1).map((
      [name, value],
    ) => `${name}=${encodeURIComponent(value as string)}`).join("&");
    return `${parsed.protocol}//${parsed.host}${signed.path}?${query}`;
  } finally {
    client.destroy();
  }
}

Deno.test("S3 presigned segment URLs are the AWS SDK presigner's, byte for byte", async () => {
  const key = "fleets/f1/vehicles/v1/cameras/front/r1/0000000042.m4s";
  const signedAt = Date.UTC(2026, 11, 7, 6, 0, 0);
  const cases = [
    {
      url: "s3://videos?endpoint=http://127.0.0.1:7070&forcePathStyle=1",
      region: "us-east-1",
      object: `http://127.0.0.1:7070/videos/${key}`,
    },
    {
      url: "s3://videos?region=eu-west-1&prefix=motorcade/",
      region: "eu-west-1",
      object: `https://videos.s3.eu-west-1.amazonaws.com/motorcade/${key}`,
    },
  ];
  for (const { url, region, object } of cases) {
    for (
      const credentials of [CREDENTIALS, { ...CREDENTIALS, sessionToken: "IQoJb3Jp+Z2luX2VjE/=" }]
    ) {
      const delivery = new S3PresignedDelivery(s3Target(url), credentials);
      const ours = delivery.signer(credentials, region, signedAt, 7 * 3600)(key);
      assert.equal(ours, await sdkPresigned(object, region, signedAt, 7 * 3600, credentials));
      delivery.close();
    }
  }
});

Deno.test("S3 presigned segment URLs stay identical within the hour and change at the next", async () => {
  const delivery = new S3PresignedDelivery(
    s3Target("s3://videos?endpoint=http://127.0.0.1:7070&forcePathStyle=1"),
    CREDENTIALS,
  );
  try {
    const hour = Date.UTC(2026, 11, 7, 6, 0, 0);
    const expiresAt = hour + 7 * HOUR;
    const key = "fleets/f/vehicles/v/cameras/c/r/0000000001.m4s";
    const at = async (now: number) => (await delivery.camera("", expiresAt, now)).object(key);
    assert.equal(await at(hour + 60_000), await at(hour + 59 * 60_000));
    assert.notEqual(await at(hour + 59 * 60_000), await at(hour + 61 * 60_000));
    assert.equal(delivery.epoch(hour + 1), delivery.epoch(hour + HOUR - 1));
    assert.notEqual(delivery.epoch(hour), delivery.epoch(hour + HOUR));
    assert.match(await at(hour + 30 * 60_000), /X-Amz-Date=20261207T060000Z&X-Amz-Expires=25200&/);
    assert.equal(signingHour(hour + 59 * 60_000), hour);
    await assert.rejects(() => delivery.camera("", hour + 8 * 24 * HOUR, hour), /S3 allows/);
  } finally {
    delivery.close();
  }
});

/** CloudFront's URL-safe base64 (`+`→`-`, `=`→`_`, `/`→`~`) decoded. */
const cloudFrontBase64 = (text: string) =>
  Uint8Array.from(
    atob(text.replaceAll("-", "+").replaceAll("_", "=").replaceAll("~", "/")),
    (c) => c.charCodeAt(0),
  );

Deno.test("CDN segment URLs carry one custom policy per camera that the public key verifies", async () => {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  const delivery = new CdnSignedDelivery({
    baseUrl: "https://d111111abcdef8.cloudfront.net",
    keyPairId: "K2JCJMDEHXQW5F",
    privateKey,
    keyPrefix: "motorcade/",
  });
  const camera = "fleets/f1/vehicles/v1/cameras/front/";
  const expiresAt = Date.UTC(2026, 11, 7, 13, 0, 0);
  const media = await delivery.camera(camera, expiresAt, Date.UTC(2026, 11, 7, 6, 30));
  const init = new URL(media.object(`${camera}r1/init.mp4`));
  const segment = new URL(media.template!("r1", "0000000042", "m4s"));
  assert.equal(
    segment.origin + segment.pathname,
    "https://d111111abcdef8.cloudfront.net/motorcade/fleets/f1/vehicles/v1/cameras/front/r1/0000000042.m4s",
  );
  // One query for every URL of the camera (the CDN's cache key leaves it out), and again later.
  assert.equal(init.search, segment.search);
  const again = await delivery.camera(camera, expiresAt, Date.UTC(2026, 11, 7, 6, 59));
  assert.equal(again.object(`${camera}r1/init.mp4`), init.href);

  const policyText = new TextDecoder().decode(
    cloudFrontBase64(segment.searchParams.get("Policy")!),
  );
  const verifier = createVerify("RSA-SHA1");
  verifier.update(policyText);
  assert.ok(
    verifier.verify(publicKey, cloudFrontBase64(segment.searchParams.get("Signature")!)),
    "the public key verifies the policy's signature",
  );
  assert.equal(segment.searchParams.get("Key-Pair-Id"), "K2JCJMDEHXQW5F");
  const policy = JSON.parse(policyText);
  assert.deepEqual(policy, {
    Statement: [{
      Resource:
        "https://d111111abcdef8.cloudfront.net/motorcade/fleets/f1/vehicles/v1/cameras/front/*",
      Condition: { DateLessThan: { "AWS:EpochTime": expiresAt / 1000 } },
    }],
  });
  // The wildcard covers this camera's objects only.
  const covers = (url: string) =>
    new RegExp(
      `^${policy.Statement[0].Resource.replace(/[.?+^$()|[\]\\/]/g, "\\$&").replace("*", ".*")}$`,
    )
      .test(url);
  assert.ok(covers(segment.origin + segment.pathname + segment.search));
  assert.ok(
    !covers(
      "https://d111111abcdef8.cloudfront.net/motorcade/fleets/f1/vehicles/v1/cameras/rear/r1/init.mp4",
    ),
  );
  // A tampered policy no longer verifies.
  const tampered = createVerify("RSA-SHA1");
  tampered.update(policyText.replace("front", "rear"));
  assert.ok(!tampered.verify(publicKey, cloudFrontBase64(segment.searchParams.get("Signature")!)));
});

Deno.test("MEDIA_DELIVERY refuses to start without what its mode needs, naming the variable", () => {
  const problems = (env: Record<string, string>) => {
    try {
      parseConfig(env);
      return "";
    } catch (error) {
      return (error as Error).message;
    }
  };
  assert.match(
    problems({ MEDIA_DELIVERY: "s3" }),
    /MEDIA_DELIVERY is "s3", which needs the object store on S3 \(STORAGE_URL=s3:\/\/…\)/,
  );
  assert.match(
    problems({ MEDIA_DELIVERY: "cdn", CDN_BASE_URL: "https://cdn.example" }),
    /MEDIA_DELIVERY is "cdn", which needs CDN_KEY_PAIR_ID, CDN_PRIVATE_KEY_FILE/,
  );
  assert.match(
    problems({ MEDIA_DELIVERY: "cloudfront" }),
    /MEDIA_DELIVERY must be one of server, s3, cdn, got "cloudfront"/,
  );
  assert.match(
    problems({ MEDIA_DELIVERY: "s3", STORAGE_URL: "s3://videos", MEDIA_URL_TTL: "7d" }),
    /MEDIA_URL_TTL must be at most 166h with MEDIA_DELIVERY "s3"/,
  );
  assert.match(
    problems({
      MEDIA_DELIVERY: "cdn",
      CDN_BASE_URL: "cdn.example",
      CDN_KEY_PAIR_ID: "K1",
      CDN_PRIVATE_KEY_FILE: "/k.pem",
    }),
    /CDN_BASE_URL must be an http\(s\) URL with no query, got "cdn.example"/,
  );
  const config = parseConfig({
    MEDIA_DELIVERY: "cdn",
    CDN_BASE_URL: "https://cdn.example/",
    CDN_KEY_PAIR_ID: "K2JCJMDEHXQW5F",
    CDN_PRIVATE_KEY_FILE: "/etc/motorcade/cdn.pem",
    STORAGE_URL: "s3://videos?prefix=motorcade/",
  });
  assert.deepEqual(config.mediaDelivery, {
    kind: "cdn",
    baseUrl: "https://cdn.example",
    keyPairId: "K2JCJMDEHXQW5F",
    privateKeyFile: "/etc/motorcade/cdn.pem",
    keyPrefix: "motorcade/",
  });
  assert.deepEqual(parseConfig({}).mediaDelivery, { kind: "server" });
});

Deno.test("a CDN private key that cannot be read or is not RSA stops the start, never shown", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const target = {
      kind: "cdn" as const,
      baseUrl: "https://cdn.example",
      keyPairId: "K1",
      privateKeyFile: `${dir}/missing.pem`,
      keyPrefix: "",
    };
    await assert.rejects(
      () => openMediaDelivery(target),
      /CDN_PRIVATE_KEY_FILE cannot be read \(".*missing.pem"\): NotFound/,
    );
    const { privateKey } = generateKeyPairSync("ec", {
      namedCurve: "P-256",
      privateKeyEncoding: { type: "pkcs8", format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    });
    await Deno.writeTextFile(`${dir}/ec.pem`, privateKey);
    const error = await openMediaDelivery({ ...target, privateKeyFile: `${dir}/ec.pem` }).then(
      () => undefined,
      (error: Error) => error,
    );
    assert.match(
      String(error?.message),
      /CDN_PRIVATE_KEY_FILE ".*ec.pem" is not a PEM RSA private key/,
    );
    assert.ok(!String(error?.message).includes("PRIVATE KEY"), "the key is never in the message");
    assert.equal(await openMediaDelivery({ kind: "server" }), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
