import assert from "node:assert/strict";
import { createLogger, silentLogger } from "../../lib/log/mod.ts";
import { parseCapturePlaylist } from "../../vehicle/playlist.ts";
import { Spool } from "../../vehicle/spool.ts";
import { sha256Base64 } from "../../vehicle/spool_files.ts";
import { type TokenSource, Uploader } from "../../vehicle/uploader.ts";
import { setUpVehicle } from "../support/fleet_api.ts";
import { contentDigest } from "../support/media.ts";
import { startServer } from "../support/server.ts";
import { eventually, readQueue } from "./agent_harness.ts";
import { material, playlistText, segmentName, T0, writeSegments } from "./spool_fixture.ts";

async function openSpool(dir: string): Promise<Spool> {
  const spool = new Spool({
    dir,
    diskBudgetBytes: 1e9,
    quarantineBudgetBytes: 1e8,
    drainOrder: "oldest",
    segmentSeconds: 2,
    logger: silentLogger,
  });
  await spool.open();
  return spool;
}

/** Queues `sequences` of a recording as if ffmpeg had made them, and ends it. */
async function queueRecording(
  spool: Spool,
  camera: string,
  recordingId: string,
  sequences: number[],
) {
  const harvest = await spool.begin(camera, recordingId);
  await writeSegments(harvest.dir, sequences);
  await spool.harvest(
    harvest,
    parseCapturePlaylist(playlistText(sequences, { t0: Date.now() - 60_000 })),
  );
  await spool.end(harvest, Date.now() - 60_000 + sequences.length * 2000);
}

Deno.test("uploader stores segments on the real server, quarantines what it refuses, holds unknown cameras", async () => {
  await using server = await startServer();
  const vehicle = await setUpVehicle(server.url, ["front"]);
  const dir = await Deno.makeTempDir({ prefix: "uploader-" });
  try {
    const spool = await openSpool(dir);
    await queueRecording(spool, "front", "rGood", [0, 1, 2]);
    await queueRecording(spool, "front", "rBad", [0, 1]);
    await queueRecording(spool, "front", "rTaken", [0]);
    await queueRecording(spool, "ghost", "rGhost", [0]);
    // A queued file damaged on disk after it was hashed: the server sees the digest mismatch.
    const damaged = `${dir}/queue/front/rBad/${segmentName(1)}`;
    const bytes = await Deno.readFile(damaged);
    bytes[bytes.length - 1] ^= 0xff;
    await Deno.writeFile(damaged, bytes);
    // Another upload already holds rTaken's segment 0 with other bytes.
    const { segments } = await material();
    const token = await vehicle.tokens!.token();
    const base =
      `${server.url}/api/v1/ingest/vehicles/${vehicle.vehicleId}/cameras/front/recordings/rTaken`;
    const other = segments[2].bytes;
    const put = await fetch(`${base}/segments/0`, {
      method: "PUT",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "video/iso.segment",
        "content-digest": await contentDigest(other),
        "motorcade-segment-start": new Date(Date.now() - 60_000).toISOString(),
        "motorcade-segment-duration": "2.000",
      },
      body: other as BodyInit,
    });
    assert.equal(put.status, 201, await put.text());

    const records: Array<Record<string, unknown>> = [];
    const uploader = new Uploader({
      spool,
      tokens: vehicle.tokens!,
      serverUrl: server.url,
      vehicleId: vehicle.vehicleId,
      logger: createLogger("debug", (r) => records.push(r)),
      concurrency: 2,
    });
    uploader.start();
    // All that may stay queued: the unknown camera's init, segment and end.
    await eventually("the known camera's queue to empty", () => spool.size === 3);
    await eventually(
      "the unknown camera to be held back",
      () =>
        records.some((r) => r.msg === "server refuses this camera's uploads; holding them back"),
    );
    await uploader.close();

    const stats = spool.stats("front");
    assert.equal(stats.quarantined, 2, "the damaged segment and the conflicting one");
    assert.ok(uploader.lastUploadAt("front")! > Date.now() - 60_000);
    const reasons = await Promise.all(
      ["rBad/0000000001.m4s", "rTaken/0000000000.m4s"].map(async (file) =>
        JSON.parse(await Deno.readTextFile(`${dir}/quarantine/front/${file}.json`)).reason
      ),
    );
    assert.match(reasons[0], /^400: Content-Digest does not match the body/);
    assert.match(reasons[1], /^409: .*already stored with other bytes/);
    assert.equal(
      spool.stats("ghost").queueDepth,
      2,
      "init and segment kept for when an admin adds the camera",
    );
    assert.equal(spool.stats("ghost").quarantined, 0);
    const held = records.find((r) =>
      r.msg === "server refuses this camera's uploads; holding them back"
    )!;
    assert.match(String(held.reason), /^404: Camera "ghost" is not registered/);
    assert.ok(Number(held.retryInMs) >= 150_000, "a long hold");
    const queue = await readQueue(dir);
    assert.deepEqual([...queue.get("front")!.keys()], [], "everything else uploaded and deleted");

    await eventually("rGood indexed and closed", async () => {
      const response = await fetch(
        `${server.url}/api/v1/fleets/${vehicle.fleetId}/vehicles/${vehicle.vehicleId}/cameras/${vehicle.cameras.front}/recordings`,
        { headers: { authorization: `Bearer ${vehicle.ownerToken}` } },
      );
      const { recordings } = await response.json();
      const good = recordings.find((r: { id: string }) => r.id === "rGood");
      // The end of the recording went after its segments.
      return good?.segmentCount === 3 && good.closedAt !== null;
    }, 10_000);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(vehicle.stateDir, { recursive: true });
  }
});

