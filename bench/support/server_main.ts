/**
 * The benchmark server process (started by `server.ts`): `createPlatform` on a temporary
 * DATA_DIR, the app served behind the connection gate as `main.ts` does (`BENCH_GATE=off`: by a
 * bare `Deno.serve`, to measure what the gate costs), plus three read-only `/bench/*`
 * counters answered before the app (and the playlist-cache drop of `INVALIDATE_HEADER`). Prints
 * one JSON line when listening; stops when its stdin ends, on SIGTERM, or after 15 minutes.
 */
import { enrolDevice } from "../../tests/support/device.ts";
import { makeCmaf } from "../../tests/support/media.ts";
import { OWNER, startTestPlatform } from "../../tests/support/platform.ts";
import type { SegmentRecord } from "../../lib/catalog/mod.ts";
import { recordingPrefix } from "../../lib/ingest/mod.ts";
import { parseConfig } from "../../lib/config/mod.ts";
import { connectionLimits, serveGated } from "../../lib/http/mod.ts";
import { MAX_MESSAGE_BYTES } from "../../lib/live/mod.ts";
import { createLogger } from "../../lib/log/mod.ts";
import { IngestWorkers, shareLimits } from "../../lib/workers/mod.ts";
import { freePort } from "./net.ts";
import {
  type BenchServerInfo,
  type BenchServerSetup,
  type BenchVehicle,
  INVALIDATE_HEADER,
} from "./server.ts";

const MAX_LIFETIME_MS = 15 * 60_000;
const now = () => performance.timeOrigin + performance.now();

const setup: BenchServerSetup = JSON.parse(Deno.args[0] ?? "{}");
const started = performance.now();
const port = freePort();
const platform = await startTestPlatform({
  PUBLIC_URL: `http://127.0.0.1:${port}`,
  DEVICE_TOKEN_TTL: "1h",
  ACCESS_TOKEN_TTL: "1h",
});

const fleet = await platform.registry.createFleet("Bench");
const vehicles: BenchVehicle[] = [];
for (let i = 0; i < setup.vehicles; i += 25) { // enrol in small parallel batches
  vehicles.push(
    ...await Promise.all(
      Array.from({ length: Math.min(25, setup.vehicles - i) }, async (_, j) => {
        const { vehicle, enrolment } = await platform.registry.registerVehicle(
          fleet.id,
          `bus-${i + j + 1}`,
        );
        const camera = await platform.registry.addCamera(fleet.id, vehicle.id, "front");
        const device = await enrolDevice(platform, enrolment.code);
        return { vehicleId: vehicle.id, cameraId: camera.id, token: device.token };
      }),
    ),
  );
}

if (setup.seed && vehicles.length > 0) {
  const { vehicleId, cameraId } = vehicles[0];
  const { segments, durationMs, fromMs } = setup.seed;
  const recordings = Math.max(1, setup.seed.recordings ?? 1);
  const holeMs = setup.seed.holeMs ?? 0;
  const perRecording = Math.ceil(segments / recordings);
  // A real init segment (playback reads it: encoding, slate for the holes); no media bytes.
  const init = (await makeCmaf({ seconds: 2 })).init;
  const sha256 = btoa(String.fromCharCode(...new Uint8Array(32)));
  for (let r = 0; r < recordings; r++) {
    const recordingId = recordings === 1
      ? setup.seed.recordingId
      : `${setup.seed.recordingId}-${r}`;
    const prefix = recordingPrefix(fleet.id, vehicleId, cameraId, recordingId);
    await platform.store.putIfAbsent(`${prefix}init.mp4`, ReadableStream.from([init]), {
      contentType: "video/mp4",
      sha256: await digestOf(init),
      size: init.byteLength,
      maxBytes: init.byteLength,
    });
    await platform.catalog.recordings.setInit(
      { fleetId: fleet.id, vehicleId, cameraId, recordingId },
      `${prefix}init.mp4`,
    );
    const firstOfRecording = r * perRecording;
    const count = Math.min(perRecording, segments - firstOfRecording);
    const startMs = fromMs + firstOfRecording * durationMs + r * holeMs;
    for (let first = 0; first < count; first += 1000) {
      const batch: SegmentRecord[] = [];
      for (let sequence = first; sequence < Math.min(count, first + 1000); sequence++) {
        batch.push({
          fleetId: fleet.id,
          vehicleId,
          cameraId,
          recordingId,
          sequence,
          startMs: startMs + sequence * durationMs,
          durationMs,
          size: 500_000,
          sha256,
          objectKey: `${prefix}${String(sequence).padStart(10, "0")}.m4s`,
        });
      }
      await platform.catalog.recordings.indexSegments(batch);
    }
  }
}

