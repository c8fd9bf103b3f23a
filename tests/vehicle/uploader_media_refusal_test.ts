/**
 * A segment the server cannot play back (422) is a permanent refusal for the vehicle: it is
 * quarantined with the server's reason, and the rest of the recording still uploads.
 */
import assert from "node:assert/strict";
import { silentLogger } from "../../lib/log/mod.ts";
import { parseCapturePlaylist } from "../../vehicle/playlist.ts";
import { Spool } from "../../vehicle/spool.ts";
import { Uploader } from "../../vehicle/uploader.ts";
import { setUpVehicle } from "../support/fleet_api.ts";
import { startServer } from "../support/server.ts";
import { eventually } from "./agent_harness.ts";
import { playlistText, segmentName, writeSegments } from "./spool_fixture.ts";

Deno.test("uploader quarantines a segment the server refuses as unplayable (422) and uploads the rest", async () => {
  await using server = await startServer();
  const vehicle = await setUpVehicle(server.url, ["front"]);
  const dir = await Deno.makeTempDir({ prefix: "uploader-422-" });
  try {
    const spool = new Spool({
      dir,
      diskBudgetBytes: 1e9,
      quarantineBudgetBytes: 1e8,
      drainOrder: "oldest",
      segmentSeconds: 2,
      logger: silentLogger,
    });
    await spool.open();
    const harvest = await spool.begin("front", "rA");
    await writeSegments(harvest.dir, [0, 1]);
    // Segment 0 as a broken encoder might leave it: a valid first box, then garbage.
    const path = `${harvest.dir}/${segmentName(0)}`;
    const styp = (await Deno.readFile(path)).subarray(0, 24);
    const garbage = new Uint8Array(3000).map((_, i) => (i * 37 + 11) % 256);
    await Deno.writeFile(path, Uint8Array.from([...styp, ...garbage]));
    await spool.harvest(
      harvest,
      parseCapturePlaylist(playlistText([0, 1], { t0: Date.now() - 60_000 })),
    );

    const uploader = new Uploader({
      spool,
      tokens: vehicle.tokens!,
      serverUrl: server.url,
      vehicleId: vehicle.vehicleId,
      logger: silentLogger,
      concurrency: 1,
    });
    uploader.start();
    await eventually("the queue to empty", () => spool.size === 0, 15_000);
    await uploader.close();

    assert.equal(spool.stats("front").quarantined, 1);
    const { reason } = JSON.parse(
      await Deno.readTextFile(`${dir}/quarantine/front/rA/${segmentName(0)}.json`),
    );
    assert.match(reason, /^422: Cannot accept segment "0": cannot read box at byte 24/);
    assert.ok(uploader.lastUploadAt("front"), "init and segment 1 were stored");
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(vehicle.stateDir, { recursive: true });
  }
});
