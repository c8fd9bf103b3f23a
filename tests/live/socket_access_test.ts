/**
 * Signaling sockets hold access only as long as the HTTP API would grant it: logout, a disabled
 * or deleted user, a revoked vehicle credential and an expired token end them within seconds, and
 * a user or vehicle holds only so many at once. Real server and Janus in the test namespace.
 */
import assert from "node:assert/strict";
import { OWNER } from "../support/platform.ts";
import { apiCall, setUpVehicle, type VehicleOnServer } from "../support/fleet_api.ts";
import { liveServerEnv, requireLiveNamespace, SignalingClient } from "../support/live.ts";
import { startServer, type TestServer } from "../support/server.ts";
import { WebrtcViewer } from "../support/webrtc_viewer.ts";

const REPO = new URL("../../", import.meta.url).pathname;

const api = (server: TestServer, method: string, path: string, token?: string, json?: unknown) =>
  apiCall(server.url, method, path, token, json);

type Pair = { accessToken: string; refreshToken: string };
const login = (server: TestServer, who: { email: string; password: string }): Promise<Pair> =>
  api(server, "POST", "/api/v1/auth/login", undefined, {
    email: who.email,
    password: who.password,
  });

/** A viewer of the vehicle's fleet; returns its id and credentials. */
async function addViewer(server: TestServer, v: VehicleOnServer, email: string) {
  const owner = await login(server, OWNER);
  const who = { email, password: "viewer-password-1" };
  const user = await api(server, "POST", `/api/v1/fleets/${v.fleetId}/users`, owner.accessToken, {
    ...who,
    role: "viewer",
  });
  return { id: user.id as string, ...who };
}

/** The socket's close, within `ms`, or a failure saying it stayed open. */
async function closedWithin(client: SignalingClient, ms: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      client.closed,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Socket still open after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether the socket is still open and answering after `ms`. */
async function stillOpenAfter(client: SignalingClient, ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  client.send({ type: "ping" });
  await client.next((m) => m.type === "pong", 5_000);
}

/** Polls `/metrics` until the live viewer gauge reads `expected` (bounded). */
async function viewersBecome(server: TestServer, expected: number): Promise<void> {
  let last = "";
  for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    last = /^motorcade_live_viewers (\d+)/m.exec(metrics)?.[1] ?? "";
    if (last === String(expected)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`motorcade_live_viewers is ${last}, not ${expected}`);
}

/** Runs `ctl` in its own process on the server's data folder, as an operator would. */
async function ctl(server: TestServer, args: string[]): Promise<void> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "ctl.ts", ...args],
    cwd: REPO,
    env: { DATA_DIR: server.dataDir, LIVE: "off", LOG_LEVEL: "error" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(`ctl ${args.join(" ")}: ${new TextDecoder().decode(output.stderr)}`);
  }
}

const watch = (v: VehicleOnServer, id: string) => ({
  type: "watch",
  id,
  fleetId: v.fleetId,
  vehicleId: v.vehicleId,
  camera: "front",
});

Deno.test({
  name: "signaling socket ends within seconds of logout, disable and delete, with its watches",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    requireLiveNamespace();
    await using server = await startServer({ ...liveServerEnv(), LIVE_ACCESS_RECHECK: "1h" });
    const v = await setUpVehicle(server.url, ["front"], { enrol: false });
    const viewer = await addViewer(server, v, "viewer@acme.example");

    // Logout: the open socket, which is watching, is closed (4003) and its watch ends.
    const first = await login(server, viewer);
    const socket = await SignalingClient.connect(server.url, first.accessToken);
    assert.equal(socket.ready?.type, "ready");
    socket.send(watch(v, "w1"));
    await socket.next((m) => m.type === "offer" && m.id === "w1");
    await viewersBecome(server, 1);
    await api(server, "POST", "/api/v1/auth/logout", first.accessToken, {
      refreshToken: first.refreshToken,
    });
    const closed = await closedWithin(socket, 5_000);
    assert.equal(closed.code, 4003, JSON.stringify(closed));
    assert.equal((await socket.next((m) => m.type === "error")).code, "revoked");
    await viewersBecome(server, 0);
    // …and the token no longer opens one.
    const again = await SignalingClient.connect(server.url, first.accessToken);
    assert.equal(again.ready?.code, "unauthorized");
    await closedWithin(again, 5_000);

    // Disabled, then deleted: each ends the user's open socket.
    const second = await SignalingClient.connect(
      server.url,
      (await login(server, viewer)).accessToken,
    );
    const owner = await login(server, OWNER);
    const userPath = `/api/v1/fleets/${v.fleetId}/users/${viewer.id}`;
    await api(server, "PATCH", userPath, owner.accessToken, { disabled: true });
    assert.equal((await closedWithin(second, 5_000)).code, 4003);
    await api(server, "PATCH", userPath, owner.accessToken, { disabled: false });
    const third = await SignalingClient.connect(
      server.url,
      (await login(server, viewer)).accessToken,
    );
    assert.equal(third.ready?.type, "ready");
    await api(server, "DELETE", userPath, owner.accessToken);
    assert.equal((await closedWithin(third, 5_000)).code, 4003);
  },
});

