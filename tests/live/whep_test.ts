import assert from "node:assert/strict";
import { setUpVehicle } from "../support/fleet_api.ts";
import { liveServerEnv, requireLiveNamespace, startLiveVehicle } from "../support/live.ts";
import { startServer } from "../support/server.ts";
import { WebrtcViewer } from "../support/webrtc_viewer.ts";

function whep(url: string, token: string | null, body: string, type = "application/sdp") {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": type, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body,
  });
}

Deno.test({
  name: "live: a WHEP client watches with a live link token; bad tokens and offers are refused",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    requireLiveNamespace();
    await using live = await startLiveVehicle({ cameras: ["front", "rear"] });
    const { server, vehicle: v } = live;
    const camera = `/api/v1/fleets/${v.fleetId}/vehicles/${v.vehicleId}/cameras`;
    const linkOf = async (idOrName: string) => {
      const response = await fetch(`${server.url}${camera}/${idOrName}/live-links`, {
        method: "POST",
        headers: { authorization: `Bearer ${v.ownerToken}`, "content-type": "application/json" },
        body: JSON.stringify({ ttlSeconds: 3600 }),
      });
      assert.equal(response.status, 201);
      const deprecated = response.headers.get("deprecation");
      return { ...await response.json() as { whepUrl: string; token: string }, deprecated };
    };
    // Live takes the camera id as playback does; the name still works, marked deprecated.
    const front = await linkOf(v.cameras.front);
    const rear = await linkOf("rear");
    assert.equal(front.whepUrl, `${server.url}${camera}/${v.cameras.front}/whep`);
    assert.equal(front.deprecated, null);
    assert.equal(rear.whepUrl, `${server.url}${camera}/${v.cameras.rear}/whep`);
    assert.equal(rear.deprecated, "true");

    const viewer = new WebrtcViewer();
    try {
      const offer = await viewer.offer();
      // No token, another camera's token, a tampered token: 401.
      for (const token of [null, rear.token, front.token.slice(0, -2) + "xx"]) {
        const refused = await whep(front.whepUrl, token, offer);
        assert.equal(refused.status, 401, await refused.text());
      }
      // A camera id the vehicle does not have: 404, naming it.
      const unknown = await whep(
        `${server.url}${camera}/cam_00000000000000000000/whep`,
        v.ownerToken,
        offer,
      );
      assert.equal(unknown.status, 404);
      assert.match((await unknown.json()).detail, /Camera "cam_00000000000000000000" not found/);
      // Not SDP, and SDP without H.264: 400 with a reason.
      const notSdp = await whep(front.whepUrl, front.token, "hello");
      assert.equal(notSdp.status, 400);
      await notSdp.body?.cancel();
      const vp8Only = offer.replace(/H264\/90000/g, "VP8/90000");
      const noH264 = await whep(front.whepUrl, front.token, vp8Only);
      assert.equal(noH264.status, 400);
      assert.match((await noH264.json()).detail, /H\.264/);
      const wrongType = await whep(front.whepUrl, front.token, offer, "application/json");
      assert.ok([400, 415].includes(wrongType.status), String(wrongType.status));
      await wrongType.body?.cancel();

      const response = await whep(front.whepUrl, front.token, offer);
      assert.equal(response.status, 201);
      assert.equal(response.headers.get("content-type"), "application/sdp");
      const location = response.headers.get("location")!;
      assert.match(location, /^\/api\/v1\/live\/whep\/[0-9a-f-]{36}$/);
      await viewer.accept(await response.text());
      await viewer.waitFor((c) => c.keyframes >= 1 && c.frames >= 10, 30_000);

      const patched = await fetch(server.url + location, {
        method: "PATCH",
        headers: { "content-type": "application/trickle-ice-sdpfrag" },
        body: "a=mid:0\r\na=end-of-candidates\r\n",
      });
      assert.equal(patched.status, 204);
      const ended = await fetch(server.url + location, { method: "DELETE" });
      assert.equal(ended.status, 200);
      await ended.body?.cancel();
      const again = await fetch(server.url + location, { method: "DELETE" });
      assert.equal(again.status, 404);
      await again.body?.cancel();
    } catch (error) {
      console.log(
        server.logs.filter((l) => !/"debug"|ladder ffmpeg/.test(l)).slice(-25).join("\n"),
      );
      throw error;
    } finally {
      await viewer.close();
    }
  },
});

Deno.test({
  name: "live: an encoder on the vehicle publishes with WHIP (device token) and viewers watch it",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    requireLiveNamespace();
    const { LivePublisher } = await import("../../vehicle/live/publisher.ts");
    const { createLogger } = await import("../../lib/log/mod.ts");
    const { SignalingClient } = await import("../support/live.ts");
    await using server = await startServer(liveServerEnv());
    const v = await setUpVehicle(server.url, ["front"]);
    const url =
      `${server.url}/api/v1/fleets/${v.fleetId}/vehicles/${v.vehicleId}/cameras/${v.cameras.front}/whip`;
    const publisher = await LivePublisher.start({
      camera: {
        name: "front",
        source: { kind: "testsrc" },
        video: { width: 320, height: 240, fps: 10, bitrate: 300_000 },
      },
      additionalHostAddresses: ["127.0.0.2"],
      logger: createLogger("error"),
    });
    const client = await SignalingClient.connect(server.url, v.ownerToken);
    const viewer = new WebrtcViewer();
    try {
      const offer = await publisher.createOffer();
      // A user token is not a device token; no token at all is refused too.
      for (const token of [v.ownerToken, null]) {
        const refused = await whep(url, token, offer);
        assert.ok([401, 403].includes(refused.status), String(refused.status));
        await refused.body?.cancel();
      }
      const response = await whep(url, await v.tokens!.token(), offer);
      assert.equal(response.status, 201, await response.clone().text());
      const location = response.headers.get("location")!;
      assert.match(location, /^\/api\/v1\/live\/whip\//);
      await publisher.setAnswer(await response.text());

      // A watch names the camera by id (or, deprecated, by name): neither is refused.
      const ids = { fleetId: v.fleetId, vehicleId: v.vehicleId };
      client.send({ type: "watch", id: "none", ...ids });
      const unnamed = await client.next((m) => m.type === "error" && m.id === "none");
      assert.equal(unnamed.code, "bad_message");
      assert.match(String(unnamed.message), /watch\.cameraId: required/);
      client.send({ type: "watch", id: "other", ...ids, cameraId: "cam_00000000000000000000" });
      const other = await client.next((m) => m.type === "error" && m.id === "other");
      assert.equal(other.code, "not_found");
      client.send({
        type: "watch",
        id: "w",
        fleetId: v.fleetId,
        vehicleId: v.vehicleId,
        cameraId: v.cameras.front,
      });
      const watchOffer = await client.next((m) => m.type === "offer");
      client.send({ type: "answer", id: "w", sdp: await viewer.answer(String(watchOffer.sdp)) });
      await viewer.waitFor((c) => c.keyframes >= 1 && c.frames >= 10, 30_000);

      const ended = await fetch(server.url + location, { method: "DELETE" });
      assert.equal(ended.status, 200);
      await ended.body?.cancel();
    } finally {
      await viewer.close();
      client.close();
      await publisher.close();
    }
  },
});
