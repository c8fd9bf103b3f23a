/**
 * Upload policy and recall end to end: the real server, the agent as a child process, real
 * ffmpeg test-pattern cameras. The policy is changed through the API while the vehicle runs.
 */
import assert from "node:assert/strict";
import { HEADER_BYTES } from "../../lib/storage/fs_header.ts";
import { apiCall } from "../support/fleet_api.ts";
import { startVehicleLink } from "../support/link.ts";
import { startServer } from "../support/server.ts";
import {
  eventually,
  makeTestVehicle,
  removeTestVehicle,
  startAgent,
  storedOnServer,
} from "./agent_harness.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Segments of `camera` the server stored, over all its recordings. */
async function storedSegments(dataDir: string, vehicle: Parameters<typeof storedOnServer>[1]) {
  let count = 0;
  for (const { sequences } of (await storedOnServer(dataDir, vehicle, "front")).values()) {
    count += sequences.length;
  }
  return count;
}

Deno.test("a policy change reaches a running vehicle, which then keeps its full quality and sends only what is recalled", async () => {
  await using server = await startServer();
  const vehicle = await makeTestVehicle(server.url, ["front"], {
    diskBudgetBytes: "1MiB",
    stopDrainSeconds: 5,
  });
  const { fleetId, vehicleId, cameras, ownerToken } = vehicle.vehicle;
  const base = `/api/v1/fleets/${fleetId}/vehicles/${vehicleId}`;
  try {
    await using agent = startAgent(vehicle);
    await agent.waitForLog((r) => r.msg === "uploaded" && r.file !== "init.mp4", 30_000);

    // Continuous until now; the operator switches the vehicle to on-request.
    const changedAt = Date.now();
    await apiCall(server.url, "PUT", `${base}/upload-policy`, ownerToken, { mode: "on-request" });
    const applied = await agent.waitForLog(
      (r) =>
        r.msg === "instructions applied" &&
        (r.cameras as Record<string, string>)?.front === "on-request",
      20_000,
    );
    const appliedMs = Date.parse(String(applied.time)) - changedAt;
    console.log(`policy change applied on the vehicle after ${appliedMs} ms`);

    // Nothing more is uploaded (beyond the segment being harvested): it stays in the ring.
    await sleep(5_000);
    const before = await storedSegments(server.dataDir, vehicle.vehicle);
    await sleep(6_000);
    assert.equal(await storedSegments(server.dataDir, vehicle.vehicle), before, "no new uploads");
    const ring = [...Deno.readDirSync(`${vehicle.spoolDir}/ring/front`)];
    assert.ok(ring.length > 0, "full quality kept in the ring");

    // A recall of 4 s the vehicle holds comes home, ahead of everything, and completes.
    const to = Date.now() - 3_000;
    const recall = await apiCall(
      server.url,
      "POST",
      `${base}/cameras/${cameras.front}/recalls`,
      ownerToken,
      {
        from: new Date(to - 4_000).toISOString(),
        to: new Date(to).toISOString(),
      },
    );
    let done:
      | { state: string; progress: { segmentsDone: number; missing: unknown[] } | null }
      | undefined;
    await eventually("the recall to complete", async () => {
      done = await apiCall(
        server.url,
        "GET",
        `/api/v1/fleets/${fleetId}/recalls/${recall.id}`,
        ownerToken,
      );
      return done!.state !== "queued" && done!.state !== "uploading";
    }, 30_000);
    assert.equal(done!.state, "complete", JSON.stringify(done));
    assert.ok(done!.progress!.segmentsDone >= 2, JSON.stringify(done!.progress));
    assert.deepEqual(done!.progress!.missing, []);
    assert.equal(
      await storedSegments(server.dataDir, vehicle.vehicle),
      before + done!.progress!.segmentsDone,
      "exactly the recalled segments were uploaded",
    );

    // The ring is 1 MiB: what was recorded right after the change, before the recalled range, is
    // soon evicted. A recall of it expires, and says what was lost.
    await eventually("the ring to evict the first on-request segments", async () => {
      const evicted = JSON.parse(
        await Deno.readTextFile(`${vehicle.spoolDir}/evicted.json`).catch(() => "{}"),
      );
      return (evicted["front/full"] ?? []).some(([, until]: number[]) => until > changedAt + 4_000);
    }, 90_000);
    const lost = await apiCall(
      server.url,
      "POST",
      `${base}/cameras/${cameras.front}/recalls`,
      ownerToken,
      {
        from: new Date(changedAt + 500).toISOString(),
        to: new Date(changedAt + 2_000).toISOString(),
      },
    );
    let gone:
      | { state: string; progress: { missing: Array<{ reason: string }> } | null }
      | undefined;
    await eventually("the evicted recall to end", async () => {
      gone = await apiCall(
        server.url,
        "GET",
        `/api/v1/fleets/${fleetId}/recalls/${lost.id}`,
        ownerToken,
      );
      return gone!.state !== "queued" && gone!.state !== "uploading";
    }, 30_000);
    assert.equal(gone!.state, "expired", JSON.stringify(gone));
    assert.deepEqual(gone!.progress!.missing.map((m) => m.reason), ["evicted"]);

    const status = await agent.stop("SIGTERM");
    assert.equal(status.code, 0, agent.lines.slice(-20).join("\n"));
    assert.deepEqual(agent.records.filter((r) => r.level === "error"), []);
  } finally {
    await removeTestVehicle(vehicle);
  }
});