async function digestOf(bytes: Uint8Array): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  return btoa(String.fromCharCode(...hash));
}

let indexed = 0;
let lastAt = 0;
const indexedAt = new Map<string, number>();
const invalidate = platform.indexer.onIndexed;
platform.indexer.onIndexed = (events) => {
  invalidate?.(events);
  const at = now();
  for (const event of events) {
    if (event.type !== "segment.stored") continue;
    indexed++;
    const key = `${event.recordingId}/${event.sequence}`;
    if (!indexedAt.has(key)) indexedAt.set(key, at);
  }
  lastAt = at;
};

async function catalogSegments(): Promise<number> {
  let total = 0;
  for (const { cameraId } of vehicles) {
    for (const recording of await platform.catalog.recordings.list(fleet.id, cameraId)) {
      total += recording.segmentCount;
    }
  }
  return total;
}

const { accessToken: ownerToken } = await platform.login(OWNER.email, OWNER.password);
const handler: Deno.ServeHandler<Deno.NetAddr> = async (request, info) => {
  const url = request.url;
  if (url.startsWith("/bench/", url.indexOf("/", 8))) {
    const path = url.slice(url.indexOf("/", 8));
    if (path === "/bench/indexed") return Response.json({ segments: indexed, lastAt });
    if (path === "/bench/indexed-log") return Response.json(Object.fromEntries(indexedAt));
    if (path === "/bench/catalog") return Response.json({ segments: await catalogSegments() });
    return new Response("no such bench counter", { status: 404 });
  }
  const drop = request.headers.get(INVALIDATE_HEADER);
  if (drop) platform.playback.cache.invalidate(drop);
  return platform.app.fetch(request, info);
};
const config = parseConfig({ MAX_CONNECTIONS: "4096", MAX_CONNECTIONS_PER_IP: "4096" });
const ingestWorkers = setup.ingestWorkers ?? 1;
const limits = shareLimits(connectionLimits(config, MAX_MESSAGE_BYTES), ingestWorkers);
const server = Deno.env.get("BENCH_GATE") === "off"
  ? Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, handler)
  : await serveGated({
    hostname: "127.0.0.1",
    port,
    reusePort: ingestWorkers > 1,
    limits,
    logger: createLogger("warn"),
  }, handler);
// INGEST_WORKERS as main.ts starts them: threads on the same port, relaying events to this bus.
const workers = ingestWorkers > 1
  ? await IngestWorkers.start({
    count: ingestWorkers - 1,
    entry: new URL("../../ingest_worker.ts", import.meta.url),
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
    handler,
    logger: createLogger("warn"),
  })
  : undefined;

let stopping: Promise<void> | undefined;
const stop = () => {
  stopping ??= (async () => {
    await workers?.close();
    await Promise.race([server.shutdown(), new Promise((r) => setTimeout(r, 10_000))]);
    await platform[Symbol.asyncDispose]();
    Deno.exit(0);
  })();
  return stopping;
};
Deno.addSignalListener("SIGTERM", () => void stop());
Deno.unrefTimer(setTimeout(() => void stop(), MAX_LIFETIME_MS));

const ready: BenchServerInfo = {
  url: `http://127.0.0.1:${port}`,
  fleetId: fleet.id,
  vehicles,
  ownerToken,
  setupMs: performance.now() - started,
};
await Deno.stdout.write(new TextEncoder().encode(JSON.stringify(ready) + "\n"));
for await (const _ of Deno.stdin.readable) { /* the parent holds stdin open while it needs us */ }
await stop();
