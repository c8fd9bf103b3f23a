/** Heartbeats as the vehicle agent sends them, through the device API. */
import assert from "node:assert/strict";
import type { VehicleOnServer } from "./fleet_api.ts";

/** A heartbeat of `cameras`, each capturing with a backlog of `segments` (800 kB each). */
export function heartbeat(cameras: string[] = ["front"], segments = 3, capturing = true) {
  return {
    sentAt: new Date().toISOString(),
    uptimeS: 12,
    clock: { state: "ok", lastJumpAt: null, jumps: 0 },
    cameras: cameras.map((camera) => ({
      camera,
      recordingId: "rec-1",
      capturing,
      queueDepth: segments,
      bytesPending: segments * 800_000,
      lastUploadAt: new Date().toISOString(),
      evictedSegments: 0,
      evictedBytes: 0,
      quarantined: 0,
    })),
  };
}

/** Sends a heartbeat of `front` with `segments` pending, with the vehicle's device token. */
export async function beat(base: string, vehicle: VehicleOnServer, segments = 3): Promise<void> {
  const response = await fetch(`${base}/api/v1/device/heartbeat`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${await vehicle.tokens!.token()}`,
      "content-type": "application/json",
    },
    body: JSON.stringify(heartbeat(["front"], segments)),
  });
  assert.equal(response.status, 200, await response.text());
}
