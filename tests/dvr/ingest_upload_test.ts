import assert from "node:assert/strict";
import { readHead } from "../../lib/ingest/mod.ts";

Deno.test("readHead reads just the bytes asked for from a byte stream and leaves the rest", async () => {
  const bytes = new Uint8Array(100_000).map((_, i) => i % 251);
  let at = 0;
  const stream = new ReadableStream({
    type: "bytes",
    pull(controller) {
      if (at >= bytes.byteLength) {
        controller.close();
        controller.byobRequest?.respond(0);
        return;
      }
      controller.enqueue(bytes.slice(at, at + 65_536));
      at += 65_536;
    },
  });
  const head = await readHead(stream, 377);
  assert.deepEqual(head, bytes.subarray(0, 377));
  const rest: number[] = [];
  for await (const chunk of stream) rest.push(...chunk);
  assert.deepEqual(Uint8Array.from(rest), bytes.subarray(377));
});

Deno.test("readHead returns a short body whole, and refuses one that fails as truncated", async () => {
  assert.deepEqual(
    await readHead(ReadableStream.from([Uint8Array.of(1, 2, 3)]), 377),
    Uint8Array.of(1, 2, 3),
  );
  const failing = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.error(new Error("connection reset"));
    },
  });
  await assert.rejects(readHead(failing, 377), /Request body is truncated/);
});
