import assert from "node:assert/strict";
import { apiCall, setUpVehicle } from "../support/fleet_api.ts";
import { liveServerEnv, requireLiveNamespace, SignalingClient } from "../support/live.ts";
import { startServer, type TestServer } from "../support/server.ts";

const api = (server: TestServer, method: string, path: string, token?: string, json?: unknown) =>
  apiCall(server.url, method, path, token, json);

/** A viewer of a second fleet, who must not see the first fleet's vehicles. */
async function otherFleetViewer(server: TestServer, ownerToken: string): Promise<string> {
  const fleet = await api(server, "POST", "/api/v1/fleets", ownerToken, { name: "Rival" });
  await api(server, "POST", `/api/v1/fleets/${fleet.id}/users`, ownerToken, {
    email: "viewer@rival.example",
    password: "rival-password-1",
    role: "viewer",
  });
  const login = await api(server, "POST", "/api/v1/auth/login", undefined, {
    email: "viewer@rival.example",
    password: "rival-password-1",
  });
  return login.accessToken;
}

Deno.test({
  name:
    "live signaling refuses bad tokens, other fleets' vehicles and malformed, oversized or flooding messages",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    requireLiveNamespace();
    await using server = await startServer({
      ...liveServerEnv(),
      STUN_URLS: "stun:turn.example.com:3478",
      TURN_URLS: "turn:turn.example.com:3478?transport=udp",
      TURN_SECRET: "coturn-shared-secret",
    });
    const v = await setUpVehicle(server.url, ["front"], { enrol: false });

    // No token, then a bad token: an error, then the connection is closed (policy).
    const anonymous = await SignalingClient.connect(server.url);
    anonymous.send({ type: "watch", id: "w", vehicleId: v.vehicleId, camera: "front" });
    const first = await anonymous.next((m) => m.type === "error");
    assert.equal(first.code, "unauthorized");
    anonymous.send({ type: "auth", token: "not-a-jwt" });
    assert.equal((await anonymous.next((m) => m.type === "error")).code, "unauthorized");
    assert.equal((await anonymous.closed).code, 1008);

    // A healthy viewer alongside everything below, which must stay unaffected. It got the ICE
    // servers, TURN with a time-limited credential (TURN REST API: "<expiry>:<user id>").
    const bystander = await SignalingClient.connect(server.url, v.ownerToken);
    const [stun, turn] = bystander.ready!.iceServers as Array<Record<string, unknown>>;
    assert.deepEqual(stun, { urls: ["stun:turn.example.com:3478"] });
    assert.deepEqual(turn.urls, ["turn:turn.example.com:3478?transport=udp"]);
    assert.match(String(turn.username), /^\d{10}:usr_/);
    assert.ok(Number(String(turn.username).split(":")[0]) > Date.now() / 1000 + 3000);
    assert.equal(typeof turn.credential, "string");

    // A viewer of another fleet cannot see the vehicle, not even that it exists.
    const rival = await SignalingClient.connect(
      server.url,
      await otherFleetViewer(server, v.ownerToken),
    );
    rival.send({ type: "watch", id: "w1", vehicleId: v.vehicleId, camera: "front" });
    assert.equal((await rival.next((m) => m.type === "error")).code, "not_found");
    rival.send({
      type: "watch",
      id: "w2",
      fleetId: v.fleetId,
      vehicleId: v.vehicleId,
      camera: "front",
    });
    assert.equal((await rival.next((m) => m.type === "error")).code, "not_found");

    // Unknown camera, malformed JSON, unknown type, invalid fields, unknown watch ids.
    const owner = await SignalingClient.connect(server.url, v.ownerToken);
    owner.send({
      type: "watch",
      id: "w3",
      fleetId: v.fleetId,
      vehicleId: v.vehicleId,
      camera: "rear",
    });
    const unknownCamera = await owner.next((m) => m.type === "error");
    assert.equal(unknownCamera.code, "not_found");
    assert.match(String(unknownCamera.message), /rear/);
    owner.send("{not json");
    assert.equal((await owner.next((m) => m.type === "error")).code, "bad_message");
    owner.send({ type: "dance" });
    assert.equal((await owner.next((m) => m.type === "error")).code, "bad_message");
    owner.send({ type: "watch", id: "../etc", vehicleId: v.vehicleId, camera: "front" });
    const invalid = await owner.next((m) => m.type === "error");
    assert.equal(invalid.code, "bad_message");
    assert.match(String(invalid.message), /id/);
    owner.send({ type: "answer", id: "nope", sdp: "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n" });
    assert.equal((await owner.next((m) => m.type === "error")).code, "unknown_watch");
    owner.send({ type: "ping" });
    await owner.next((m) => m.type === "pong");

    // A watch sent right behind the auth, without waiting for `ready` (as the live player does),
    // waits for the auth: `ready` comes first, then the watch's own answer.
    const eager = await SignalingClient.connect(server.url);
    eager.send({ type: "auth", token: v.ownerToken });
    eager.send({
      type: "watch",
      id: "w4",
      fleetId: v.fleetId,
      vehicleId: v.vehicleId,
      camera: "rear",
    });
    assert.equal((await eager.next(() => true)).type, "ready");
    const behind = await eager.next(() => true);
    assert.deepEqual([behind.type, behind.code, behind.id], ["error", "not_found", "w4"]);

    // An oversized message closes that connection with 1009.
    const big = await SignalingClient.connect(server.url, v.ownerToken);
    big.send({ type: "ping", pad: "x".repeat(70_000) });
    assert.equal((await big.closed).code, 1009);

    // A flood is rate limited, then the connection is closed.
    const worker = new Worker(new URL("../support/flood_worker.ts", import.meta.url), {
      type: "module",
    });
    const flooded = await new Promise<{ errors: Array<{ code: string; message: string }> }>(
      (resolve) => {
        worker.onmessage = (event) => resolve(event.data);
        worker.postMessage({
          url: server.url.replace(/^http/, "ws") + "/api/v1/live/ws",
          token: v.ownerToken,
          count: 3000,
        });
      },
    );
    worker.terminate();
    assert.ok(flooded.errors.some((e) => e.code === "rate_limited"), JSON.stringify(flooded));
    // …and the server closed the connection (the worker reports only once it is closed; its close
    // code is 1008, or abnormal when the close crosses the flood still in flight).

    // The bystander still gets answers.
    bystander.send({ type: "ping" });
    await bystander.next((m) => m.type === "pong");
    for (const c of [bystander, rival, owner, eager]) c.close();
  },
});
