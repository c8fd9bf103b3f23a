/**
 * What every object store promises (lib/storage/types.ts), as one test body run against each
 * implementation: the embedded filesystem store and the S3 store on a real S3 server (versitygw).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  BodyTooLargeError,
  DigestMismatchError,
  FsObjectStore,
  IncompleteBodyError,
  type ObjectStore,
  type PutOptions,
} from "../../lib/storage/mod.ts";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { startS3 } from "../support/s3.ts";

/** An open store of one kind and how to dispose of it (and of what it runs on). */
type OpenStore = () => Promise<{ store: ObjectStore } & AsyncDisposable>;

const CONFIGURATIONS: Array<[string, OpenStore]> = [
  ["fs", async () => {
    const root = await Deno.makeTempDir({ prefix: "motorcade-store-" });
    const store = new FsObjectStore(root);
    return {
      store,
      async [Symbol.asyncDispose]() {
        await store.close();
        await Deno.remove(root, { recursive: true });
      },
    };
  }],
  ["s3", async () => {
    const s3 = await startS3();
    return { store: s3.store(), [Symbol.asyncDispose]: () => s3[Symbol.asyncDispose]() };
  }],
  // A folder of a shared bucket (`?prefix=`): keys are mapped in and listed back out.
  ["s3 (prefix)", async () => {
    const s3 = await startS3();
    const store = s3.store({ prefix: "shared/motorcade/" });
    const bystander = new TextEncoder().encode("not Motorcade's");
    await s3.client().send(
      new PutObjectCommand({ Bucket: s3.bucket, Key: "shared/other.txt", Body: bystander }),
    );
    return { store, [Symbol.asyncDispose]: () => s3[Symbol.asyncDispose]() };
  }],
];

const KEY = "fleets/f1/vehicles/v1/cameras/c1/r1/0000000001.m4s";
const keyOf = (n: number) => KEY.replace("0000000001", String(n).padStart(10, "0"));

/** Bytes that differ from chunk to chunk, so misplaced chunks would show. */
function bytesOf(length: number, seed = 1): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed * 7 + (i >> 10)) & 0xff;
  return bytes;
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("base64");