Deno.test({
  name:
    "signaling socket re-checks access on each watch and on a timer (revoked by another process)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    requireLiveNamespace();
    await using server = await startServer({ ...liveServerEnv(), LIVE_ACCESS_RECHECK: "2s" });
    const v = await setUpVehicle(server.url, ["front"], { enrol: false });
    const viewer = await addViewer(server, v, "viewer@acme.example");
    const socket = await SignalingClient.connect(
      server.url,
      (await login(server, viewer)).accessToken,
    );
    assert.equal(socket.ready?.type, "ready");
    // The CLI disables the user in its own process: no in-process news reaches the server, the
    // timer's re-check does.
    await ctl(server, ["users", "disable", viewer.id]);
    assert.equal((await closedWithin(socket, 8_000)).code, 4003);
  },
});

Deno.test({
  name: "signaling watch after a revocation the server was not told of is refused",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    requireLiveNamespace();
    await using server = await startServer({ ...liveServerEnv(), LIVE_ACCESS_RECHECK: "1h" });
    const v = await setUpVehicle(server.url, ["front"], { enrol: false });
    const viewer = await addViewer(server, v, "viewer@acme.example");
    const socket = await SignalingClient.connect(
      server.url,
      (await login(server, viewer)).accessToken,
    );
    await ctl(server, ["users", "disable", viewer.id]);
    socket.send(watch(v, "w1"));
    const refused = await socket.next((m) => m.type === "error" || m.type === "offer");
    assert.equal(refused.code, "revoked", JSON.stringify(refused));
    assert.equal((await closedWithin(socket, 5_000)).code, 4003);
    await viewersBecome(server, 0);
  },
});

Deno.test({
  name: "vehicle socket ends when its credential is revoked and gets no further publish",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    requireLiveNamespace();
    await using server = await startServer({
      ...liveServerEnv({ graceSeconds: 1 }),
      LIVE_ACCESS_RECHECK: "1h",
    });
    const v = await setUpVehicle(server.url, ["front"]);
    const vehicle = await SignalingClient.connect(server.url, await v.tokens!.token());
    assert.equal(vehicle.ready?.role, "vehicle");
    const viewer = await SignalingClient.connect(server.url, v.ownerToken);
    viewer.send(watch(v, "w1"));
    const publish = await vehicle.next((m) => m.type === "publish");
    assert.equal(publish.camera, "front");

    const owner = await login(server, OWNER);
    const credentials = `/api/v1/fleets/${v.fleetId}/vehicles/${v.vehicleId}/credentials`;
    const { credentials: list } = await api(server, "GET", credentials, owner.accessToken);
    await api(server, "DELETE", `${credentials}/${list[0].id}`, owner.accessToken);
    const closed = await closedWithin(vehicle, 5_000);
    assert.equal(closed.code, 4003);
    assert.equal((await vehicle.next((m) => m.type === "error")).code, "revoked");

    // The viewer asks again: the camera's vehicle is offline, nobody is asked to publish.
    viewer.send({ type: "bye", id: "w1" });
    await viewer.next((m) => m.type === "ended" && m.id === "w1");
    viewer.send(watch(v, "w2"));
    const status = await viewer.next((m) => m.type === "status" && m.id === "w2");
    assert.equal(status.state, "vehicle-offline");
    assert.equal(vehicle.messages.filter((m) => m.type === "publish").length, 0);
    viewer.close();
  },
});

Deno.test({
  name: "signaling socket whose token expires is closed unless it sends a fresh one",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    requireLiveNamespace();
    await using server = await startServer({ ...liveServerEnv(), ACCESS_TOKEN_TTL: "3s" });
    const lapsing = await SignalingClient.connect(
      server.url,
      (await login(server, OWNER)).accessToken,
    );
    const renewing = await login(server, OWNER);
    const renewed = await SignalingClient.connect(server.url, renewing.accessToken);

    // At expiry both are told; one renews on the open socket with a refreshed token.
    const told = await renewed.next((m) => m.type === "error", 10_000);
    assert.equal(told.code, "token_expired");
    renewed.send({ type: "watch", id: "late", vehicleId: "veh_x", fleetId: "flt_x", camera: "a" });
    assert.equal((await renewed.next((m) => m.id === "late")).code, "token_expired");
    const fresh = await api(server, "POST", "/api/v1/auth/refresh", undefined, {
      refreshToken: renewing.refreshToken,
    });
    renewed.send({ type: "auth", token: fresh.accessToken });
    const authenticated = await renewed.next((m) => m.type === "authenticated");
    assert.ok(Number(authenticated.expiresIn) > 0);

    // The other one says nothing and is closed after the 10 s grace.
    assert.equal((await lapsing.next((m) => m.type === "error", 10_000)).code, "token_expired");
    const closed = await closedWithin(lapsing, 15_000);
    assert.equal(closed.code, 4001, JSON.stringify(closed));
    assert.equal(renewed.socket.readyState, WebSocket.OPEN);
    // `ready` said when the first token would expire.
    assert.ok(Number(renewed.ready?.expiresIn) <= 3, JSON.stringify(renewed.ready));
    renewed.close();
  },
});

