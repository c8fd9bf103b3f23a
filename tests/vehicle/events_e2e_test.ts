/**
 * An event end to end (issue 12): the real server, the agent as a child process with a real
 * ffmpeg test-pattern camera under `on-request`, and `vehicle event` run as its own process, as a
 * panic button would. The fleet's rule turns the event into a recall of its pre- and post-roll,
 * which the vehicle fulfils from its ring; its bytes count as `event` in data usage.
 */
import assert from "node:assert/strict";
import { apiCall } from "../support/fleet_api.ts";
import { startServer } from "../support/server.ts";
import {
  countFiles,
  eventually,
  makeTestVehicle,
  removeTestVehicle,
  startAgent,
} from "./agent_harness.ts";

const MAIN = new URL("../../vehicle/main.ts", import.meta.url).pathname;

Deno.test("a panic event with a fleet rule brings its pre- and post-roll home in full quality", async () => {
  await using server = await startServer();
  const vehicle = await makeTestVehicle(server.url, ["front"], { stopDrainSeconds: 5 });
  const { fleetId, vehicleId, cameras, ownerToken } = vehicle.vehicle;
  const fleet = `/api/v1/fleets/${fleetId}`;
  try {
    await apiCall(server.url, "PUT", `${fleet}/upload-policy`, ownerToken, { mode: "on-request" });
    await apiCall(server.url, "PUT", `${fleet}/event-rules`, ownerToken, {
      rules: [{ kind: "panic", preSeconds: 4, postSeconds: 2, cameras: ["front"] }],
    });
    await using agent = startAgent(vehicle);
    await agent.waitForLog((r) => r.msg === "instructions applied", 30_000);
    // Some seconds of footage in the ring before the button is pressed.
    await eventually(
      "6 s in the ring",
      async () => await countFiles(`${vehicle.spoolDir}/ring/front`, /^\d+\.m4s$/) >= 3,
      60_000,
    );

    const cli = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        `--allow-read=${vehicle.stateDir}`,
        `--allow-write=${vehicle.stateDir}`,
        MAIN,
        "event",
        "--kind",
        "panic",
        "--metadata",
        '{"button":"driver"}',
        "--state",
        vehicle.stateDir,
      ],
      env: { NO_COLOR: "1" },
      stdin: "null",
    }).output();
    const printed = new TextDecoder().decode(cli.stdout);
    assert.equal(cli.code, 0, new TextDecoder().decode(cli.stderr));
    const [, clientId, at] = printed.match(/queued: event (\S+) \(panic at (\S+)\)/)!;
    await agent.waitForLog((r) => r.msg === "event sent" && r.id === clientId, 15_000);

    const { events } = await apiCall(
      server.url,
      "GET",
      `${fleet}/vehicles/${vehicleId}/events?from=${at}&to=${new Date().toISOString()}`,
      ownerToken,
    );
    assert.equal(events.length, 1);
    const [event] = events;
    assert.deepEqual(
      [event.kind, event.at, event.source, event.clientId, event.metadata],
      ["panic", at, "vehicle", clientId, { button: "driver" }],
    );
    assert.equal(event.recalls.length, 1, JSON.stringify(event.recalls));
    assert.equal(event.recalls[0].cameraId, cameras.front);

    let recall:
      | {
        state: string;
        from: string;
        to: string;
        origin: string;
        progress: { segmentsDone: number; bytesDone: number; missing: unknown[] } | null;
      }
      | undefined;
    await eventually("the event's recall to finish", async () => {
      recall = await apiCall(
        server.url,
        "GET",
        `${fleet}/recalls/${event.recalls[0].recallId}`,
        ownerToken,
      );
      return recall!.state !== "queued" && recall!.state !== "uploading";
    }, 60_000);
    const atMs = Date.parse(at);
    assert.deepEqual(
      [recall!.state, recall!.origin, Date.parse(recall!.from), Date.parse(recall!.to)],
      ["complete", "event", atMs - 4_000, atMs + 2_000],
      JSON.stringify(recall),
    );
    assert.ok(recall!.progress!.segmentsDone >= 3, JSON.stringify(recall!.progress));

    const usage = await apiCall(
      server.url,
      "GET",
      `${fleet}/vehicles/${vehicleId}/usage`,
      ownerToken,
    );
    assert.ok(usage.bytes.event >= recall!.progress!.bytesDone, JSON.stringify(usage.bytes));
    assert.equal(usage.bytes.recall, 0, "an event's recall is not counted as an operator's");

    const status = await agent.stop("SIGTERM");
    assert.equal(status.code, 0, agent.lines.slice(-20).join("\n"));
    assert.deepEqual(agent.records.filter((r) => r.level === "error"), []);
  } finally {
    await removeTestVehicle(vehicle);
  }
});
