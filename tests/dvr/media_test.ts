import assert from "node:assert/strict";
import { enrolDevice } from "../support/device.ts";
import { contentDigest, makeCmaf } from "../support/media.ts";
import { makeFleet, startTestPlatform } from "../support/platform.ts";

Deno.test("media segments are served behind signed prefix URLs with Range, ETag and caching", async () => {
  await using platform = await startTestPlatform();
  const fleet = await makeFleet(platform, "Acme");
  const device = await enrolDevice(platform, fleet.enrolmentCode);
  const { init } = await makeCmaf({ seconds: 2 });
  const put = await platform.call(
    "PUT",
    `/api/v1/ingest/vehicles/${fleet.vehicleId}/cameras/front/recordings/r1/init`,
    {
      token: device.token,
      body: init as BodyInit,
      headers: { "content-digest": await contentDigest(init) },
    },
  );
  assert.equal(put.status, 201);
  await put.body?.cancel();

  const prefix =
    `/media/fleets/${fleet.fleetId}/vehicles/${fleet.vehicleId}/cameras/${fleet.cameraId}/`;
  const signed = platform.identity.urls.signPrefix(prefix, new Date(Date.now() + 60_000));
  const query = new URLSearchParams({ ...signed });
  const url = `${prefix}r1/init.mp4?${query}`;

  const full = await platform.call("GET", url);
  assert.equal(full.status, 200);
  assert.equal(full.headers.get("cache-control"), "public, max-age=31536000, immutable");
  assert.equal(full.headers.get("content-length"), String(init.byteLength));
  assert.deepEqual(new Uint8Array(await full.arrayBuffer()), init);
  const etag = full.headers.get("etag")!;

  const cached = await platform.call("GET", url, { headers: { "if-none-match": etag } });
  assert.equal(cached.status, 304);

  const ranged = await platform.call("GET", url, { headers: { range: "bytes=4-11" } });
  assert.equal(ranged.status, 206);
  assert.equal(ranged.headers.get("content-range"), `bytes 4-11/${init.byteLength}`);
  assert.equal(new TextDecoder().decode(await ranged.arrayBuffer()), "ftypiso5".slice(0, 8));

  const suffix = await platform.call("GET", url, { headers: { range: "bytes=-10" } });
  assert.equal(suffix.status, 206);
  assert.deepEqual(new Uint8Array(await suffix.arrayBuffer()), init.subarray(init.byteLength - 10));

  const beyond = await platform.call("GET", url, {
    headers: { range: `bytes=${init.byteLength}-` },
  });
  assert.equal(beyond.status, 416);
  await beyond.body?.cancel();

  const otherCamera = url.replace(fleet.cameraId, "cam_00000000000000000000");
  const forged = await platform.call("GET", otherCamera);
  assert.equal(forged.status, 401);
  assert.match((await forged.json()).detail, /signature is not valid/);

  const old = platform.identity.urls.signPrefix(prefix, new Date(Date.now() - 1000));
  const expired = await platform.call(
    "GET",
    `${prefix}r1/init.mp4?${new URLSearchParams({ ...old })}`,
  );
  assert.equal(expired.status, 401);
  assert.equal((await expired.json()).detail, "Signed URL has expired");

  const missing = await platform.call("GET", `${prefix}r1/0000000042.m4s?${query}`);
  assert.equal(missing.status, 404);
  await missing.body?.cancel();

  const traversal = await platform.call(
    "GET",
    `${prefix}r1/..%2F..%2Fsecrets?${query}`,
  );
  assert.equal(traversal.status, 400);
  await traversal.body?.cancel();
});