Deno.test({
  name: "signaling sockets are capped per user (the next is refused) and per vehicle (it replaces)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    requireLiveNamespace();
    await using server = await startServer({
      ...liveServerEnv(),
      LIVE_SOCKETS_PER_USER: "3",
      LIVE_SOCKETS_PER_VEHICLE: "1",
    });
    const v = await setUpVehicle(server.url, ["front"]);
    const held = [];
    for (let i = 0; i < 3; i++) {
      const client = await SignalingClient.connect(server.url, v.ownerToken);
      assert.equal(client.ready?.type, "ready");
      held.push(client);
    }
    // Another sign-in of the same user counts too: the cap is per user.
    const extra = await SignalingClient.connect(
      server.url,
      (await login(server, OWNER)).accessToken,
    );
    assert.equal(extra.ready?.code, "too_many_connections", JSON.stringify(extra.ready));
    assert.equal((await closedWithin(extra, 5_000)).code, 1008);
    await stillOpenAfter(held[0], 0);

    // One closed frees a place.
    held.pop()!.close();
    let replacement: SignalingClient | undefined;
    for (let attempt = 0; attempt < 20 && !replacement; attempt++) {
      const client = await SignalingClient.connect(server.url, v.ownerToken);
      if (client.ready?.type === "ready") replacement = client;
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(replacement, "no socket accepted after one was closed");

    // A vehicle's newer socket replaces its older one.
    const old = await SignalingClient.connect(server.url, await v.tokens!.token());
    const newer = await SignalingClient.connect(server.url, await v.tokens!.token());
    assert.equal(newer.ready?.role, "vehicle");
    assert.equal((await closedWithin(old, 5_000)).code, 1008);
    assert.equal((await old.next((m) => m.type === "error")).code, "too_many_connections");
    await stillOpenAfter(newer, 0);
    for (const client of [...held, replacement!, newer]) client.close();
  },
});

Deno.test({
  name: "WHEP sessions are capped per user and end when the user signs out",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    requireLiveNamespace();
    await using server = await startServer({ ...liveServerEnv(), LIVE_WHEP_PER_USER: "1" });
    const v = await setUpVehicle(server.url, ["front"], { enrol: false });
    const viewer = await addViewer(server, v, "viewer@acme.example");
    const session = await login(server, viewer);
    const url =
      `${server.url}/api/v1/fleets/${v.fleetId}/vehicles/${v.vehicleId}/cameras/${v.cameras.front}/whep`;
    const player = new WebrtcViewer();
    try {
      const offer = await player.offer();
      const post = () =>
        fetch(url, {
          method: "POST",
          headers: {
            "content-type": "application/sdp",
            authorization: `Bearer ${session.accessToken}`,
          },
          body: offer,
        });
      const first = await post();
      assert.equal(first.status, 201, await first.clone().text());
      await first.body?.cancel();
      const location = first.headers.get("location")!;
      const second = await post();
      assert.equal(second.status, 429);
      assert.match((await second.json()).detail, /at most 1/);
      await viewersBecome(server, 1);

      await api(server, "POST", "/api/v1/auth/logout", session.accessToken, {
        refreshToken: session.refreshToken,
      });
      await viewersBecome(server, 0);
      const gone = await fetch(server.url + location, { method: "DELETE" });
      assert.equal(gone.status, 404);
      await gone.body?.cancel();
    } finally {
      await player.close();
    }
  },
});

Deno.test({
  name: "vehicle live link renews its device token on the open socket and stays connected",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    requireLiveNamespace();
    await using server = await startServer({ ...liveServerEnv(), DEVICE_TOKEN_TTL: "3s" });
    const v = await setUpVehicle(server.url, ["front"]);
    const { LiveLink } = await import("../../vehicle/live/live_link.ts");
    const { createLogger } = await import("../../lib/log/mod.ts");
    const records: Array<Record<string, unknown>> = [];
    const link = new LiveLink({
      serverUrl: server.url,
      tokens: v.tokens!,
      cameras: [],
      logger: createLogger("info", (record) => records.push(record)),
    });
    link.start();
    try {
      for (const deadline = Date.now() + 10_000; !link.connected && Date.now() < deadline;) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.ok(link.connected, "live link did not connect");
      // Three token lifetimes: one connection throughout, never told its token expired.
      await new Promise((resolve) => setTimeout(resolve, 9_000));
      assert.ok(link.connected);
      const messages = records.map((r) => `${r.msg} ${r.code ?? ""}`.trim());
      assert.equal(messages.filter((m) => m === "live link ready").length, 1, messages.join("\n"));
      assert.ok(!messages.some((m) => /token_expired|failed/.test(m)), messages.join("\n"));
    } finally {
      await link.close();
    }
  },
});
