import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  BodyTooLargeError,
  DigestMismatchError,
  FsObjectStore,
  IncompleteBodyError,
  type PutOptions,
} from "../../lib/storage/mod.ts";

const KEY = "fleets/f1/vehicles/v1/cameras/c1/r1/0000000001.m4s";

/** Bytes that differ from chunk to chunk, so misplaced chunks would show. */
function bytesOf(length: number, seed = 1): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed * 7 + (i >> 10)) & 0xff;
  return bytes;
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("base64");

/** A byte stream (as request bodies are) of `bytes` in `chunk`-sized pieces, counting reads. */
function byteStream(bytes: Uint8Array, chunk = 65_536, failAt?: number) {
  const counter = { pulled: 0, cancelled: false };
  const stream = new ReadableStream({
    type: "bytes",
    pull(controller) {
      if (failAt !== undefined && counter.pulled >= failAt) {
        controller.error(new Error("connection reset"));
        return;
      }
      if (counter.pulled >= bytes.byteLength) {
        controller.close();
        controller.byobRequest?.respond(0);
        return;
      }
      const piece = bytes.slice(counter.pulled, counter.pulled + chunk);
      counter.pulled += piece.byteLength;
      controller.enqueue(piece);
    },
    cancel() {
      counter.cancelled = true;
    },
  });
  return { stream, counter };
}

/** A plain (not byte) stream of `bytes` in `chunk`-sized pieces. */
function plainStream(bytes: Uint8Array, chunk = 65_536): ReadableStream<Uint8Array> {
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < bytes.byteLength; at += chunk) pieces.push(bytes.slice(at, at + chunk));
  return ReadableStream.from(pieces);
}

async function withStore(test: (store: FsObjectStore, root: string) => Promise<void>) {
  const root = await Deno.makeTempDir({ prefix: "motorcade-store-" });
  const store = new FsObjectStore(root);
  try {
    await test(store, root);
  } finally {
    await store.close();
    await Deno.remove(root, { recursive: true });
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isDirectory) out.push(...await filesUnder(`${dir}/${entry.name}`));
    else out.push(`${dir}/${entry.name}`);
  }
  return out.sort();
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

Deno.test("fs store stores a body exactly, whether its size is declared or not, and from any stream", async () => {
  await withStore(async (store, root) => {
    const bytes = bytesOf(700_001);
    const cases: Array<[string, () => ReadableStream<Uint8Array>, Partial<PutOptions>]> = [
      ["byte stream, size declared", () => byteStream(bytes).stream, { size: bytes.byteLength }],
      ["byte stream, chunked", () => byteStream(bytes, 10_000).stream, {}],
      ["plain stream, size declared", () => plainStream(bytes, 3_000), { size: bytes.byteLength }],
      ["plain stream, chunked", () => plainStream(bytes), {}],
      [
        "prefix already read",
        () => byteStream(bytes.subarray(377)).stream,
        { size: bytes.byteLength, prefix: bytes.slice(0, 377) },
      ],
      [
        "prefix already read, chunked",
        () => byteStream(bytes.subarray(377)).stream,
        { prefix: bytes.slice(0, 377) },
      ],
      ["the whole body already read", () => ReadableStream.from([]), {
        size: 700_001,
        prefix: bytes,
      }],
    ];
    for (const [i, [label, stream, extra]] of cases.entries()) {
      const key = KEY.replace("0000000001", String(i).padStart(10, "0"));
      const put = await store.putIfAbsent(key, stream(), options(bytes, extra));
      assert.equal(put.created, true, label);
      assert.equal(put.object.size, bytes.byteLength, label);
      assert.equal(put.object.sha256, sha256(bytes), label);
      assert.deepEqual(await store.head(key), put.object, label);
      const read = await store.read(key);
      assert.ok(read, label);
      assert.deepEqual(await readAll(read.body), bytes, label);
      const range = await store.read(key, { start: 65_530, end: 200_000 });
      assert.deepEqual(await readAll(range!.body), bytes.subarray(65_530, 200_001), label);
    }
    assert.deepEqual(await filesUnder(`${root}/.tmp`), [], "no temporary file is left");
  });
});

Deno.test("fs store: the first writer wins, a retry sees the object, and racing writers agree", async () => {
  await withStore(async (store) => {
    const first = bytesOf(100_000, 1);
    const other = bytesOf(100_000, 2);
    const a = await store.putIfAbsent(KEY, byteStream(first).stream, options(first));
    assert.equal(a.created, true);
    const retry = await store.putIfAbsent(KEY, byteStream(first).stream, options(first));
    assert.deepEqual(retry, { created: false, object: a.object });
    const conflict = await store.putIfAbsent(KEY, byteStream(other).stream, options(other));
    assert.deepEqual(conflict, { created: false, object: a.object });

    const key = KEY.replace("0000000001", "0000000002");
    const racing = await Promise.all(
      [first, other, first, other].map((bytes) =>
        store.putIfAbsent(key, byteStream(bytes, 7_000).stream, options(bytes))
      ),
    );
    assert.equal(racing.filter((r) => r.created).length, 1);
    const winner = racing.find((r) => r.created)!.object;
    assert.ok(racing.every((r) => r.object.sha256 === winner.sha256));
    const stored = await readAll((await store.read(key))!.body);
    assert.equal(sha256(stored), winner.sha256);
  });
});