/** Seconds of video in a stored segment: its frames (ffprobe reads init and it together) / fps. */
async function storedSegmentSeconds(dir: string, sequence: number): Promise<number> {
  const file = await Deno.makeTempFile({ suffix: ".mp4" });
  try {
    const init = await Deno.readFile(`${dir}/init.mp4`);
    const media = await Deno.readFile(`${dir}/${String(sequence).padStart(10, "0")}.m4s`);
    // Each stored file starts with the file store's header.
    await Deno.writeFile(
      file,
      new Uint8Array([...init.subarray(HEADER_BYTES), ...media.subarray(HEADER_BYTES)]),
    );
    const probe = await new Deno.Command("ffprobe", {
      args: [
        ...["-v", "error", "-count_packets", "-select_streams", "v:0"],
        ...["-show_entries", "stream=nb_read_packets,r_frame_rate", "-of", "json", file],
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const { streams } = JSON.parse(new TextDecoder().decode(probe.stdout));
    if (!probe.success || !streams?.length) {
      throw new Error(
        `ffprobe cannot read segment ${sequence}: ${new TextDecoder().decode(probe.stderr)}`,
      );
    }
    const [stream] = streams;
    const [num, den] = String(stream.r_frame_rate).split("/").map(Number);
    return Number(stream.nb_read_packets) / (num / den);
  } finally {
    await Deno.remove(file);
  }
}

Deno.test("the fleet's segment length reaches a running vehicle, whose next recording is cut to it", async () => {
  await using server = await startServer();
  const vehicle = await makeTestVehicle(server.url, ["front"], { stopDrainSeconds: 5 });
  const { fleetId, ownerToken } = vehicle.vehicle;
  try {
    await using agent = startAgent(vehicle);
    const first = await agent.waitForLog((r) => r.msg === "recording started", 30_000);
    assert.equal(first.segmentSeconds, 2, "the agent's own length until the fleet sets one");

    await apiCall(server.url, "PATCH", `/api/v1/fleets/${fleetId}`, ownerToken, {
      segmentSeconds: 1,
    });
    const next = await agent.waitForLog(
      (r) => r.msg === "recording started" && r.recordingId !== first.recordingId,
      30_000,
    );
    assert.equal(next.segmentSeconds, 1);
    const dir =
      `${server.dataDir}/objects/fleets/${fleetId}/vehicles/${vehicle.vehicle.vehicleId}` +
      `/cameras/${vehicle.vehicle.cameras.front}/${next.recordingId}`;
    await eventually("five 1 s segments to be stored", async () => {
      const stored = (await storedOnServer(server.dataDir, vehicle.vehicle, "front"))
        .get(String(next.recordingId));
      return (stored?.sequences.length ?? 0) >= 5 && stored!.init;
    }, 60_000);
    // The first segment ends at the first cut of the grid, so it may be shorter.
    const sequences = (await storedOnServer(server.dataDir, vehicle.vehicle, "front"))
      .get(String(next.recordingId))!.sequences.slice(1, 5);
    for (const sequence of sequences) {
      const seconds = await storedSegmentSeconds(dir, sequence);
      assert.ok(Math.abs(seconds - 1) < 0.15, `segment ${sequence}: ${seconds} s, not 1 s`);
    }
  } finally {
    await removeTestVehicle(vehicle);
  }
});

Deno.test("a brand-new vehicle that starts offline holds what it records until its instructions say whether to upload", async () => {
  await using server = await startServer();
  await using link = startVehicleLink(Number(new URL(server.url).port));
  /** A vehicle of its own fleet behind the link, with `mode` set before its agent ever ran. */
  const make = async (fleet: string, mode: string) => {
    const made = await makeTestVehicle(server.url, ["front"], {
      server: link.url,
      stopDrainSeconds: 5,
    }, { fleet });
    made.serverHost = link.host;
    await apiCall(
      server.url,
      "PUT",
      `/api/v1/fleets/${made.vehicle.fleetId}/upload-policy`,
      made.vehicle.ownerToken,
      { mode },
    );
    return made;
  };
  const onRequest = await make("Acme", "on-request");
  const continuous = await make("Globex", "continuous");
  const heldSegments = async (spoolDir: string) => {
    let segments = 0;
    try {
      for await (const recording of Deno.readDir(`${spoolDir}/ring/front`)) {
        for await (const file of Deno.readDir(`${spoolDir}/ring/front/${recording.name}`)) {
          if (file.name.endsWith(".m4s")) segments++;
        }
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    return segments;
  };
  try {
    // Both start with no saved instructions and no server: they record, and hold it all.
    link.cut();
    await using first = startAgent(onRequest);
    await using second = startAgent(continuous);
    await eventually(
      "three segments held on each vehicle",
      async () =>
        (await heldSegments(onRequest.spoolDir)) >= 3 &&
        (await heldSegments(continuous.spoolDir)) >= 3,
      60_000,
    );
    const held = await heldSegments(continuous.spoolDir);

    link.restore();
    await first.waitForLog((r) => r.msg === "instructions applied", 60_000);
    await second.waitForLog((r) => r.msg === "held segments queued", 60_000);
    // The continuous vehicle sends what it held; the on-request one keeps it.
    await eventually(
      "the continuous vehicle's held segments on the server",
      async () => await storedSegments(server.dataDir, continuous.vehicle) >= held,
      60_000,
    );
    await sleep(4_000);
    assert.equal(await storedSegments(server.dataDir, onRequest.vehicle), 0, "nothing uploaded");
    const stored = await storedOnServer(server.dataDir, onRequest.vehicle, "front");
    assert.deepEqual([...stored.values()].filter((r) => r.init), [], "not even an init");
    assert.ok(await heldSegments(onRequest.spoolDir) >= 3, "still held in the ring");
  } finally {
    await removeTestVehicle(onRequest);
    await removeTestVehicle(continuous);
  }
});
