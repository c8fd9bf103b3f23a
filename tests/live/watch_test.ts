import assert from "node:assert/strict";
import {
  liveServerEnv,
  requireLiveNamespace,
  SignalingClient,
  SMALL_VIDEO,
  startJanus,
  startLiveVehicle,
} from "../support/live.ts";
import { WebrtcViewer } from "../support/webrtc_viewer.ts";

Deno.test({
  name:
    "live: a viewer watches a vehicle that publishes on demand, which stops after the last viewer",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    requireLiveNamespace();
    await using live = await startLiveVehicle({ env: liveServerEnv({ graceSeconds: 2 }) });
    const { server, vehicle: v, agent } = live;
    const client = await SignalingClient.connect(server.url, v.ownerToken);
    const viewer = new WebrtcViewer();
    try {
      // Nobody watches yet: the vehicle does not publish.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      assert.ok(
        !agent.logs.some((l) => l.includes('"publishing"')),
        "no publishing before a viewer",
      );
      const watchedAt = performance.now();
      client.send({
        type: "watch",
        id: "w1",
        fleetId: v.fleetId,
        vehicleId: v.vehicleId,
        camera: "front",
      });
      const offer = await client.next((m) => m.type === "offer" && m.id === "w1");
      client.send({ type: "answer", id: "w1", sdp: await viewer.answer(String(offer.sdp)) });
      await viewer.waitFor((c) => c.keyframes >= 1 && c.frames >= 10, 30_000);
      console.log(
        `first keyframe ${Math.round(viewer.counters.firstKeyframeAt! - watchedAt)} ms after watch`,
      );
      assert.ok(
        agent.logs.some((l) => l.includes('"publishing"')),
        agent.logs.slice(-20).join("\n"),
      );

      client.send({ type: "bye", id: "w1" });
      await client.next((m) => m.type === "ended" && m.id === "w1");
      // After the grace period the vehicle is asked to stop.
      const deadline = Date.now() + 15_000;
      while (!agent.logs.some((l) => l.includes('"stopped publishing"'))) {
        assert.ok(Date.now() < deadline, agent.logs.slice(-20).join("\n"));
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    } catch (error) {
      console.log(
        "SERVER\n" + server.logs.filter((l) => !l.includes('"debug"')).slice(-40).join("\n"),
      );
      console.log("AGENT\n" + agent.logs.slice(-30).join("\n"));
      console.log("CLIENT\n" + JSON.stringify(client.messages));
      throw error;
    } finally {
      await viewer.close();
      client.close();
    }
  },
});

Deno.test({
  name: "live: a vehicle that simulcasts three sizes gives viewers three layers without the ladder",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    requireLiveNamespace();
    await using live = await startLiveVehicle({
      env: liveServerEnv({ ladder: "off" }),
      args: [...SMALL_VIDEO, "--live-layers", "3"],
    });
    const { server, vehicle: v, agent } = live;
    const client = await SignalingClient.connect(server.url, v.ownerToken);
    const viewer = new WebrtcViewer();
    try {
      // The vehicle announces its layers when its live link connects; a camera's layer count is
      // settled when it is first watched.
      while (!agent.logs.some((l) => l.includes('"live link ready"'))) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      client.send({
        type: "watch",
        id: "s",
        fleetId: v.fleetId,
        vehicleId: v.vehicleId,
        camera: "front",
        quality: "high",
      });
      const offer = await client.next((m) => m.type === "offer");
      assert.equal(offer.layers, 3);
      client.send({ type: "answer", id: "s", sdp: await viewer.answer(String(offer.sdp)) });
      // Generous: the vehicle encodes four streams (recording + three sizes) on a shared machine.
      await viewer.waitFor((c) => c.keyframes >= 1 && c.frames >= 10, 90_000);
      const high = viewer.counters.bytes;
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      const highRate = viewer.counters.bytes - high;

      client.send({ type: "quality", id: "s", quality: "low" });
      const layer = await client.next((m) => m.type === "layer");
      assert.equal(layer.layer, 0);
      await new Promise((resolve) => setTimeout(resolve, 1_500)); // the switch waits for a keyframe
      const low = viewer.counters.bytes;
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      const lowRate = viewer.counters.bytes - low;
      console.log(`bytes in 3 s: high layer ${highRate}, low layer ${lowRate}`);
      assert.ok(lowRate < highRate * 0.7, `low ${lowRate} vs high ${highRate}`);
      assert.ok(!server.logs.some((l) => l.includes("ladder ffmpeg")), "no transcoding");
    } catch (error) {
      console.log(agent.logs.slice(-15).join("\n"));
      console.log(server.logs.filter((l) => /"(warn|error)"/.test(l)).slice(-15).join("\n"));
      throw error;
    } finally {
      await viewer.close();
      client.close();
    }
  },
});

Deno.test({
  name: "live: the server can use an external Janus it does not run",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    requireLiveNamespace();
    await using janus = await startJanus();
    await using live = await startLiveVehicle({
      env: {
        JANUS_URL: janus.wsUrl,
        JANUS_ADMIN_URL: janus.adminUrl,
        JANUS_API_SECRET: janus.apiSecret,
        JANUS_ADMIN_SECRET: janus.adminSecret,
      },
    });
    const { server, vehicle: v } = live;
    const pgrep = await new Deno.Command("pgrep", { args: ["-x", "janus"], stdout: "piped" })
      .output();
    const janusProcesses = new TextDecoder().decode(pgrep.stdout).trim().split("\n");
    assert.deepEqual(
      janusProcesses,
      [String(janus.supervisor.pid)],
      "only the external Janus runs",
    );
    const client = await SignalingClient.connect(server.url, v.ownerToken);
    const viewer = new WebrtcViewer();
    try {
      client.send({
        type: "watch",
        id: "x",
        fleetId: v.fleetId,
        vehicleId: v.vehicleId,
        camera: "front",
      });
      const offer = await client.next((m) => m.type === "offer");
      client.send({ type: "answer", id: "x", sdp: await viewer.answer(String(offer.sdp)) });
      await viewer.waitFor((c) => c.keyframes >= 1 && c.frames >= 10, 30_000);
    } finally {
      await viewer.close();
      client.close();
    }
  },
});
