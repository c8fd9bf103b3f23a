import assert from "node:assert/strict";
import { hasChromium, launchChromium } from "../support/browser.ts";
import { setUpVehicle, signedLinks } from "../support/fleet_api.ts";
import { contentDigest, makeCmaf } from "../support/media.ts";
import { playsPast, servePlayerPages } from "../support/players.ts";
import { startServer } from "../support/server.ts";

Deno.test({
  name: "hls.js and dash.js in Chromium play a recorded range from signed links",
  ignore: !hasChromium,
  async fn() {
    await using server = await startServer();
    const vehicle = await setUpVehicle(server.url);
    const cmaf = await makeCmaf({ seconds: 12, size: "640x360", bitrate: "600k" });
    const base =
      `${server.url}/api/v1/ingest/vehicles/${vehicle.vehicleId}/cameras/front/recordings/r1`;
    const put = async (path: string, body: Uint8Array, headers: Record<string, string> = {}) => {
      const response = await fetch(base + path, {
        method: "PUT",
        body: body as BodyInit,
        headers: {
          authorization: `Bearer ${await vehicle.tokens!.token()}`,
          "content-digest": await contentDigest(body),
          ...headers,
        },
      });
      assert.equal(response.status, 201, await response.text());
    };
    await put("/init", cmaf.init);
    const start = Date.now() - 60_000;
    let at = start;
    for (const [i, segment] of cmaf.segments.entries()) {
      await put(`/segments/${i}`, segment.bytes, {
        "motorcade-segment-start": new Date(at).toISOString(),
        "motorcade-segment-duration": (segment.durationMs / 1000).toFixed(3),
      });
      at += segment.durationMs;
    }
    await new Promise((r) => setTimeout(r, 300));
    const links = await signedLinks(server.url, vehicle, "front", {
      from: new Date(start),
      to: new Date(at),
    });

    await using pages = servePlayerPages();
    await using browser = await launchChromium();
    for (const player of ["hls", "dash"] as const) {
      const url = pages.page(player, player === "hls" ? links.hls : links.dash);
      const reached = await playsPast(browser, url, 5);
      assert.ok(reached > 5, `${player} played to ${reached}`);
    }
    await Deno.remove(vehicle.stateDir, { recursive: true });
  },
});
