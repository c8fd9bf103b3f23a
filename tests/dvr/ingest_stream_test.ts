/**
 * Ingest over real sockets: bodies arrive in many chunks, with a Content-Length or chunked, and
 * are streamed to storage as they come.
 */
import assert from "node:assert/strict";
import { enrolDevice } from "../support/device.ts";
import { contentDigest, makeCmaf } from "../support/media.ts";
import { makeFleet, startTestPlatform, type TestPlatform } from "../support/platform.ts";

const cmaf = await makeCmaf({ seconds: 4, size: "640x360", bitrate: "2000k" });

/** Serves the platform's app on a free local port until disposed. */
function serve(platform: TestPlatform) {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request, info) => platform.app.fetch(request, info),
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** `bytes` as a stream of small pieces: fetch sends it chunked, without a Content-Length. */
function chunked(bytes: Uint8Array, piece = 16_384): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.slice(at, at + piece));
      at += piece;
    },
  });
}

Deno.test("ingest streams uploads over a socket, declared or chunked, and stores their exact bytes", async () => {
  await using platform = await startTestPlatform();
  await using server = serve(platform);
  const fleet = await makeFleet(platform, "Acme");
  const device = await enrolDevice(platform, fleet.enrolmentCode);
  const base =
    `${server.url}/api/v1/ingest/vehicles/${fleet.vehicleId}/cameras/front/recordings/r1`;
  const put = async (path: string, body: BodyInit, headers: Record<string, string>) => {
    const response = await fetch(`${base}/${path}`, {
      method: "PUT",
      body,
      headers: { authorization: `Bearer ${device.token}`, ...headers },
    });
    return { status: response.status, body: await response.json() };
  };

  const init = await put("init", cmaf.init as BodyInit, {
    "content-type": "video/mp4",
    "content-digest": await contentDigest(cmaf.init),
  });
  assert.equal(init.status, 201, JSON.stringify(init.body));
  const start = Date.now() - 60_000;
  for (const [i, segment] of cmaf.segments.entries()) {
    assert.ok(segment.bytes.byteLength > 65_536, "a segment arrives in several chunks");
    const response = await put(
      `segments/${i}`,
      i % 2 === 0 ? segment.bytes as BodyInit : chunked(segment.bytes),
      {
        "content-type": "video/iso.segment",
        "content-digest": await contentDigest(segment.bytes),
        "motorcade-segment-start": new Date(start + i * 2000).toISOString(),
        "motorcade-segment-duration": "2.000",
      },
    );
    assert.equal(response.status, 201, JSON.stringify(response.body));
    assert.equal(response.body.size, segment.bytes.byteLength);
  }

  const prefix =
    `fleets/${fleet.fleetId}/vehicles/${fleet.vehicleId}/cameras/${fleet.cameraId}/r1/`;
  for (const [i, segment] of cmaf.segments.entries()) {
    const read = await platform.store.read(`${prefix}${String(i).padStart(10, "0")}.m4s`);
    assert.ok(read, `segment ${i} stored`);
    assert.deepEqual(new Uint8Array(await new Response(read.body).arrayBuffer()), segment.bytes);
  }
  const stored = await platform.store.read(`${prefix}init.mp4`);
  assert.deepEqual(new Uint8Array(await new Response(stored!.body).arrayBuffer()), cmaf.init);
});

Deno.test("ingest refuses a declared oversize upload over a socket before reading it", async () => {
  const segment = cmaf.segments[0].bytes;
  await using platform = await startTestPlatform({ SEGMENT_MAX_BYTES: "100000" });
  await using server = serve(platform);
  const fleet = await makeFleet(platform, "Acme");
  const device = await enrolDevice(platform, fleet.enrolmentCode);
  const response = await fetch(
    `${server.url}/api/v1/ingest/vehicles/${fleet.vehicleId}/cameras/front/recordings/r1/segments/0`,
    {
      method: "PUT",
      body: segment as BodyInit,
      headers: {
        authorization: `Bearer ${device.token}`,
        "content-type": "video/iso.segment",
        "content-digest": await contentDigest(segment),
        "motorcade-segment-start": new Date(Date.now() - 10_000).toISOString(),
        "motorcade-segment-duration": "2.000",
      },
    },
  );
  assert.equal(response.status, 413);
  assert.match((await response.json()).detail, /larger than 100000 bytes/);
  const files: string[] = [];
  for await (const entry of Deno.readDir(`${platform.dataDir}/objects`)) files.push(entry.name);
  assert.deepEqual(files, [".tmp"]);
});
