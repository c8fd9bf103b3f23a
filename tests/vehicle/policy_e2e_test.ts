/**
 * Upload policy and recall end to end: the real server, the agent as a child process, real
 * ffmpeg test-pattern cameras. The policy is changed through the API while the vehicle runs.
 */
import assert from "node:assert/strict";
import { apiCall } from "../support/fleet_api.ts";
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
