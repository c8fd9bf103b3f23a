import assert from "node:assert/strict";
import type { Identity, Principal } from "../../lib/auth/mod.ts";
import type { FleetRegistry } from "../../lib/fleet/mod.ts";
import type { LiveService } from "../../lib/live/live_service.ts";
import { SignalingConnection } from "../../lib/live/signaling.ts";
import { silentLogger } from "../../lib/log/mod.ts";

const VIEWER: Principal = {
  kind: "user",
  userId: "usr_viewer",
  role: "viewer",
  fleetId: "flt_acme",
  sessionId: "ses_1",
};

/**
 * A connection whose token check takes `authMs` (a busy identity store), over a live service with
 * no cameras: a watch gets `not_found`, which needs no Janus.
 */
function connection(authMs: number) {
  const sent: Array<Record<string, unknown>> = [];
  const identity = {
    async authenticateWithExpiry(token: string) {
      await new Promise((resolve) => setTimeout(resolve, authMs));
      if (token !== "good") throw new Error("Token is not valid");
      return { principal: VIEWER, expiresAt: new Date(Date.now() + 600_000) };
    },
    async recheck() {},
  } as unknown as Identity;
  const live = {
    access: { admit: () => () => {} },
    settings: {
      ice: { stunUrls: [], turnUrls: [], turnTtlMs: 0 },
      maxWatchesPerConnection: 16,
    },
  } as unknown as LiveService;
  const registry = { listCameras: () => Promise.resolve([]) } as unknown as FleetRegistry;
  const socket = new SignalingConnection(
    { live, identity, registry, logger: silentLogger },
    { send: (text) => sent.push(JSON.parse(text)), close: () => {} },
  );
  return { socket, sent };
}

const watch = {
  type: "watch",
  id: "w1",
  vehicleId: "veh_1",
  cameraId: "cam_00000000000000000000",
};

Deno.test("signaling holds a watch sent right behind the auth until the auth is settled", async () => {
  const { socket, sent } = connection(30);
  // Both arrive before the token check ends, as when a viewer pipelines them.
  const handled = [
    socket.onMessage(JSON.stringify({ type: "auth", token: "good" })),
    socket.onMessage(JSON.stringify(watch)),
  ];
  await Promise.all(handled);
  assert.deepEqual(
    sent.map((m) => [m.type, m.code ?? null, m.id ?? null]),
    [["ready", null, null], ["error", "not_found", "w1"]],
  );
  socket.onClose();
});

Deno.test("signaling answers a watch behind a refused auth with nothing but the refusal", async () => {
  const { socket, sent } = connection(30);
  await Promise.all([
    socket.onMessage(JSON.stringify({ type: "auth", token: "bad" })),
    socket.onMessage(JSON.stringify(watch)),
  ]);
  assert.deepEqual(sent.map((m) => [m.type, m.code]), [
    ["error", "unauthorized"],
    ["error", "unauthorized"],
  ]);
  assert.equal(sent.filter((m) => m.id === "w1").length, 0, "the watch itself got no answer");
  socket.onClose();
});