Deno.test("fs store refuses a body whose digest is not the one claimed and keeps nothing", async () => {
  await withStore(async (store, root) => {
    const bytes = bytesOf(300_000);
    const whole = { size: bytes.byteLength, prefix: bytes };
    for (const extra of [{ size: bytes.byteLength }, {}, whole]) {
      const body = extra === whole ? ReadableStream.from([]) : byteStream(bytes).stream;
      await assert.rejects(
        store.putIfAbsent(KEY, body, {
          ...options(bytes, extra),
          sha256: sha256(bytesOf(10)),
        }),
        (error: unknown) => error instanceof DigestMismatchError && error.actual === sha256(bytes),
      );
      assert.equal(await store.head(KEY), undefined);
    }
    assert.deepEqual(await filesUnder(root), []);
  });
});

Deno.test("fs store refuses an oversize body: before reading when declared, else as it arrives", async () => {
  await withStore(async (store, root) => {
    const bytes = bytesOf(1_000_000);
    const declared = byteStream(bytes);
    await assert.rejects(
      store.putIfAbsent(
        KEY,
        declared.stream,
        options(bytes, { size: bytes.byteLength, maxBytes: 100_000 }),
      ),
      BodyTooLargeError,
    );
    assert.equal(declared.counter.pulled, 0, "nothing read");
    assert.equal(declared.counter.cancelled, true);

    const chunked = byteStream(bytes, 10_000);
    await assert.rejects(
      store.putIfAbsent(KEY, chunked.stream, options(bytes, { maxBytes: 100_000 })),
      (error: unknown) => error instanceof BodyTooLargeError && error.limit === 100_000,
    );
    assert.ok(chunked.counter.pulled <= 110_000, `read ${chunked.counter.pulled} bytes`);
    assert.equal(chunked.counter.cancelled, true);
    assert.deepEqual(await filesUnder(root), []);
  });
});

Deno.test("fs store refuses a body that fails or is not the declared size, and keeps nothing", async () => {
  await withStore(async (store, root) => {
    const bytes = bytesOf(500_000);
    const cases: Array<[string, ReadableStream<Uint8Array>, Partial<PutOptions>, number]> = [
      ["fails, declared", byteStream(bytes, 65_536, 200_000).stream, { size: 500_000 }, 500_000],
      ["fails, chunked", byteStream(bytes, 65_536, 200_000).stream, {}, -1],
      ["shorter than declared", byteStream(bytes).stream, { size: 600_000 }, 600_000],
      ["longer than declared", byteStream(bytes).stream, { size: 400_000 }, 400_000],
      ["shorter, streamed", byteStream(bytes).stream, { size: 5_000_000, maxBytes: 6e6 }, 5e6],
      [
        "longer than the whole body already read",
        byteStream(bytes.subarray(400_000)).stream,
        { size: 400_000, prefix: bytes.subarray(0, 400_000) },
        400_000,
      ],
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
    assert.deepEqual(await filesUnder(root), []);
  });
});

Deno.test("fs store keeps an object's metadata in one file with it, and reads the first layout", async () => {
  await withStore(async (store, root) => {
    const bytes = bytesOf(1000);
    await store.putIfAbsent(KEY, byteStream(bytes).stream, options(bytes, { size: 1000 }));
    assert.deepEqual(await filesUnder(root), [`${root}/${KEY}`]);

    // The first layout: raw bytes with their metadata in a `.meta` file beside them.
    const legacy = KEY.replace("0000000001", "0000000009");
    await Deno.writeFile(`${root}/${legacy}`, bytes);
    await Deno.writeTextFile(
      `${root}/${legacy}.meta`,
      JSON.stringify({ size: 1000, contentType: "video/mp2t", sha256: sha256(bytes) }),
    );
    assert.equal((await store.head(legacy))?.contentType, "video/mp2t");
    assert.deepEqual(await readAll((await store.read(legacy))!.body), bytes);
    assert.deepEqual(
      await readAll((await store.read(legacy, { start: 10, end: 19 }))!.body),
      bytes.subarray(10, 20),
    );
    await store.delete(legacy);
    assert.deepEqual(await filesUnder(root), [`${root}/${KEY}`]);
  });
});

Deno.test("fs store replaces bytes no reader could see (left by a crash) with a checked body", async () => {
  await withStore(async (store, root) => {
    const bytes = bytesOf(2000);
    await Deno.mkdir(`${root}/${KEY.slice(0, KEY.lastIndexOf("/"))}`, { recursive: true });
    await Deno.writeFile(`${root}/${KEY}`, bytesOf(1500, 3)); // no metadata: never visible
    assert.equal(await store.head(KEY), undefined);
    const put = await store.putIfAbsent(KEY, byteStream(bytes).stream, options(bytes));
    assert.equal(put.created, true);
    assert.deepEqual(await readAll((await store.read(KEY))!.body), bytes);
  });
});

Deno.test("fs store refuses a content type too long to store before reading the body", async () => {
  await withStore(async (store) => {
    const { stream, counter } = byteStream(bytesOf(10));
    await assert.rejects(
      store.putIfAbsent(KEY, stream, options(bytesOf(10), { contentType: "x".repeat(600) })),
      TypeError,
    );
    assert.equal(counter.pulled, 0);
  });
});
