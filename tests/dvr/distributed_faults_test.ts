/**
 * Faults of the distributed deployment (S3, Kafka, PostgreSQL, two ingest processes, an indexer,
 * an api process behind nginx) that must lose nothing while the real vehicle agent records: an
 * ingest process SIGKILLed mid-upload, the indexer SIGKILLed and restarted (its consumer group
 * rebalances), a poison message on the bus. After each, every sequence the vehicle uploaded is in
 * the catalog exactly once, the playlist plays (ffmpeg, ffprobe) and the vehicle's spool is empty.
 */
import assert from "node:assert/strict";
import { openBus, SEGMENTS_TOPIC } from "../../lib/bus/mod.ts";
import { parseBusUrl } from "../../lib/config/mod.ts";
import { silentLogger } from "../../lib/log/mod.ts";
import { startAgent, type TestAgent } from "../support/agent.ts";
import { type DistributedServer, startDistributed } from "../support/distributed.ts";
import { setUpVehicle, signedLinks, type VehicleOnServer } from "../support/fleet_api.ts";
import { filesUnder } from "../support/files.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface RecordingView {
  id: string;
  startedAt: string;
  endedAt: string;
  segmentCount: number;
  closedAt: string | null;
}

/** A deployment with a vehicle whose agent records `front` from a test pattern. */
async function recordingVehicle(d: DistributedServer) {
  const vehicle = await setUpVehicle(d.url);
  const spoolDir = await Deno.makeTempDir({ prefix: "motorcade-spool-" });
  const agent = startAgent({
    server: d.url,
    stateDir: vehicle.stateDir,
    spoolDir,
    cameras: { front: "testsrc" },
    args: ["--video-size", "320x180", "--bitrate", "300000"],
  });
  return {
    vehicle,
    spoolDir,
    agent,
    async [Symbol.asyncDispose]() {
      await agent.stop("SIGKILL").catch(() => {});
      await Deno.remove(spoolDir, { recursive: true }).catch(() => {});
      await Deno.remove(vehicle.stateDir, { recursive: true }).catch(() => {});
    },
  };
}

async function recordings(d: DistributedServer, vehicle: VehicleOnServer) {
  const path =
    `/api/v1/fleets/${vehicle.fleetId}/vehicles/${vehicle.vehicleId}/cameras/${vehicle.cameras.front}/recordings`;
  const response = await fetch(d.url + path, {
    headers: { authorization: `Bearer ${vehicle.ownerToken}` },
  });
  assert.equal(response.status, 200, path);
  return (await response.json()).recordings as RecordingView[];
}

/**
 * Stops the agent (SIGTERM: it drains its spool), waits until the catalog holds what it uploaded,
 * and checks the promise of the fault tests: each sequence once, the spool empty, a playable
 * playlist of the recorded length.
 */
