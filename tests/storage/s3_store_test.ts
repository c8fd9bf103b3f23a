/**
 * What only the S3 store does, on a real S3 server (versitygw): objects stored as plain media a
 * presigned GET serves as they are, S3's own checksum check, and an S3 that goes away.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { UnavailableError } from "../../lib/errors/mod.ts";
import type { PutOptions } from "../../lib/storage/mod.ts";
import { makeCmaf } from "../support/media.ts";
import { startS3 } from "../support/s3.ts";

const KEY = "fleets/f1/vehicles/v1/cameras/c1/r1/0000000001.m4s";
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("base64");
const whole = (bytes: Uint8Array, contentType = "video/iso.segment"): PutOptions => ({
  contentType,
  sha256: sha256(bytes),
  maxBytes: 10_000_000,
  size: bytes.byteLength,
  prefix: bytes,
});

Deno.test("S3 store keeps segments as plain media: a presigned GET of them plays in ffprobe", async () => {
  const cmaf = await makeCmaf({ seconds: 2 });
  await using s3 = await startS3();
  const store = s3.store();
  const initKey = KEY.replace("0000000001.m4s", "init.mp4");
  await store.putIfAbsent(initKey, ReadableStream.from([]), whole(cmaf.init, "video/mp4"));
  const segment = cmaf.segments[0].bytes;
  await store.putIfAbsent(KEY, ReadableStream.from([]), whole(segment));

  // What the store knows is in the object's metadata, not in its bytes.
  const head = await s3.client().send(new HeadObjectCommand({ Bucket: s3.bucket, Key: KEY }));
  assert.equal(head.ContentLength, segment.byteLength);
  assert.equal(head.ContentType, "video/iso.segment");
  assert.equal(head.Metadata?.sha256, sha256(segment));

  const fetched: Uint8Array[] = [];
  for (const [key, bytes] of [[initKey, cmaf.init], [KEY, segment]] as const) {
    const url = await store.signedUrl(key, 60);
    const response = await fetch(url);
    assert.equal(response.status, 200, url);
    const body = new Uint8Array(await response.arrayBuffer());
    assert.deepEqual(body, bytes, `${key} is served byte for byte`);
    fetched.push(body);
  }
  const file = await Deno.makeTempFile({ suffix: ".mp4" });
  try {
    await Deno.writeFile(file, new Uint8Array([...fetched[0], ...fetched[1]]));
    const probe = await new Deno.Command("ffprobe", {
      args: ["-v", "error", "-count_frames", "-show_entries", "stream=codec_name,nb_read_frames"]
        .concat(["-of", "json", file]),
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(probe.success, new TextDecoder().decode(probe.stderr));
    const [stream] = JSON.parse(new TextDecoder().decode(probe.stdout)).streams;
    assert.equal(stream.codec_name, "h264");
    assert.ok(Number(stream.nb_read_frames) >= 25, `${stream.nb_read_frames} frames`);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("S3 refuses a body whose x-amz-checksum-sha256 is not its own (the store sends the writer's digest)", async () => {
  await using s3 = await startS3();
  const bytes = new TextEncoder().encode("a segment damaged on the way");
  await assert.rejects(
    s3.client().send(
      new PutObjectCommand({
        Bucket: s3.bucket,
        Key: KEY,
        Body: bytes,
        ChecksumSHA256: sha256(new TextEncoder().encode("the segment the vehicle sent")),
      }),
    ),
    (error: { $metadata?: { httpStatusCode?: number } }) => error.$metadata?.httpStatusCode === 400,
  );
  assert.equal(await s3.store().head(KEY), undefined);
});

Deno.test("S3 store answers UnavailableError with Retry-After when S3 stops mid-put, and keeps nothing partial", async () => {
  await using s3 = await startS3();
  const store = s3.store({ timeoutMs: 5_000, attempts: 2 });
  const bytes = new Uint8Array(2_000_000).map((_, i) => i * 7);
  let pulled = 0;
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  let sent!: () => void;
  const someSent = new Promise<void>((resolve) => sent = resolve);
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (pulled >= 4 * 65_536) {
        sent();
        await released; // the rest arrives only after S3 went away
      }
      if (pulled >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.slice(pulled, pulled + 65_536));
      pulled += 65_536;
    },
  });
  const put = store.putIfAbsent(KEY, body, {
    contentType: "video/iso.segment",
    sha256: sha256(bytes),
    maxBytes: 10_000_000,
    size: bytes.byteLength,
  });
  put.catch(() => {});
  await someSent;
  await s3.kill();
  release();
  await assert.rejects(
    put,
    (error: unknown) =>
      error instanceof UnavailableError && error.status === 503 && error.retryAfterSeconds === 5 &&
      /Cannot store ".*" now: the object store is unavailable/.test(error.message),
  );
  // While it is down: every operation says so the same way, and readiness fails.
  await assert.rejects(
    store.putIfAbsent(KEY, ReadableStream.from([]), whole(bytes)),
    UnavailableError,
  );
  await assert.rejects(store.head(KEY), UnavailableError);
  await assert.rejects(store.read(KEY), UnavailableError);
  await assert.rejects(store.ping(), /Bucket "motorcade-test" cannot be reached/);

  await s3.restart();
  await store.ping();
  assert.equal(await store.head(KEY), undefined, "the interrupted put left nothing visible");
  const retried = await store.putIfAbsent(KEY, ReadableStream.from([]), whole(bytes));
  assert.equal(retried.created, true);
  const read = await store.read(KEY);
  assert.equal(sha256(new Uint8Array(await new Response(read!.body).arrayBuffer())), sha256(bytes));
});