/** A byte stream (as request bodies are) of `bytes` in `chunk`-sized pieces, failing at `failAt`. */
function byteStream(
  bytes: Uint8Array,
  chunk = 65_536,
  failAt?: number,
): ReadableStream<Uint8Array> {
  let pulled = 0;
  return new ReadableStream({
    type: "bytes",
    pull(controller) {
      if (failAt !== undefined && pulled >= failAt) {
        controller.error(new Error("connection reset"));
        return;
      }
      if (pulled >= bytes.byteLength) {
        controller.close();
        controller.byobRequest?.respond(0);
        return;
      }
      const piece = bytes.slice(pulled, pulled + chunk);
      pulled += piece.byteLength;
      controller.enqueue(piece);
    },
  });
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

const options = (bytes: Uint8Array, extra: Partial<PutOptions> = {}): PutOptions => ({
  contentType: "video/iso.segment",
  sha256: sha256(bytes),
  maxBytes: 4_000_000,
  ...extra,
});

for (const [kind, open] of CONFIGURATIONS) {
  Deno.test(`${kind} store stores a body exactly (declared size, chunked, already read) and reads it back whole or by range`, async () => {
    await using opened = await open();
    const { store } = opened;
    const bytes = bytesOf(700_001);
    const cases: Array<[string, () => ReadableStream<Uint8Array>, Partial<PutOptions>]> = [
      ["size declared", () => byteStream(bytes), { size: bytes.byteLength }],
      ["chunked", () => byteStream(bytes, 10_000), {}],
      ["prefix read, size declared", () => byteStream(bytes.subarray(377)), {
        size: bytes.byteLength,
        prefix: bytes.slice(0, 377),
      }],
      ["whole body already read", () => ReadableStream.from([]), {
        size: bytes.byteLength,
        prefix: bytes,
      }],
    ];
    for (const [i, [label, stream, extra]] of cases.entries()) {
      const put = await store.putIfAbsent(keyOf(i), stream(), options(bytes, extra));
      assert.equal(put.created, true, label);
      assert.deepEqual(put.object, {
        key: keyOf(i),
        size: bytes.byteLength,
        contentType: "video/iso.segment",
        sha256: sha256(bytes),
        etag: put.object.etag,
      }, label);
      assert.deepEqual(await store.head(keyOf(i)), put.object, label);
      const read = await store.read(keyOf(i));
      assert.deepEqual(read?.object, put.object, label);
      assert.deepEqual(await readAll(read!.body), bytes, label);
      const range = await store.read(keyOf(i), { start: 65_530, end: 200_000 });
      assert.deepEqual(range?.object, put.object, `${label}: a range names the whole object`);
      assert.deepEqual(await readAll(range!.body), bytes.subarray(65_530, 200_001), label);
      const last = await store.read(keyOf(i), { start: 700_000, end: 700_000 });
      assert.deepEqual(await readAll(last!.body), bytes.subarray(700_000), label);
    }
    const empty = new Uint8Array(0);
    const put = await store.putIfAbsent(
      keyOf(9),
      ReadableStream.from([]),
      options(empty, {
        size: 0,
      }),
    );
    assert.equal(put.object.size, 0);
    assert.deepEqual(await readAll((await store.read(keyOf(9)))!.body), empty);
  });

  Deno.test(`${kind} store: the same bytes again find the object, other bytes find the first writer's`, async () => {
    await using opened = await open();
    const { store } = opened;
    const first = bytesOf(100_000, 1);
    const other = bytesOf(100_000, 2);
    const whole = (bytes: Uint8Array) => options(bytes, { size: bytes.byteLength, prefix: bytes });
    const a = await store.putIfAbsent(KEY, ReadableStream.from([]), whole(first));
    assert.equal(a.created, true);
    // The ingest route answers these 200 (a retry) and 409 (a conflict).
    const retry = await store.putIfAbsent(KEY, ReadableStream.from([]), whole(first));
    assert.deepEqual(retry, { created: false, object: a.object });
    const streamedRetry = await store.putIfAbsent(
      KEY,
      byteStream(first),
      options(first, {
        size: first.byteLength,
      }),
    );
    assert.deepEqual(streamedRetry, { created: false, object: a.object });
    const conflict = await store.putIfAbsent(KEY, ReadableStream.from([]), whole(other));
    assert.deepEqual(conflict, { created: false, object: a.object });
    assert.notEqual(conflict.object.sha256, sha256(other));
    assert.deepEqual(await readAll((await store.read(KEY))!.body), first);
  });

  Deno.test(`${kind} store: of 8 writers racing for a key one wins and all see its object`, async () => {
    await using opened = await open();
    const { store } = opened;
    const bodies = Array.from({ length: 8 }, (_, i) => bytesOf(150_000, i + 1));
    const racing = await Promise.all(
      bodies.map((bytes, i) =>
        i % 2
          ? store.putIfAbsent(KEY, byteStream(bytes, 7_000), options(bytes, { size: 150_000 }))
          : store.putIfAbsent(
            KEY,
            ReadableStream.from([]),
            options(bytes, {
              size: 150_000,
              prefix: bytes,
            }),
          )
      ),
    );
    assert.equal(racing.filter((r) => r.created).length, 1);
    const winner = racing.find((r) => r.created)!.object;
    assert.ok(racing.every((r) => r.object.sha256 === winner.sha256));
    assert.equal(sha256(await readAll((await store.read(KEY))!.body)), winner.sha256);
  });

  Deno.test(`${kind} store refuses a body whose digest is not the one claimed and keeps nothing`, async () => {
    await using opened = await open();
    const { store } = opened;
    const bytes = bytesOf(300_000);
    const whole = { size: bytes.byteLength, prefix: bytes };
    for (const extra of [{ size: bytes.byteLength }, {}, whole]) {
      const body = extra === whole ? ReadableStream.from([]) : byteStream(bytes);
      await assert.rejects(
        store.putIfAbsent(KEY, body, { ...options(bytes, extra), sha256: sha256(bytesOf(10)) }),
        (error: unknown) => error instanceof DigestMismatchError && error.actual === sha256(bytes),
      );
      assert.equal(await store.head(KEY), undefined);
    }
    assert.deepEqual(await Array.fromAsync(store.list("")), []);
  });

  Deno.test(`${kind} store refuses a body too large, failing or not of its declared size, and keeps nothing`, async () => {
    await using opened = await open();
    const { store } = opened;
    const bytes = bytesOf(500_000);
    await assert.rejects(
      store.putIfAbsent(KEY, byteStream(bytes), options(bytes, { size: 500_000, maxBytes: 1000 })),
      BodyTooLargeError,
    );
    await assert.rejects(
      store.putIfAbsent(KEY, byteStream(bytes, 10_000), options(bytes, { maxBytes: 100_000 })),
      (error: unknown) => error instanceof BodyTooLargeError && error.limit === 100_000,
    );
    const cases: Array<[string, ReadableStream<Uint8Array>, Partial<PutOptions>, number]> = [
      ["fails, declared", byteStream(bytes, 65_536, 200_000), { size: 500_000 }, 500_000],
      ["fails, chunked", byteStream(bytes, 65_536, 200_000), {}, -1],
      ["shorter than declared", byteStream(bytes), { size: 600_000 }, 600_000],
      ["longer than declared", byteStream(bytes), { size: 400_000 }, 400_000],
    ];
    for (const [label, stream, extra, expected] of cases) {
      await assert.rejects(
        store.putIfAbsent(KEY, stream, options(bytes, extra)),
        (error: unknown) =>
          error instanceof IncompleteBodyError &&
          (expected < 0 ? error.expected === undefined : error.expected === expected),
        label,
      );
      assert.equal(await store.head(KEY), undefined, label);
    }
    assert.deepEqual(await Array.fromAsync(store.list("")), []);
  });

  Deno.test(`${kind} store answers a missing object with undefined and lists and deletes objects`, async () => {
    await using opened = await open();
    const { store } = opened;
    assert.equal(await store.head(KEY), undefined);
    assert.equal(await store.read(KEY), undefined);
    assert.equal(await store.read(KEY, { start: 0, end: 9 }), undefined);
    await store.delete(KEY); // absent: fine
    await store.ping();

    const keys = [
      "fleets/f1/vehicles/v1/cameras/c1/r1/init.mp4",
      "fleets/f1/vehicles/v1/cameras/c1/r1/0000000001.m4s",
      "fleets/f1/vehicles/v1/cameras/c1/r2/0000000001.m4s",
      "fleets/f1/vehicles/v2/cameras/c9/r1/0000000001.m4s",
      "fleets/f2/vehicles/v3/cameras/c1/r1/0000000001.m4s",
    ];
    for (const [i, key] of keys.entries()) {
      const bytes = bytesOf(1000 + i, i);
      await store.putIfAbsent(
        key,
        ReadableStream.from([]),
        options(bytes, {
          size: bytes.byteLength,
          prefix: bytes,
        }),
      );
    }
    const list = async (prefix: string) => (await Array.fromAsync(store.list(prefix))).sort();
    assert.deepEqual(await list(""), [...keys].sort());
    assert.deepEqual(await list("fleets/f1/vehicles/v1"), keys.slice(0, 3).sort());
    assert.deepEqual(await list("fleets/f1/vehicles/v1/cameras/c1/r1"), keys.slice(0, 2).sort());
    assert.deepEqual(await list("fleets/f1/vehicles/v"), [], "a prefix is a whole folder");
    assert.deepEqual(await list("fleets/f9"), []);

    await store.delete(keys[0]);
    assert.equal(await store.head(keys[0]), undefined);
    await store.deleteMany([keys[1], keys[2], "fleets/f1/never/stored.m4s"]);
    assert.deepEqual(await list(""), keys.slice(3).sort());
    await store.deleteMany([]);
    // A deleted key can be written again (retention frees it; a vehicle may re-upload).
    const again = bytesOf(10, 42);
    const put = await store.putIfAbsent(
      keys[0],
      ReadableStream.from([]),
      options(again, {
        size: 10,
        prefix: again,
      }),
    );
    assert.equal(put.created, true);
  });
}
