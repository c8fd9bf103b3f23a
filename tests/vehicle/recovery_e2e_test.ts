/**
 * Prompt recovery end to end: the real agent records while the real server is stopped long enough
 * for its back-off to grow, and starts draining the backlog as soon as the server answers again
 * on the same port, not when the back-off would have ended.
 */
import assert from "node:assert/strict";
import { startServer } from "../support/server.ts";
import {
  eventually,
  makeTestVehicle,
  readQueue,
  removeTestVehicle,
  startAgent,
  storedOnServer,
} from "./agent_harness.ts";

const at = (record: Record<string, unknown>) => Date.parse(String(record.time));

/** The server's JSON log records. */
function serverRecords(logs: string[]): Array<Record<string, unknown>> {
  return logs.flatMap((line) => {
    try {
      return [JSON.parse(line)];
    } catch {
      return [];
    }
  });
}

Deno.test("agent drains its backlog as soon as the server answers after a long outage", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "motorcade-server-" });
  let server = await startServer({ DATA_DIR: dataDir });
  const port = new URL(server.url).port;
  // Heartbeats rarely: the probe is what sees the server back.
  const vehicle = await makeTestVehicle(server.url, ["front"], {
    heartbeatSeconds: 60,
    retryMaxSeconds: 60,
    stopDrainSeconds: 30,
  });
  const agent = startAgent(vehicle);
  try {
    await agent.waitForLog((r) => r.msg === "uploaded" && r.file === "0000000000.m4s");
    await server.stop();
    const down = Date.now();
    // At least 20 s down, and restarted while the gate still has a long wait to run.
    const long = await agent.waitForLog(
      (r) => r.msg === "backing off" && at(r) >= down + 20_000 && Number(r.delayMs) >= 20_000,
      120_000,
    );
    server = await startServer({ DATA_DIR: dataDir, PORT: port });
    const records = serverRecords(server.logs);
    const upAt = at(records.find((r) => r.msg === "listening")!);
    const gateEnd = Math.max(
      ...agent.records.filter((r) => r.msg === "backing off").map((r) => at(r) + Number(r.delayMs)),
    );

    await eventually(
      "a segment accepted after the return",
      () =>
        serverRecords(server.logs).some((r) =>
          r.msg === "request" && r.method === "PUT" && String(r.path).includes("/segments/") &&
          r.status === 201
        ),
      60_000,
    );
    const accepted = serverRecords(server.logs).find((r) =>
      r.msg === "request" && r.method === "PUT" && String(r.path).includes("/segments/") &&
      r.status === 201
    )!;
    const afterUp = at(accepted) - upAt;
    console.log(
      `outage ${
        ((upAt - down) / 1000).toFixed(1)
      } s; last back-off ${long.delayMs} ms at attempt ${long.attempt}; ` +
        `first segment accepted ${afterUp} ms after the server listened, ` +
        `${gateEnd - at(accepted)} ms before the back-off would have let it go (${
          gateEnd - upAt
        } ms)`,
    );
    const cut = agent.records.find((r) => r.msg === "server reachable again; retrying uploads now");
    assert.ok(cut, "the agent saw the server back");
    assert.ok(["probe", "heartbeat"].includes(String(cut.via)), String(cut.via));
    assert.ok(at(cut) >= upAt, "and not before it was");
    assert.ok(at(accepted) < gateEnd, "the backlog drained before the back-off would have ended");

    await eventually("the queue to drain", async () => {
      const queue = await readQueue(vehicle.spoolDir);
      return [...queue.values()].every((recordings) =>
        [...recordings.values()].every((r) => r.sequences.length === 0 && !r.init)
      );
    }, 60_000);
    const status = await agent.stop("SIGTERM");
    assert.equal(status.code, 0);
    const stored = await storedOnServer(dataDir, vehicle.vehicle, "front");
    for (const [id, { init, sequences }] of stored) {
      assert.ok(init, `${id}: init stored`);
      assert.deepEqual(sequences, sequences.map((_, i) => i), `${id}: no hole`);
    }
    assert.ok([...stored.values()].some((s) => s.sequences.length >= 15), "recorded through");
  } finally {
    await agent.stop("SIGKILL");
    await server.stop();
    await removeTestVehicle(vehicle);
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});
