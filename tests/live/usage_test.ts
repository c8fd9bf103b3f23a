/**
 * Live data usage: while a camera's live stream has a publisher, the server reads the bytes Janus
 * received from it (Admin API `handle_info`) every few seconds and once at the end, and counts
 * them as the vehicle's usage of kind "live": as much as the vehicle's publisher says it sent,
 * and nothing for a camera nobody watched.
 */
import assert from "node:assert/strict";
import {
  liveServerEnv,
  requireLiveNamespace,
  SignalingClient,
  startLiveVehicle,
} from "../support/live.ts";
import { WebrtcViewer } from "../support/webrtc_viewer.ts";

interface Usage {
  cameras: Array<{ cameraId: string; bytes: Record<string, number> }>;
  bytes: Record<string, number>;
}

Deno.test({
  name: "live usage counts what the publisher sent of a watched camera, and 0 of an unwatched one",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    requireLiveNamespace();
    await using live = await startLiveVehicle({
      env: { ...liveServerEnv({ graceSeconds: 1 }), LIVE_USAGE_INTERVAL: "3s" },
      cameras: ["front", "rear"],
    });
    const { server, vehicle: v, agent } = live;
    const usageUrl = `${server.url}/api/v1/fleets/${v.fleetId}/vehicles/${v.vehicleId}/usage`;
    const usage = async (): Promise<Usage> => {
      const response = await fetch(usageUrl, {
        headers: { authorization: `Bearer ${v.ownerToken}` },
      });
      assert.equal(response.status, 200);
      return await response.json();
    };
    const liveBytes = (report: Usage, cameraId: string) =>
      report.cameras.find((c) => c.cameraId === cameraId)?.bytes.live ?? 0;
    const client = await SignalingClient.connect(server.url, v.ownerToken);
    const viewer = new WebrtcViewer();
    try {
      client.send({
        type: "watch",
        id: "w1",
        fleetId: v.fleetId,
        vehicleId: v.vehicleId,
        cameraId: v.cameras.front,
      });
      const offer = await client.next((m) => m.type === "offer" && m.id === "w1");
      client.send({ type: "answer", id: "w1", sdp: await viewer.answer(String(offer.sdp)) });
      await viewer.waitFor((c) => c.keyframes >= 1 && c.frames >= 10, 30_000);
      await new Promise((resolve) => setTimeout(resolve, 8_000));
      // While watched, the periodic reads count it already.
      const during = liveBytes(await usage(), v.cameras.front);
      assert.ok(during > 0, "live bytes counted while the camera is watched");

      client.send({ type: "bye", id: "w1" });
      await client.next((m) => m.type === "ended" && m.id === "w1");
      // After the grace period the vehicle stops publishing and says what it sent.
      const deadline = Date.now() + 20_000;
      let closed: string | undefined;
      while (!(closed = agent.logs.find((l) => l.includes('"live publisher closed"')))) {
        assert.ok(Date.now() < deadline, agent.logs.slice(-20).join("\n"));
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const sent = Number(JSON.parse(closed).rtpBytes);
      assert.ok(sent > 100_000, `the vehicle sent ${sent} bytes in ~8 s at 300 kbit/s`);
      // The server's last read happens before it lets the publisher go: the report is final.
      const report = await usage();
      const counted = liveBytes(report, v.cameras.front);
      console.log(
        `live usage: server counted ${counted} B, vehicle sent ${sent} B of RTP ` +
          `(${(counted / sent).toFixed(3)}x)`,
      );
      assert.ok(
        Math.abs(counted - sent) <= sent * 0.15,
        `counted ${counted} B, the vehicle sent ${sent} B`,
      );
      assert.ok(counted > during, "the last read added what came after the periodic one");
      assert.equal(liveBytes(report, v.cameras.rear), 0, "nobody watched the rear camera");
      assert.equal(report.bytes.live, counted);
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      assert.match(
        metrics,
        new RegExp(`motorcade_upload_bytes_total\\{kind="live"\\} ${counted}\\b`),
      );
    } catch (error) {
      console.log(
        "SERVER\n" + server.logs.filter((l) => !l.includes('"debug"')).slice(-30).join("\n"),
      );
      throw error;
    } finally {
      client.close();
      await viewer.close();
    }
  },
});
