import assert from "node:assert/strict";
import { parseConfig } from "../../lib/config/mod.ts";
import { connectionLimits, serveGated } from "../../lib/http/mod.ts";
import { MAX_MESSAGE_BYTES } from "../../lib/live/mod.ts";
import { createLogger } from "../../lib/log/mod.ts";
import { forwardTo, IngestWorkers, shareLimits } from "../../lib/workers/mod.ts";
import { enrolDevice } from "../support/device.ts";
import { setUpVehicle } from "../support/fleet_api.ts";
import { type CmafFixture, contentDigest, makeCmaf } from "../support/media.ts";
import { startTestPlatform } from "../support/platform.ts";
import { freePort, startServerProcess } from "../support/server.ts";

const WORKER = new URL("../../ingest_worker.ts", import.meta.url);

/** One vehicle connection (its own HTTP client: its own TCP connection, kept alive). */
function connection() {
  return Deno.createHttpClient({});
}

/**
 * Uploads `cmaf` as `recording` on `client`, init then segments; a 503 or a dropped connection is
 * retried (on a new connection) as the vehicle's uploader does, at most `tries` times per upload.
 */
async function uploadRecording(
  base: string,
  vehicleId: string,
  token: string,
  recording: string,
  cmaf: CmafFixture,
  client: Deno.HttpClient,
  tries = 40,
): Promise<Deno.HttpClient> {
  const path = `${base}/api/v1/ingest/vehicles/${vehicleId}/cameras/front/recordings/${recording}`;
  const start = Date.now() - 60_000;
  const uploads: Array<[string, Uint8Array, Record<string, string>]> = [
    ["init", cmaf.init, { "content-type": "video/mp4" }],
    ...cmaf.segments.map((s, i): [string, Uint8Array, Record<string, string>] => [
      `segments/${i}`,
      s.bytes,
      {
        "content-type": "video/iso.segment",
        "motorcade-segment-start": new Date(start + i * 2000).toISOString(),
        "motorcade-segment-duration": (s.durationMs / 1000).toFixed(3),
      },
    ]),
  ];
  for (const [name, bytes, headers] of uploads) {
    for (let attempt = 1;; attempt++) {
      try {
        const response = await fetch(`${path}/${name}`, {
          method: "PUT",
          client,
          headers: {
            authorization: `Bearer ${token}`,
            "content-digest": await contentDigest(bytes),
            ...headers,
          },
          body: bytes as BodyInit,
        });
        const text = await response.text();
        if (response.status === 201 || response.status === 200) break;
        if (response.status !== 503 || attempt >= tries) {
          throw new Error(`PUT ${name} of ${recording}: ${response.status} ${text}`);
        }
      } catch (error) {
        if (attempt >= tries || !(error instanceof TypeError)) throw error;
        client.close(); // the connection broke (its worker ended): the vehicle reconnects
        client = connection();
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return client;
}

/** Waits (bounded) until every recording of `recordings` lists `segments` segments. */
async function waitForCatalog(
  list: () => Promise<Array<{ id: string; segmentCount: number }>>,
  recordings: string[],
  segments: number,
): Promise<Map<string, number>> {
  let counts = new Map<string, number>();
  for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
    counts = new Map((await list()).map((r) => [r.id, r.segmentCount]));
    if (recordings.every((r) => counts.get(r) === segments)) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return counts;
}

Deno.test("INGEST_WORKERS must be 1 to 64 and needs the ingest role", () => {
  assert.equal(parseConfig({}).ingestWorkers, 1);
  assert.equal(parseConfig({ INGEST_WORKERS: "4" }).ingestWorkers, 4);
  assert.throws(() => parseConfig({ INGEST_WORKERS: "0" }), /INGEST_WORKERS must be an integer/);
  assert.throws(
    () => parseConfig({ INGEST_WORKERS: "2", ROLES: "api,indexer" }),
    /INGEST_WORKERS is 2, but ROLES has no ingest role/,
  );
});

Deno.test({
  name: "ingest workers share the port: uploads on every listener land in the catalog once, " +
    "and other requests on a worker's connection are answered by the server's thread",
  sanitizeResources: false,
  async fn() {
    await using server = await startServerProcess({ INGEST_WORKERS: "3" });
    for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
      if (server.logs.some((line) => line.includes('"ingest workers listening"'))) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const vehicle = await setUpVehicle(server.url);
    const token = await vehicle.tokens!.token();
    const cmaf = await makeCmaf({ seconds: 6 });
    const recordings = Array.from({ length: 12 }, (_, i) => `r${i}`);
    // One connection per recording: the kernel spreads them over the three listeners.
    const clients = await Promise.all(
      recordings.map((r) =>
        uploadRecording(server.url, vehicle.vehicleId, token, r, cmaf, connection())
      ),
    );
    try {
      // The vehicle's next requests on the same connections: heartbeat, playback, probes.
      for (const client of clients) {
        const own = await fetch(`${server.url}/api/v1/device/vehicle`, {
          client,
          headers: { authorization: `Bearer ${token}` },
        });
        assert.equal(own.status, 200, await own.clone().text());
        assert.equal((await own.json()).vehicle.id, vehicle.vehicleId);
        const health = await fetch(`${server.url}/healthz`, { client });
        assert.equal(health.status, 200);
        await health.body?.cancel();
      }
      const camera = vehicle.cameras.front;
      const listPath =
        `/api/v1/fleets/${vehicle.fleetId}/vehicles/${vehicle.vehicleId}/cameras/${camera}/recordings`;
      const counts = await waitForCatalog(
        async () => {
          const response = await fetch(`${server.url}${listPath}`, {
            client: clients[0],
            headers: { authorization: `Bearer ${vehicle.ownerToken}` },
          });
          assert.equal(response.status, 200);
          const body = await response.json();
          return body.recordings;
        },
        recordings,
        cmaf.segments.length,
      );
      for (const r of recordings) assert.equal(counts.get(r), cmaf.segments.length, r);
      // Every connection (several are a worker's) gets the list compressed as it asked, and
      // decodable: relayed, it once came decoded but still labelled brotli.
      for (const [i, client] of clients.entries()) {
        for (const encoding of ["br", "gzip", "identity"]) {
          const response = await fetch(`${server.url}${listPath}`, {
            client,
            headers: { authorization: `Bearer ${vehicle.ownerToken}`, "accept-encoding": encoding },
          });
          assert.equal(response.status, 200, `connection ${i}`);
          assert.equal(
            response.headers.get("content-encoding"),
            encoding === "identity" ? null : encoding,
            `connection ${i}, ${encoding}`,
          );
          const body = await response.json();
          assert.equal(body.recordings.length, recordings.length, `connection ${i}, ${encoding}`);
        }
      }

      const records = server.logs.flatMap((line) => {
        try {
          return [JSON.parse(line)];
        } catch {
          return [];
        }
      }).filter((record) => record.msg === "request");
      const segmentPuts = records.filter((r) => /\/segments\/\d+$/.test(r.path ?? ""));
      const byWorker = segmentPuts.filter((r) => r.worker !== undefined);
      assert.ok(byWorker.length > 0, "a worker took uploads");
      assert.ok(byWorker.length < segmentPuts.length, "the server's own listener took uploads");
      // The vehicle's own requests were answered by the server's thread on every connection,
      // those a worker accepted too (workers answer uploads only).
      const asked = records.filter((r) => r.path === "/api/v1/device/vehicle");
      assert.equal(asked.length, clients.length);
      assert.ok(asked.every((r) => r.worker === undefined && r.status === 200));
      assert.ok(
        records.every((r) => r.worker === undefined || r.path.startsWith("/api/v1/ingest/")),
      );
    } finally {
      clients.forEach((client) => client.close());
    }
  },
});

Deno.test({
  name: "an ingest worker that fails is started again, and no accepted upload is lost",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const port = freePort();
    await using platform = await startTestPlatform({ PUBLIC_URL: `http://127.0.0.1:${port}` });
    const fleet = await platform.registry.createFleet("Workers");
    const { vehicle, enrolment } = await platform.registry.registerVehicle(fleet.id, "bus-1");
    await platform.registry.addCamera(fleet.id, vehicle.id, "front");
    const device = await enrolDevice(platform, enrolment.code);
    const logger = createLogger("error");
    const limits = shareLimits(connectionLimits(parseConfig({}), MAX_MESSAGE_BYTES), 3);
    await using server = await serveGated(
      { hostname: "127.0.0.1", port, reusePort: true, limits, logger },
      platform.app.fetch,
    );
    await using workers = await IngestWorkers.start({
      count: 2,
      entry: WORKER,
      env: {
        DATA_DIR: platform.dataDir,
        PUBLIC_URL: `http://127.0.0.1:${port}`,
        LIVE: "off",
        LOG_LEVEL: "warn",
      },
      hostname: "127.0.0.1",
      port,
      limits,
      bus: platform.bus,
      broadcast: platform.broadcast,
      handler: platform.app.fetch,
      logger,
    });
    assert.equal(workers.running, 2);
    const base = `http://127.0.0.1:${server.addr.port}`;
    const cmaf = await makeCmaf({ seconds: 8 });
    const recordings = Array.from({ length: 9 }, (_, i) => `k${i}`);
    const uploads = recordings.map((r) =>
      uploadRecording(base, vehicle.id, device.token, r, cmaf, connection())
    );
    // A crash while uploads are in flight: its connections drop, the vehicles reconnect.
    await new Promise((resolve) => setTimeout(resolve, 300));
    workers.crash(0);
    const clients = await Promise.all(uploads);
    clients.forEach((client) => client.close());
    for (const deadline = Date.now() + 15_000; workers.running < 2 && Date.now() < deadline;) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(workers.running, 2, "the failed worker was started again");
    assert.equal(workers.restarts[0], 1);
    const cameraId = (await platform.catalog.cameras.list(fleet.id, vehicle.id))[0].id;
    const counts = await waitForCatalog(
      () => platform.catalog.recordings.list(fleet.id, cameraId),
      recordings,
      cmaf.segments.length,
    );
    for (const r of recordings) assert.equal(counts.get(r), cmaf.segments.length, r);
  },
});

Deno.test({
  name:
    "a worker forwards requests and WebSockets to the server's thread with the client's address",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const seen: Array<{ peer: string | null; auth: string | null; path: string }> = [];
    await using upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
      const url = new URL(req.url);
      seen.push({
        peer: req.headers.get("motorcade-worker-peer"),
        auth: req.headers.get("authorization"),
        path: url.pathname + url.search,
      });
      if (url.pathname === "/refuse") return new Response("no", { status: 503 });
      if (req.headers.get("upgrade") === "websocket") {
        const { socket, response } = Deno.upgradeWebSocket(req);
        socket.onmessage = (event) => socket.send(`echo ${event.data}`);
        return response;
      }
      return new Response(`answer to ${req.method} ${url.pathname}`, {
        status: 201,
        headers: { "x-from": "server" },
      });
    });
    const forward = forwardTo(`http://127.0.0.1:${upstream.addr.port}`, "s3cret");
    await using worker = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, forward);
    const base = `http://127.0.0.1:${worker.addr.port}`;

    const answer = await fetch(`${base}/api/v1/device/heartbeat?x=1`, {
      method: "POST",
      body: "{}",
      headers: { authorization: "Bearer t" },
    });
    assert.equal(answer.status, 201);
    assert.equal(answer.headers.get("x-from"), "server");
    assert.equal(await answer.text(), "answer to POST /api/v1/device/heartbeat");
    assert.equal(seen[0].path, "/api/v1/device/heartbeat?x=1");
    assert.equal(seen[0].auth, "Bearer t");
    assert.match(seen[0].peer ?? "", /^s3cret \{.*"hostname":"127\.0\.0\.1"/);

    const socket = new WebSocket(`ws://127.0.0.1:${worker.addr.port}/api/v1/live/ws`);
    const reply = await new Promise<string>((resolve, reject) => {
      socket.onopen = () => socket.send("hello");
      socket.onmessage = (event) => resolve(event.data);
      socket.onerror = () => reject(new Error("the relayed WebSocket failed"));
    });
    assert.equal(reply, "echo hello");
    const closed = new Promise((resolve) => socket.onclose = resolve);
    socket.close();
    await closed;
    assert.match(seen[1].peer ?? "", /^s3cret /);

    // A WebSocket the server's thread refuses is refused, not opened and then closed.
    const refused = new WebSocket(`ws://127.0.0.1:${worker.addr.port}/refuse`);
    const opened = await new Promise<boolean>((resolve) => {
      refused.onopen = () => resolve(true);
      refused.onerror = () => resolve(false);
    });
    assert.equal(opened, false);
  },
});
