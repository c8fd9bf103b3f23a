/**
 * The recording agent end to end: the real server, the agent as a child process under `deno run`
 * with a vehicle's narrow permissions, real ffmpeg test-pattern cameras.
 */
import assert from "node:assert/strict";
import { createLogger } from "../../lib/log/mod.ts";
import { Agent } from "../../vehicle/agent.ts";
import { loadAgentConfig } from "../../vehicle/config.ts";
import { startServer } from "../support/server.ts";
import {
  type AgentProcess,
  eventually,
  makeTestVehicle,
  readQueue,
  recordingsOnServer,
  removeTestVehicle,
  startAgent,
  storedOnServer,
  type TestVehicle,
} from "./agent_harness.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Asserts every recording the server holds for `camera` is complete: init, 0..n-1, closed. */
async function assertComplete(
  serverUrl: string,
  dataDir: string,
  vehicle: TestVehicle,
  camera: string,
): Promise<Map<string, { init: boolean; sequences: number[] }>> {
  const stored = await storedOnServer(dataDir, vehicle.vehicle, camera);
  for (const [id, { init, sequences }] of stored) {
    assert.ok(init, `${camera}/${id}: init stored`);
    assert.deepEqual(sequences, range(sequences.length), `${camera}/${id}: no hole`);
  }
  await eventually(`${camera}: recordings indexed and closed`, async () => {
    const listed = await recordingsOnServer(serverUrl, vehicle.vehicle, camera);
    return listed.length === stored.size &&
      listed.every((r) =>
        r.closedAt !== null && r.segmentCount === stored.get(r.id)?.sequences.length
      );
  }, 10_000);
  return stored;
}

function uploads(agent: AgentProcess) {
  return agent.records.filter((r) => r.msg === "uploaded");
}

function errorsOf(agent: AgentProcess) {
  return agent.records.filter((r) => r.level === "error");
}

Deno.test("agent records two cameras and the server receives every segment once", async () => {
  await using server = await startServer();
  const vehicle = await makeTestVehicle(server.url, ["front", "rear"], { stopDrainSeconds: 20 });
  try {
    const agent = startAgent(vehicle);
    await agent.waitForLog((r) => r.msg === "agent started");
    await sleep(10_000);
    const status = await agent.stop("SIGTERM");
    assert.equal(status.code, 0, agent.lines.slice(-20).join("\n"));
    assert.deepEqual(errorsOf(agent), []);

    for (const camera of ["front", "rear"]) {
      const stored = await assertComplete(server.url, server.dataDir, vehicle, camera);
      assert.equal(stored.size, 1, `${camera}: one recording`);
      const [{ sequences }] = [...stored.values()];
      assert.ok(sequences.length >= 4, `${camera}: ${sequences.length} segments in 10 s`);
    }
    assert.deepEqual(uploads(agent).filter((r) => r.status === 200), [], "each segment sent once");
    const queue = await readQueue(vehicle.spoolDir);
    assert.ok([...queue.values()].every((recordings) => recordings.size === 0), "spool drained");

    const response = await fetch(
      `${server.url}/api/v1/fleets/${vehicle.vehicle.fleetId}/vehicles/${vehicle.vehicle.vehicleId}/status`,
      { headers: { authorization: `Bearer ${vehicle.vehicle.ownerToken}` } },
    );
    const { heartbeat } = await response.json();
    assert.equal(heartbeat.clock.state, "ok");
    assert.deepEqual(heartbeat.cameras.map((c: { camera: string }) => c.camera).sort(), [
      "front",
      "rear",
    ]);
    for (const camera of heartbeat.cameras) {
      assert.equal(camera.capturing, false, "the last heartbeat is sent after stopping");
      assert.equal(camera.queueDepth, 0);
      assert.equal(camera.evictedSegments, 0);
      assert.ok(camera.lastUploadAt, "last upload reported");
    }
  } finally {
    await removeTestVehicle(vehicle);
  }
});

