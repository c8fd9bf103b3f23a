import assert from "node:assert/strict";
import {
  liveServerEnv,
  requireLiveNamespace,
  SignalingClient,
  startLiveVehicle,
} from "../support/live.ts";
import { WebrtcViewer } from "../support/webrtc_viewer.ts";

const SMALL = ["--video-size", "320x240", "--fps", "15", "--bitrate", "400k"];
/** The viewer's UDP ports: 46992–47007, one u32 match (port & 0xfff0). */
const VIEWER_PORTS: [number, number] = [46_992, 47_007];

async function tc(...args: string[]): Promise<void> {
  const out = await new Deno.Command("tc", { args, stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`tc ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** Limits what reaches the viewer's ports to `rate` with a short queue (no netem on this kernel). */
async function throttle(rate: string): Promise<void> {
  await tc(
    "class",
    "change",
    "dev",
    "lo",
    "parent",
    "1:",
    "classid",
    "1:20",
    "htb",
    "rate",
    rate,
    "ceil",
    rate,
    "burst",
    "4k",
  );
}

Deno.test({
  name:
    "live ABR: a viewer whose downlink is throttled steps down within seconds, and back up after",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    requireLiveNamespace();
    // Traffic to the viewer's ports goes through class 1:20; everything else is unlimited.
    await tc("qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb", "default", "10");
    await tc(
      "class",
      "add",
      "dev",
      "lo",
      "parent",
      "1:",
      "classid",
      "1:10",
      "htb",
      "rate",
      "10gbit",
    );
    await tc(
      "class",
      "add",
      "dev",
      "lo",
      "parent",
      "1:",
      "classid",
      "1:20",
      "htb",
      "rate",
      "1gbit",
    );
    await tc("qdisc", "add", "dev", "lo", "parent", "1:20", "handle", "20:", "pfifo", "limit", "8");
    await tc(
      "filter",
      "add",
      "dev",
      "lo",
      "parent",
      "1:",
      "protocol",
      "ip",
      "prio",
      "1",
      "u32",
      "match",
      "ip",
      "protocol",
      "17",
      "0xff",
      "match",
      "ip",
      "dport",
      String(VIEWER_PORTS[0]),
      "0xfff0",
      "flowid",
      "1:20",
    );
    await using live = await startLiveVehicle({
      env: liveServerEnv({ ladder: "120:100k,180:250k,240:700k" }),
      args: SMALL,
    });
    const { server, vehicle: v } = live;
    const client = await SignalingClient.connect(server.url, v.ownerToken);
    const viewer = new WebrtcViewer({ portRange: VIEWER_PORTS });
    const layerAtLeast = (n: number) => (m: Record<string, unknown>) =>
      m.type === "layer" && Number(m.layer) >= n;
    try {
      client.send({
        type: "watch",
        id: "abr",
        fleetId: v.fleetId,
        vehicleId: v.vehicleId,
        camera: "front",
      });
      const offer = await client.next((m) => m.type === "offer");
      assert.equal(offer.layers, 3);
      client.send({ type: "answer", id: "abr", sdp: await viewer.answer(String(offer.sdp)) });
      await viewer.waitFor((c) => c.keyframes > 0, 30_000);
      // A clean link: the controller climbs to the top layer.
      await client.next(layerAtLeast(2), 40_000);

      await throttle("200kbit");
      const throttledAt = performance.now();
      const down = await client.next((m) => m.type === "layer" && Number(m.layer) < 2, 20_000);
      const stepDownMs = performance.now() - throttledAt;
      console.log(
        `stepped down to ${down.layer} after ${Math.round(stepDownMs)} ms (${down.reason})`,
      );

      await throttle("1gbit");
      const freedAt = performance.now();
      await client.next(layerAtLeast(2), 90_000);
      console.log(
        `back to the top layer ${Math.round(performance.now() - freedAt)} ms after recovery`,
      );
    } catch (error) {
      console.log(JSON.stringify(client.messages).slice(0, 2000));
      throw error;
    } finally {
      await viewer.close();
      client.close();
      await tc("qdisc", "del", "dev", "lo", "root").catch(() => {});
    }
  },
});
