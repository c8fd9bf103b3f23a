import assert from "node:assert/strict";
import { startAgent } from "../support/agent.ts";
import { hasChromium, launchChromium } from "../support/browser.ts";
import { setUpVehicle } from "../support/fleet_api.ts";
import { liveServerEnv, requireLiveNamespace } from "../support/live.ts";
import { playsPast, servePlayerPages } from "../support/players.ts";
import { startServer } from "../support/server.ts";

const SMALL = ["--video-size", "320x240", "--fps", "10", "--bitrate", "300k"];

Deno.test({
  name: "live: Chromium plays a vehicle through an independent WHEP client (medooze whip-whep)",
  ignore: !hasChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    requireLiveNamespace();
    await using server = await startServer(liveServerEnv());
    const v = await setUpVehicle(server.url, ["front"]);
    const spoolDir = await Deno.makeTempDir({ prefix: "motorcade-spool-" });
    await using _agent = startAgent({
      server: server.url,
      stateDir: v.stateDir,
      spoolDir,
      cameras: { front: "testsrc" },
      live: true,
      args: SMALL,
    });
    const response = await fetch(
      `${server.url}/api/v1/fleets/${v.fleetId}/vehicles/${v.vehicleId}/cameras/front/live-links`,
      {
        method: "POST",
        headers: { authorization: `Bearer ${v.ownerToken}`, "content-type": "application/json" },
        body: "{}",
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
    } finally {
      await Deno.remove(spoolDir, { recursive: true }).catch(() => {});
    }
  },
});