async function assertNothingLost(
  d: DistributedServer,
  vehicle: VehicleOnServer,
  spoolDir: string,
  agent: TestAgent,
): Promise<void> {
  const status = await agent.stop("SIGTERM");
  assert.equal(status.code, 0, agent.logs.slice(-20).join("\n"));
  assert.deepEqual(
    (await filesUnder(`${spoolDir}/queue`)).filter((file) => file.endsWith(".m4s")),
    [],
    "the spool is empty",
  );
  assert.deepEqual(await filesUnder(`${spoolDir}/quarantine`), [], "nothing refused for good");
  // The end of the recording was uploaded: once the indexer has it, the recording is closed.
  let recording: RecordingView | undefined;
  for (let attempt = 0;; attempt++) {
    [recording] = await recordings(d, vehicle);
    if (recording?.closedAt) break;
    assert.ok(attempt < 240, `the recording was not closed: ${JSON.stringify(recording)}`);
    await sleep(500);
  }
  const links = await signedLinks(d.url, vehicle, "front", {
    from: new Date(recording.startedAt),
    to: new Date(recording.endedAt),
  });
  const playlist = await (await fetch(links.hls)).text();
  assert.doesNotMatch(playlist, /#EXT-X-GAP/, "no hole on the timeline");
  const sequences = [...playlist.matchAll(/\/(\d{10})\.m4s\?/g)].map((m) => Number(m[1]));
  assert.ok(sequences.length >= 5, `${sequences.length} segments`);
  assert.deepEqual(sequences, sequences.map((_, i) => i), "each sequence once, from 0");
  assert.equal(recording.segmentCount, sequences.length, "the catalog counts each once");
  const objects = await Array.fromAsync(d.objects().list(""));
  assert.equal(objects.filter((key) => key.endsWith(".m4s")).length, sequences.length);

  const out = await Deno.makeTempFile({ suffix: ".mp4" });
  try {
    const copy = await new Deno.Command("ffmpeg", {
      args: ["-v", "error", "-y", "-i", links.hls, "-c", "copy", out],
      stderr: "piped",
    }).output();
    assert.ok(copy.success, new TextDecoder().decode(copy.stderr));
    const probe = await new Deno.Command("ffprobe", {
      args: ["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", out],
      stdout: "piped",
    }).output();
    const duration = Number(new TextDecoder().decode(probe.stdout));
    const recorded = (Date.parse(recording.endedAt) - Date.parse(recording.startedAt)) / 1000;
    assert.ok(Math.abs(duration - recorded) <= 1, `played ${duration} s of ${recorded} s`);
  } finally {
    await Deno.remove(out).catch(() => {});
  }
}

/** Waits until the catalog has segments recorded after `since` (ms): indexing goes on. */
async function waitIndexedPast(d: DistributedServer, vehicle: VehicleOnServer, since: number) {
  for (let attempt = 0;; attempt++) {
    const [recording] = await recordings(d, vehicle);
    if (recording && Date.parse(recording.endedAt) >= since) return recording;
    assert.ok(attempt < 240, `indexing stalled: ${JSON.stringify(recording)}`);
    await sleep(500);
  }
}

Deno.test({
  name:
    "an ingest process SIGKILLed mid-upload: the other takes the uploads and nothing is lost or repeated",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using d = await startDistributed();
    await using v = await recordingVehicle(d);
    await sleep(6_000);
    await d.processes["ingest-1"].stop("SIGKILL");
    await sleep(6_000);
    // Uploads go on through the survivor alone, then through both again.
    await waitIndexedPast(d, v.vehicle, Date.now() - 3_000);
    assert.match(await d.nginxLog(), /upstream/, "nginx met the dead ingest process");
    await d.restart("ingest-1");
    await sleep(4_000);
    await assertNothingLost(d, v.vehicle, v.spoolDir, v.agent);
  },
});

Deno.test({
  name: "the indexer SIGKILLed and restarted: its group rebalances and indexes every sequence once",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using d = await startDistributed();
    await using v = await recordingVehicle(d);
    await sleep(6_000);
    await d.processes.indexer.stop("SIGKILL");
    const killedAt = Date.now();
    await sleep(6_000); // events pile up in Kafka, uncommitted past the last catalog write
    await d.restart("indexer");
    await waitIndexedPast(d, v.vehicle, killedAt + 3_000);
    await assertNothingLost(d, v.vehicle, v.spoolDir, v.agent);
  },
});

Deno.test({
  name: "a poison message on the bus goes to the dead letters, counted, and its partition goes on",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using d = await startDistributed();
    await using v = await recordingVehicle(d);
    await waitIndexedPast(d, v.vehicle, 0);
    // Keyed by the vehicle's camera: the same partition as its real events.
    const bus = openBus(parseBusUrl(d.env.BUS_URL, {}), silentLogger);
    try {
      await bus.publish(SEGMENTS_TOPIC, v.vehicle.cameras.front, {
        type: "segment.stored",
        cameraId: v.vehicle.cameras.front,
        recordingId: "poison",
        sequence: "not a number",
      });
    } finally {
      await bus.close();
    }
    const poisonedAt = Date.now();
    const deadLetters = async () => {
      const text = await (await fetch(`${d.processes.indexer.url}/metrics`)).text();
      const line = text.split("\n").find((l) =>
        l.startsWith("motorcade_bus_dead_letters_total") && l.includes(`"${SEGMENTS_TOPIC}"`)
      );
      return line ? Number(line.split(" ").at(-1)) : 0;
    };
    for (let attempt = 0; (await deadLetters()) < 1; attempt++) {
      assert.ok(attempt < 120, "the poison message was not dead-lettered");
      await sleep(500);
    }
    assert.equal(await deadLetters(), 1);
    // The partition is not blocked: segments recorded after the poison are indexed.
    await waitIndexedPast(d, v.vehicle, poisonedAt + 2_000);
    await assertNothingLost(d, v.vehicle, v.spoolDir, v.agent);
    assert.equal(await deadLetters(), 1, "only the poison");
  },
});