Deno.test("agent SIGKILLed during a server outage loses nothing and drains when the server returns", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "motorcade-server-" });
  let server = await startServer({ DATA_DIR: dataDir });
  const port = new URL(server.url).port;
  const vehicle = await makeTestVehicle(server.url, ["front", "rear"], {
    stopDrainSeconds: 30,
    retryMaxSeconds: 2,
  });
  const agents: AgentProcess[] = [];
  try {
    const first = startAgent(vehicle);
    agents.push(first);
    await first.waitForLog((r) => r.msg === "uploaded" && r.file === "0000000000.m4s");
    const killed = first.records.filter((r) => r.msg === "recording started").map((r) =>
      String(r.recordingId)
    );
    assert.equal(killed.length, 2);

    // The server goes away for ~10 s; the agent keeps recording into its queue.
    await server.stop();
    const outageStart = Date.now();
    await sleep(5_000);
    const queued = await readQueue(vehicle.spoolDir);
    for (const camera of ["front", "rear"]) {
      const waiting = [...queued.get(camera)!.values()].flatMap((r) => r.sequences);
      assert.ok(waiting.length >= 1, `${camera}: segments wait in the queue (${waiting})`);
    }

    // Power cut for the agent (ffmpeg, orphaned, carries on until the restart stops it).
    await first.stop("SIGKILL");
    const second = startAgent(vehicle);
    agents.push(second);
    await second.waitForLog((r) => r.msg === "agent started");
    const recovered = second.records.filter((r) => r.msg === "recording recovered");
    assert.deepEqual(recovered.map((r) => r.recordingId).sort(), [...killed].sort());
    const afterRecovery = await readQueue(vehicle.spoolDir);
    for (const camera of ["front", "rear"]) {
      const id = killed.find((k) => afterRecovery.get(camera)?.has(k))!;
      const { sequences, end } = afterRecovery.get(camera)!.get(id)!;
      assert.ok(end, `${camera}: the killed recording is ended`);
      const from = sequences[0];
      assert.deepEqual(
        sequences,
        range(sequences.length).map((i) => from + i),
        `${camera}: contiguous`,
      );
    }
    // The orphaned ffmpeg stops at its next segment: its folder is gone.
    await eventually("orphaned ffmpeg to exit", async () => {
      const output = await new Deno.Command("pgrep", { args: ["-f", killed[0]], stdout: "piped" })
        .output();
      return !output.success;
    }, 10_000);

    await sleep(Math.max(0, 10_000 - (Date.now() - outageStart)));
    server = await startServer({ DATA_DIR: dataDir, PORT: port });
    await eventually("queue to drain", async () => {
      const queue = await readQueue(vehicle.spoolDir);
      return [...queue.values()].every((recordings) =>
        [...recordings.values()].every((r) => r.sequences.length === 0 && !r.init)
      );
    }, 60_000);
    const status = await second.stop("SIGTERM");
    assert.equal(status.code, 0);

    for (const camera of ["front", "rear"]) {
      const stored = await assertComplete(server.url, dataDir, vehicle, camera);
      assert.equal(stored.size, 2, `${camera}: the killed recording and the one after`);
      const id = killed.find((k) => stored.has(k))!;
      assert.ok(stored.get(id)!.sequences.length >= 3, `${camera}: recorded through the outage`);
    }
    for (const agent of agents) {
      assert.deepEqual(uploads(agent).filter((r) => r.status === 200), [], "nothing sent twice");
    }
    assert.deepEqual(errorsOf(second), []);
  } finally {
    for (const agent of agents) await agent.stop("SIGKILL");
    await server.stop();
    await removeTestVehicle(vehicle);
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("a wall-clock jump ends the recordings and starts new ones", async () => {
  await using server = await startServer();
  const vehicle = await makeTestVehicle(server.url, ["front"], { heartbeatSeconds: 1 });
  try {
    const config = await loadAgentConfig(vehicle.configPath, {}, vehicle.stateDir);
    let offsetMs = 0;
    const clocks = { wall: () => Date.now() + offsetMs, monotonic: () => performance.now() };
    const records: Array<Record<string, unknown>> = [];
    const agent = new Agent({
      config,
      logger: createLogger("debug", (r) => records.push(r)),
      clocks,
    });
    await agent.start();
    try {
      await eventually(
        "a first segment upload",
        () => records.some((r) => r.msg === "uploaded" && r.file === "0000000000.m4s"),
      );
      offsetMs = -30_000; // the vehicle's clock is stepped back half a minute
      await eventually(
        "the jump to be seen",
        () => records.some((r) => r.msg === "wall clock jumped; starting new recordings"),
      );
      const jump = records.find((r) => r.msg === "wall clock jumped; starting new recordings")!;
      assert.ok(Math.abs(Number(jump.deltaMs) + 30_000) < 1_000, `delta ${jump.deltaMs}`);
      await eventually("a heartbeat saying so", async () => {
        const response = await fetch(
          `${server.url}/api/v1/fleets/${vehicle.vehicle.fleetId}/vehicles/${vehicle.vehicle.vehicleId}/status`,
          { headers: { authorization: `Bearer ${vehicle.vehicle.ownerToken}` } },
        );
        const { heartbeat } = await response.json();
        return heartbeat?.clock.jumps === 1 && heartbeat.clock.lastJumpAt !== null;
      }, 10_000);
      await eventually(
        "the new recording's first upload",
        () =>
          records.filter((r) => r.msg === "uploaded" && r.file === "0000000000.m4s").length === 2,
        15_000,
      );
    } finally {
      await agent.close();
      await agent.close();
    }
    const started = records.filter((r) => r.msg === "recording started").map((r) =>
      String(r.recordingId)
    );
    assert.equal(started.length, 2);
    const stamp = (id: string) => id.slice(1, 17);
    assert.ok(stamp(started[1]) < stamp(started[0]), "the new recording is named by the new clock");
    const stored = await assertComplete(server.url, server.dataDir, vehicle, "front");
    assert.deepEqual([...stored.keys()].sort(), [...started].sort());
    assert.ok(agent.report().clock.state === "ok", "the jump was delivered in a heartbeat");
    assert.equal(agent.report().clock.jumps, 1);
  } finally {
    await removeTestVehicle(vehicle);
  }
});
