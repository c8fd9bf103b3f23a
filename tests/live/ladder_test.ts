import assert from "node:assert/strict";
import dgram from "node:dgram";
import { deriveRungs, forwardSdp, Ladder } from "../../lib/live/ladder.ts";
import { silentLogger } from "../../lib/log/mod.ts";
import { apiCall } from "../support/fleet_api.ts";
import { liveServerEnv, SignalingClient, startLiveVehicle } from "../support/live.ts";
import { WebrtcViewer } from "../support/webrtc_viewer.ts";

/** A UDP port free on 127.0.0.1 now. */
async function freePort(): Promise<number> {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
  const port = socket.address().port;
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

Deno.test({
  name: "ladder encodes a 720p source into three layers of three distinct heights",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const rungs = deriveRungs(720);
    const dir = await Deno.makeTempDir({ prefix: "motorcade-ladder-" });
    const ports = await Promise.all(rungs.map(() => freePort()));
    // One ffprobe per layer, listening on its port before the ladder sends.
    const probes = await Promise.all(ports.map(async (port, i) => {
      const sdp = `${dir}/layer${i}.sdp`;
      await Deno.writeTextFile(sdp, forwardSdp(port));
      return new Deno.Command("ffprobe", {
        args: [
          ...["-v", "error", "-protocol_whitelist", "file,udp,rtp", "-i", sdp],
          ...["-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "json"],
        ],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    }));
    await new Promise((resolve) => setTimeout(resolve, 300)); // the probes bind their ports
    const ladder = Ladder.start(
      ["-re", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25"],
      { rungs, ports, fps: 25, ffmpeg: "ffmpeg", logger: silentLogger },
    );
    const timer = setTimeout(() => probes.forEach((p) => p.kill("SIGKILL")), 30_000);
    try {
      const sizes = [];
      for (const probe of probes) {
        const { stdout, stderr } = await probe.output();
        const text = new TextDecoder().decode(stdout);
        assert.ok(text.includes("height"), new TextDecoder().decode(stderr));
        const { width, height } = JSON.parse(text).streams[0];
        sizes.push({ width, height });
      }
      console.log(`layers: ${sizes.map((s) => `${s.width}x${s.height}`).join(", ")}`);
      assert.deepEqual(sizes.map((s) => s.height), [240, 540, 720]);
      assert.equal(new Set(sizes.map((s) => s.height)).size, 3);
    } finally {
      clearTimeout(timer);
      await ladder.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "live: a fleet's ladder applies to streams started after it is set, auto from the camera",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // The server's ladder is explicit (120/180/240); the vehicle's camera is 320x240.
    await using live = await startLiveVehicle({ env: liveServerEnv({ graceSeconds: 1 }) });
    const { server, vehicle: v, agent } = live;
    const client = await SignalingClient.connect(server.url, v.ownerToken);
    const watch = async (id: string) => {
      const viewer = new WebrtcViewer();
      try {
        client.send({
          type: "watch",
          id,
          fleetId: v.fleetId,
          vehicleId: v.vehicleId,
          cameraId: v.cameras.front,
        });
        const offer = await client.next((m) => m.type === "offer" && m.id === id, 20_000);
        client.send({ type: "answer", id, sdp: await viewer.answer(String(offer.sdp)) });
        await viewer.waitFor((c) => c.keyframes >= 1 && c.frames >= 5, 30_000);
        client.send({ type: "bye", id });
        await client.next((m) => m.type === "ended" && m.id === id);
        return offer.layerHeights;
      } finally {
        await viewer.close();
      }
    };
    /** Waits until the vehicle stopped publishing `times` times (its stream was released). */
    const released = async (times: number) => {
      const deadline = Date.now() + 15_000;
      while (agent.logs.filter((l) => l.includes('"stopped publishing"')).length < times) {
        assert.ok(Date.now() < deadline, agent.logs.slice(-20).join("\n"));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    try {
      assert.deepEqual(await watch("w1"), [120, 180, 240]);
      await released(1);
      await apiCall(server.url, "PATCH", `/api/v1/fleets/${v.fleetId}`, v.ownerToken, {
        liveLadder: "auto",
      });
      // Derived from the camera's 240 lines: half, the geometric mean, and its own height.
      assert.deepEqual(await watch("w2"), [120, 168, 240]);
      assert.ok(
        server.logs.some((l) =>
          l.includes('"ladder"') && l.includes("120:71000,168:120000,240:200000")
        ),
        server.logs.filter((l) => l.includes('"ladder"')).join("\n"),
      );
    } catch (error) {
      console.log(
        "SERVER\n" + server.logs.filter((l) => !l.includes('"debug"')).slice(-30).join("\n"),
      );
      throw error;
    } finally {
      client.close();
    }
  },
});
