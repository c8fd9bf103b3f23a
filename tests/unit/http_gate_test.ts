import assert from "node:assert/strict";
import { forwardedClient } from "../../lib/http/client_address.ts";
import { RequestFraming } from "../../lib/http/request_framing.ts";
import { ResponseWatch } from "../../lib/http/response_watch.ts";
import { WebSocketFrameGuard } from "../../lib/http/websocket_frames.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

Deno.test("request framing follows heads, length and chunked bodies byte by byte", () => {
  const framing = new RequestFraming();
  const stream = "PUT /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello" +
    "POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\n0\r\nT: 1\r\n\r\n" +
    "GET /c HTTP/1.1\nHost: x\n\n";
  const phases: string[] = [];
  for (const byte of bytes(stream)) {
    assert.equal(framing.feed(new Uint8Array([byte])).error, undefined);
    if (phases.at(-1) !== framing.phase) phases.push(framing.phase);
  }
  assert.equal(framing.heads, 3);
  assert.equal(framing.phase, "between");
  assert.deepEqual(phases, [
    "head",
    "body",
    "between",
    "head",
    "body",
    "between",
    "head",
    "between",
  ]);
});

Deno.test("request framing pauses after an upgrade head and refuses a head too long", () => {
  const framing = new RequestFraming();
  const head = "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n";
  const step = framing.feed(bytes(head + "\x82\x85"));
  assert.equal(step.consumed, head.length);
  assert.equal(framing.phase, "upgrade");
  const long = new RequestFraming().feed(bytes("GET / HTTP/1.1\r\nX: " + "a".repeat(70_000)));
  assert.equal(long.error?.status, 431);
});

Deno.test("response watch skips 100 Continue and measures a refusal to its end", () => {
  const watch = new ResponseWatch(() => true);
  watch.expectAnswer();
  const answer =
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 401 Unauthorized\r\ncontent-length: 4\r\n\r\n";
  assert.deepEqual(watch.feed(bytes(answer)), { status: 401 });
  assert.deepEqual(watch.feed(bytes("nope")), { ended: true });
});

Deno.test("websocket guard refuses a message over the cap, fragments counted together", () => {
  const guard = new WebSocketFrameGuard(100);
  const frame = (first: number, length: number) =>
    new Uint8Array([first, 0x80 | length, 0, 0, 0, 0]);
  assert.equal(guard.feed(frame(0x01, 60)), undefined); // text, not final
  assert.equal(guard.feed(new Uint8Array(60)), undefined);
  assert.equal(guard.feed(frame(0x89, 4)), undefined); // a ping between fragments
  assert.equal(guard.feed(new Uint8Array(4)), undefined);
  assert.match(guard.feed(frame(0x80, 60)) ?? "", /message of 120 bytes/);
  const big = new Uint8Array([0x82, 0xff, 0, 0, 0, 0, 0x03, 0x93, 0x87, 0x00, 0, 0, 0, 0]);
  assert.match(new WebSocketFrameGuard(65_536).feed(big) ?? "", /60000000/);
});

Deno.test("forwarded client is the N-th X-Forwarded-For hop from the right", () => {
  assert.equal(forwardedClient("10.0.0.2", "6.6.6.6, 203.0.113.9", 1), "203.0.113.9");
  assert.equal(forwardedClient("10.0.0.2", "6.6.6.6, 203.0.113.9, 10.0.0.1", 2), "203.0.113.9");
  assert.equal(forwardedClient("10.0.0.2", "203.0.113.9", 3), "203.0.113.9");
  assert.equal(forwardedClient("10.0.0.2", "6.6.6.6, <script>", 1), "10.0.0.2");
  assert.equal(forwardedClient("10.0.0.2", "6.6.6.6", 0), "10.0.0.2");
});