Deno.test("uploader backs off on 503 and 429 as Retry-After says, renews the token on 401, deletes after 2xx", async () => {
  const dir = await Deno.makeTempDir({ prefix: "uploader-" });
  const script = [503, 429, 401, 201];
  const seen: Array<
    { at: number; status: number; headers: Headers; body: Uint8Array; queued: boolean }
  > = [];
  const stub = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const body = new Uint8Array(await request.arrayBuffer());
    const url = new URL(request.url);
    if (!url.pathname.includes("/segments/")) {
      return new Response(null, { status: url.pathname.endsWith("/end") ? 204 : 201 });
    }
    const status = script.shift() ?? 201;
    const file = `${dir}/queue/front/rA/${segmentName(Number(url.pathname.split("/").at(-1)))}`;
    const queued = await Deno.stat(file).then(() => true, () => false);
    seen.push({ at: performance.now(), status, headers: request.headers, body, queued });
    const headers = new Headers({ "content-type": "application/problem+json" });
    if (status === 503) headers.set("retry-after", "1");
    if (status === 429) headers.set("retry-after", new Date(Date.now() + 1500).toUTCString());
    return new Response(status === 201 ? "{}" : JSON.stringify({ detail: `scripted ${status}` }), {
      status,
      headers,
    });
  });
  try {
    const spool = await openSpool(dir);
    const harvest = await spool.begin("front", "rA");
    await writeSegments(harvest.dir, [0]);
    await spool.harvest(harvest, parseCapturePlaylist(playlistText([0])));
    let issued = 0;
    let invalidated = 0;
    const tokens: TokenSource = {
      token: () => Promise.resolve(`token-${issued++ - invalidated}-${invalidated}`),
      invalidate: () => void invalidated++,
    };
    const uploader = new Uploader({
      spool,
      tokens,
      serverUrl: `http://127.0.0.1:${stub.addr.port}`,
      vehicleId: "veh_1",
      logger: silentLogger,
      concurrency: 1,
      backoff: { baseMs: 100, capMs: 200 },
    });
    uploader.start();
    await eventually("the segment to be stored", () => spool.size === 0, 15_000);
    await uploader.close();

    assert.deepEqual(seen.map((s) => s.status), [503, 429, 401, 201]);
    assert.ok(
      seen[1].at - seen[0].at >= 950,
      `Retry-After: 1 honoured (${seen[1].at - seen[0].at} ms)`,
    );
    assert.ok(seen[2].at - seen[1].at >= 450, "Retry-After as an HTTP date honoured");
    assert.equal(invalidated, 1, "401 drops the token");
    assert.notEqual(seen[3].headers.get("authorization"), seen[2].headers.get("authorization"));
    assert.ok(seen.every((s) => s.queued), "the file stays queued until a 2xx");
    await assert.rejects(
      () => Deno.stat(`${dir}/queue/front/rA/${segmentName(0)}`),
      Deno.errors.NotFound,
    );

    const last = seen[3];
    assert.equal(last.headers.get("content-type"), "video/iso.segment");
    assert.equal(last.headers.get("content-digest"), `sha-256=:${await sha256Base64(last.body)}:`);
    assert.equal(last.headers.get("content-length"), String(last.body.byteLength));
    assert.equal(last.headers.get("motorcade-segment-start"), new Date(T0).toISOString());
    assert.equal(last.headers.get("motorcade-segment-duration"), "2.000");
    assert.equal(last.body.byteLength, (await material()).segments[1].bytes.byteLength);
  } finally {
    await stub.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("uploader keeps to its bandwidth cap", async () => {
  const dir = await Deno.makeTempDir({ prefix: "uploader-" });
  const arrivals: Array<{ at: number; bytes: number }> = [];
  const stub = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const body = await request.arrayBuffer();
    arrivals.push({ at: performance.now(), bytes: body.byteLength });
    return new Response(null, { status: request.method === "POST" ? 204 : 201 });
  });
  try {
    const spool = await openSpool(dir);
    await queueRecording(spool, "front", "rA", [0, 1, 2, 3, 4, 5]);
    const size = (await material()).segments[1].bytes.byteLength;
    const rate = Math.round(size * 1.5); // 1.5 segments per second
    const uploader = new Uploader({
      spool,
      tokens: { token: () => Promise.resolve("t"), invalidate() {} },
      serverUrl: `http://127.0.0.1:${stub.addr.port}`,
      vehicleId: "veh_1",
      logger: silentLogger,
      concurrency: 2,
      bytesPerSecond: rate,
    });
    const started = performance.now();
    uploader.start();
    await eventually("the queue to empty", () => spool.size === 0, 20_000);
    await uploader.close();
    const media = arrivals.filter((a) => a.bytes === size);
    assert.equal(media.length, 6);
    const elapsed = (media.at(-1)!.at - started) / 1000;
    // The first 1.5 segments go at once (a full bucket), the other 4.5 at the cap: 3 s.
    assert.ok(elapsed >= 2.8, `six segments at 1.5 per second took ${elapsed.toFixed(2)} s`);
    assert.ok(elapsed < 5, `and not much longer: ${elapsed.toFixed(2)} s`);
  } finally {
    await stub.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("uploader names each request's rendition and each segment's upload kind and recall", async () => {
  const dir = await Deno.makeTempDir({ prefix: "uploader-" });
  const seen: Array<{ path: string; headers: Headers }> = [];
  const stub = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    await request.arrayBuffer();
    seen.push({ path: new URL(request.url).pathname, headers: request.headers });
    return new Response(null, { status: 201 });
  });
  try {
    const spool = await openSpool(dir);
    spool.route = ({ startMs }) =>
      startMs === T0 + 2000 ? { to: "queue", recallId: "rcl_7" } : { to: "queue" };
    const proxy = await spool.begin("front", "rA-p", undefined, "proxy");
    await writeSegments(proxy.dir, [0]);
    await spool.harvest(proxy, parseCapturePlaylist(playlistText([0])), true);
    await spool.end(proxy, T0 + 2000);
    const full = await spool.begin("front", "rA");
    await writeSegments(full.dir, [0, 1]);
    await spool.harvest(full, parseCapturePlaylist(playlistText([0, 1])), true);
    const uploader = new Uploader({
      spool,
      tokens: { token: () => Promise.resolve("t"), invalidate() {} },
      serverUrl: `http://127.0.0.1:${stub.addr.port}`,
      vehicleId: "veh_1",
      logger: silentLogger,
      concurrency: 1,
    });
    uploader.start();
    await eventually("the uploads", () => spool.size === 0, 15_000);
    await uploader.close();
    const line = ({ path, headers }: { path: string; headers: Headers }) =>
      [
        path.split("/recordings/")[1],
        headers.get("motorcade-rendition"),
        headers.get("motorcade-upload-kind"),
        headers.get("motorcade-recall-id"),
      ].join(" ");
    assert.deepEqual(seen.map(line), [
      "rA/init full  ", // the recalled segment goes first, its recording's init before it
      "rA/segments/1 full recall rcl_7",
      "rA-p/init proxy  ",
      "rA-p/segments/0 proxy continuous ",
      "rA-p/end proxy  ",
      "rA/segments/0 full continuous ",
    ]);
  } finally {
    await stub.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
