/**
 * A fault that must lose nothing, with the object store on S3: the S3 server restarted while the
 * real vehicle agent records and uploads.
 */
import assert from "node:assert/strict";
import { startAgent } from "../support/agent.ts";
import { setUpVehicle, signedLinks } from "../support/fleet_api.ts";
import { startS3 } from "../support/s3.ts";
import { startServer } from "../support/server.ts";
import { filesUnder } from "../support/files.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test({
  name:
    "an S3 server restarted while the agent uploads: every sequence lands once, the spool drains, the playlist plays",
  sanitizeResources: false,
  async fn() {
    await using s3 = await startS3();
    await using server = await startServer(s3.env);
    const vehicle = await setUpVehicle(server.url);
    const spoolDir = await Deno.makeTempDir({ prefix: "motorcade-spool-" });
    const out = await Deno.makeTempFile({ suffix: ".mp4" });
    try {
      const agent = startAgent({
        server: server.url,
        stateDir: vehicle.stateDir,
        spoolDir,
        cameras: { front: "testsrc" },
      });
      await sleep(6_000);
      await s3.kill(); // uploads now get 503 with Retry-After; the agent keeps them spooled
      await sleep(6_000);
      await s3.restart();
      const backAt = Date.now();
      const cameraPath =
        `/api/v1/fleets/${vehicle.fleetId}/vehicles/${vehicle.vehicleId}/cameras/${vehicle.cameras.front}`;
      const recordings = async () =>
        (await (await fetch(`${server.url}${cameraPath}/recordings`, {
          headers: { authorization: `Bearer ${vehicle.ownerToken}` },
        })).json()).recordings as Array<
          { startedAt: string; endedAt: string; segmentCount: number }
        >;
      // The backlog drains: the recording reaches the time S3 came back.
      for (let attempt = 0;; attempt++) {
        const [recording] = await recordings();
        if (recording && Date.parse(recording.endedAt) >= backAt - 2_000) break;
        assert.ok(attempt < 120, `the backlog did not drain: ${JSON.stringify(recording)}`);
        await sleep(500);
      }
      const status = await agent.stop("SIGTERM");
      assert.equal(status.code, 0, agent.logs.slice(-20).join("\n"));
      assert.ok(
        agent.logs.some((line) => /503/.test(line)),
        "the agent met the outage (503)",
      );
      assert.deepEqual(
        (await filesUnder(`${spoolDir}/queue`)).filter((file) => file.endsWith(".m4s")),
        [],
        "the spool is empty",
      );
      assert.deepEqual(await filesUnder(`${spoolDir}/quarantine`), [], "nothing refused for good");

      await sleep(500); // the last events reach the catalog
      const [recording] = await recordings();
      const links = await signedLinks(server.url, vehicle, "front", {
        from: new Date(recording.startedAt),
        to: new Date(recording.endedAt),
      });
      const playlist = await (await fetch(links.hls)).text();
      assert.doesNotMatch(playlist, /#EXT-X-GAP/, "no hole on the timeline");
      const sequences = [...playlist.matchAll(/\/(\d{10})\.m4s\?/g)].map((m) => Number(m[1]));
      assert.deepEqual(sequences, sequences.map((_, i) => i), "each sequence once, from 0");
      assert.equal(recording.segmentCount, sequences.length);
      const objects = await Array.fromAsync(s3.store().list(""));
      assert.equal(objects.filter((key) => key.endsWith(".m4s")).length, sequences.length);

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
      await Deno.remove(spoolDir, { recursive: true });
      await Deno.remove(vehicle.stateDir, { recursive: true });
    }
  },
});
