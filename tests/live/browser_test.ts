import assert from "node:assert/strict";
import { hasChromium, launchChromium } from "../support/browser.ts";
import { requireLiveNamespace, startLiveVehicle } from "../support/live.ts";
import { playsPast, servePlayerPages } from "../support/players.ts";

Deno.test({
  name: "live: Chromium plays a vehicle through an independent WHEP client (medooze whip-whep)",
  ignore: !hasChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    requireLiveNamespace();
    await using live = await startLiveVehicle();
    const { server, vehicle: v } = live;
    const response = await fetch(
      `${server.url}/api/v1/fleets/${v.fleetId}/vehicles/${v.vehicleId}/cameras/${v.cameras.front}/live-links`,
      {
        method: "POST",
        headers: { authorization: `Bearer ${v.ownerToken}`, "content-type": "application/json" },
        body: JSON.stringify({ ttlSeconds: 3600 }),
      },
    );
    const link = await response.json() as { whepUrl: string; token: string };
    await using pages = servePlayerPages();
    await using browser = await launchChromium();
    try {
      const reached = await playsPast(browser, pages.whep(link.whepUrl, link.token), 2);
      assert.ok(reached > 2, `video reached ${reached} s`);
    } catch (error) {
      console.log(
        server.logs.filter((l) => !/"debug"|ladder ffmpeg/.test(l)).slice(-25).join("\n"),
      );
      throw error;
    }
  },
});
