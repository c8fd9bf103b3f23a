import assert from "node:assert/strict";
import {
  liveServerEnv,
  requireLiveNamespace,
  SignalingClient,
  startLiveVehicle,
} from "../support/live.ts";
import { WebrtcViewer } from "../support/webrtc_viewer.ts";

Deno.test({
  name: "live: a watch that arrives as the last viewer's grace period ends gets a new stream",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    requireLiveNamespace();
    await using live = await startLiveVehicle({ env: liveServerEnv({ graceSeconds: 1 }) });
    const { server, vehicle: v, agent } = live;
    const client = await SignalingClient.connect(server.url, v.ownerToken);
    const target = { fleetId: v.fleetId, vehicleId: v.vehicleId, cameraId: v.cameras.front };
    const play = async (id: string) => {
      const viewer = new WebrtcViewer();
      try {
        client.send({ type: "watch", id, ...target });
        const answer = await client.next(
          (m) => (m.type === "offer" || m.type === "error") && m.id === id,
          20_000,
        );
        assert.equal(answer.type, "offer", JSON.stringify(answer));
        client.send({ type: "answer", id, sdp: await viewer.answer(String(answer.sdp)) });
        await viewer.waitFor((c) => c.keyframes >= 1 && c.frames >= 5, 30_000);
      } finally {
        client.send({ type: "bye", id });
        await viewer.close();
      }
    };
    try {
      for (let round = 1; round <= 3; round++) {
        await play(`w${round}`);
        // The grace period ends: the server asks the vehicle to stop, then takes the stream's
        // mountpoints down. The next watch goes out the moment the vehicle says it stopped.
        const deadline = Date.now() + 15_000;
        const stopped = () => agent.logs.filter((l) => l.includes('"stopped publishing"')).length;
        while (stopped() < round) {
          assert.ok(Date.now() < deadline, agent.logs.slice(-20).join("\n"));
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
      }
      await play("last");
      assert.ok(!server.logs.some((l) => l.includes("No such mountpoint")));
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
