/**
 * H.264 passthrough end to end: the real agent (narrow permissions) records an RTSP IP camera
 * (gst-rtsp-server) without re-encoding, and the real server accepts, stores and indexes what it
 * cut: samples byte-identical to the camera's, on the wall clock.
 */
import assert from "node:assert/strict";
import { FsObjectStore } from "../../lib/storage/mod.ts";
import { startServer } from "../support/server.ts";
import { makeCameraFile, startRtspCamera } from "../support/rtsp_camera.ts";
import {
  eventually,
  makeTestVehicle,
  recordingsOnServer,
  removeTestVehicle,
  startAgent,
  storedOnServer,
} from "./agent_harness.ts";

/** The MD5 of every packet's data, in order. */
async function packetHashes(path: string): Promise<string[]> {
  const output = await new Deno.Command("ffmpeg", {
    args: ["-v", "error", "-i", path, "-map", "0:v:0", "-c", "copy", "-f", "framemd5", "-"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  return new TextDecoder().decode(output.stdout).split("\n")
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => line.split(",").at(-1)!.trim());
}

Deno.test({
  name: "agent passes an RTSP camera's H.264 through and the server stores it untouched",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "agent-passthrough-" });
    await using server = await startServer();
    try {
      await makeCameraFile(`${dir}/cam.mp4`, { seconds: 40, size: "640x360", gopSeconds: 1 });
      await using rtsp = await startRtspCamera(`${dir}/cam.mp4`);
      const vehicle = await makeTestVehicle(server.url, ["front"], {
        cameras: [{ name: "front", source: rtsp.url }],
      });
      try {
        const agent = startAgent(vehicle);
        const started = await agent.waitForLog((r) => r.msg === "recording started");
        assert.equal(started.passthrough, true, "probed as H.264");
        await eventually("four segments stored", async () => {
          const stored = await storedOnServer(server.dataDir, vehicle.vehicle, "front");
          return [...stored.values()].some((r) => r.sequences.length >= 4);
        }, 40_000);
        const status = await agent.stop("SIGTERM");
        assert.equal(status.code, 0, agent.lines.slice(-20).join("\n"));
        assert.deepEqual(agent.records.filter((r) => r.level === "error"), []);

        const stored = await storedOnServer(server.dataDir, vehicle.vehicle, "front");
        assert.equal(stored.size, 1, "one recording");
        const [[recordingId, { init, sequences }]] = [...stored];
        assert.ok(init);
        assert.deepEqual(sequences, sequences.map((_, i) => i), "no hole");
        const store = new FsObjectStore(`${server.dataDir}/objects`);
        const folder = `fleets/${vehicle.vehicle.fleetId}/vehicles/${vehicle.vehicle.vehicleId}` +
          `/cameras/${vehicle.vehicle.cameras.front}/${recordingId}`;
        const object = async (name: string) =>
          new Uint8Array(await new Response((await store.read(`${folder}/${name}`))!.body).bytes());
        const parts = [await object("init.mp4")];
        for (const sequence of sequences) {
          parts.push(await object(`${String(sequence).padStart(10, "0")}.m4s`));
        }
        await Deno.writeFile(`${dir}/stored.mp4`, new Uint8Array(parts.flatMap((p) => [...p])));
        const recorded = await packetHashes(`${dir}/stored.mp4`);
        const source = await packetHashes(`${dir}/cam.mp4`);
        const at = source.indexOf(recorded[0]);
        assert.ok(at >= 0, "the stored recording starts with one of the camera's packets");
        assert.deepEqual(recorded, source.slice(at, at + recorded.length));

        let listed: Awaited<ReturnType<typeof recordingsOnServer>> = [];
        await eventually("the recording indexed and closed", async () => {
          listed = await recordingsOnServer(server.url, vehicle.vehicle, "front");
          return listed.length === 1 && listed[0].closedAt !== null &&
            listed[0].segmentCount === sequences.length;
        }, 10_000);
        const startedAt = Date.parse((listed[0] as unknown as { startedAt: string }).startedAt);
        const offset = startedAt - rtsp.plays.at(-1)!;
        assert.ok(
          Math.abs(offset) < 600,
          `recording starts ${offset} ms from the camera's first frame`,
        );
      } finally {
        await removeTestVehicle(vehicle);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
