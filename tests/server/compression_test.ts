/**
 * Compression of pages and JSON (lib/http/compression.ts) through the real app: brotli or gzip
 * per Accept-Encoding with Vary, the same bytes once decoded, and what stays as it is (small
 * answers, HEAD, event streams, the pre-compressed bundles).
 */
import assert from "node:assert/strict";
import { brotliDecompressSync } from "node:zlib";
import { makeFleet, startTestPlatform } from "../support/platform.ts";

const decode = async (response: Response) => {
  const bytes = new Uint8Array(await response.arrayBuffer());
  const encoding = response.headers.get("content-encoding");
  if (encoding === "br") return new TextDecoder().decode(brotliDecompressSync(bytes));
  if (encoding === "gzip") {
    return await new Response(
      new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip")),
    ).text();
  }
  return new TextDecoder().decode(bytes);
};

Deno.test("compression sends pages and JSON brotli or gzip as the client accepts, the same once decoded", async () => {
  await using p = await startTestPlatform();
  for (const path of ["/admin/sign-in", "/api/v1/openapi.json"]) {
    const plain = await p.call("GET", path);
    assert.equal(plain.status, 200);
    assert.equal(plain.headers.get("content-encoding"), null, path);
    assert.equal(plain.headers.get("vary")?.includes("Accept-Encoding"), true, path);
    const identity = await plain.text();
    assert.ok(identity.length > 1024, `${path} is large enough to compress`);

    const br = await p.call("GET", path, { headers: { "accept-encoding": "gzip, deflate, br" } });
    assert.equal(br.headers.get("content-encoding"), "br", path);
    assert.equal(br.headers.get("vary")?.includes("Accept-Encoding"), true, path);
    const brLength = Number(br.headers.get("content-length"));
    const brText = await decode(br);
    assert.ok(brLength < identity.length / 2, `${path}: ${brLength} of ${identity.length} bytes`);

    const gzip = await p.call("GET", path, { headers: { "accept-encoding": "gzip, br;q=0" } });
    assert.equal(gzip.headers.get("content-encoding"), "gzip", path);
    const gzipText = await decode(gzip);

    // Pages carry a fresh CSRF token per visit: compare them without it.
    const stable = (text: string) => text.replace(/[A-Za-z0-9_-]{32,}/g, "TOKEN");
    assert.equal(stable(brText), stable(identity), path);
    assert.equal(stable(gzipText), stable(identity), path);
  }
});

Deno.test("compression leaves small answers, HEAD, event streams and pre-compressed bundles as they are", async () => {
  await using p = await startTestPlatform();
  const accept = { "accept-encoding": "br, gzip" };

  const small = await p.call("GET", "/healthz", { headers: accept });
  assert.equal(small.headers.get("content-encoding"), null);
  assert.deepEqual(await small.json(), { status: "ok" });

  const head = await p.call("HEAD", "/admin/sign-in", { headers: accept });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("content-encoding"), null);

  const fleet = await makeFleet(p, "Squeeze");
  const stream = await p.call("GET", `/api/v1/fleets/${fleet.fleetId}/status/events`, {
    token: fleet.tokens.viewer,
    headers: accept,
  });
  assert.equal(stream.status, 200);
  assert.equal(stream.headers.get("content-encoding"), null);
  const reader = stream.body!.getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  assert.ok(first.startsWith("event: snapshot\n"), first.slice(0, 40));
  await reader.cancel();

  const page = await (await p.call("GET", "/admin/sign-in")).text();
  const bundle = /(\/static\/ui\/[^"]+\.(?:js|css))"/.exec(page)?.[1];
  if (!bundle) throw new Error("The sign-in page links no bundle");
  const asset = await p.call("GET", bundle, { headers: accept });
  assert.equal(asset.status, 200);
  // Served from the copy compressed at build (quality 11), not compressed again per request.
  const encoding = asset.headers.get("content-encoding");
  assert.ok(encoding === "br" || encoding === null, `bundle encoding ${encoding}`);
  assert.equal(asset.headers.get("cache-control"), "public, max-age=31536000, immutable");
  await asset.body?.cancel();
});
