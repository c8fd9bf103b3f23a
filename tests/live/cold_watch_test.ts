import assert from "node:assert/strict";
import { requireLiveNamespace, startLiveVehicle } from "../support/live.ts";
import { WebrtcViewer } from "../support/webrtc_viewer.ts";

/** Waits (bounded) until `predicate` holds; fails naming `what`. */
async function until(what: string, predicate: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

Deno.test({
  name:
    "live: the first watch after a vehicle starts gets a keyframe from a warmed-up publisher's pre-roll",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    requireLiveNamespace();
    await using live = await startLiveVehicle();
    const { server, vehicle: v, agent } = live;
    const index = (text: string) => agent.logs.findIndex((line) => line.includes(text));
    // The agent loads WebRTC and makes a throwaway offer as soon as its live link is up.
    await until("the publisher's warm-up", () => index('"live publisher warm"') >= 0);
    assert.equal(index('"publishing"'), -1, "nobody asked the vehicle to publish yet");

    const response = await fetch(
      `${server.url}/api/v1/fleets/${v.fleetId}/vehicles/${v.vehicleId}/cameras/${v.cameras.front}/live-links`,
      {
        method: "POST",
        headers: { authorization: `Bearer ${v.ownerToken}`, "content-type": "application/json" },
        body: JSON.stringify({ ttlSeconds: 3600 }),
      },
    );
    const link = await response.json() as { whepUrl: string; token: string };
    const viewer = new WebrtcViewer();
    try {
      const answered = await fetch(link.whepUrl, {
        method: "POST",
        headers: { "content-type": "application/sdp", authorization: `Bearer ${link.token}` },
        body: await viewer.offer(),
      });
      assert.equal(answered.status, 201);
      await viewer.accept(await answered.text());
      await viewer.waitFor((c) => c.keyframes >= 1 && c.frames >= 1, 30_000);

      // Steps, in order: warm-up, offer, connection, the pre-roll from the keyframe it kept; one
      // encoder only (no second ffmpeg started for a fresh keyframe).
      const steps = [
        ['"live publisher warm"'],
        ['"publishing"'],
        ['"live publisher state"', '"state":"connected"'],
        ['"pre-roll sent"'],
      ];
      const at = steps.map((texts) =>
        agent.logs.findIndex((line) => texts.every((text) => line.includes(text)))
      );
      assert.ok(at.every((i) => i >= 0), `every step is logged: ${JSON.stringify(at)}`);
      assert.deepEqual([...at].sort((a, b) => a - b), at, "the steps come in order");
      const preRoll = JSON.parse(agent.logs[at[3]]) as { packets: number };
      assert.ok(preRoll.packets > 0, "the pre-roll held packets");
      assert.equal(agent.logs.filter((l) => l.includes('"live encoder started"')).length, 1);
    } catch (error) {
      console.log(agent.logs.filter((l) => !l.includes('"debug"')).slice(-25).join("\n"));
      throw error;
    } finally {
      await viewer.close();
    }
  },
});
