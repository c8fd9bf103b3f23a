import assert from "node:assert/strict";
import { hasChromium, launchChromium } from "../support/browser.ts";
import { setUpVehicle, signedLinks } from "../support/fleet_api.ts";
import { contentDigest, makeCmaf } from "../support/media.ts";
import { servePlayerPages } from "../support/players.ts";
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
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(error.message));
      await page.goto(pages.page(player, player === "hls" ? links.hls : links.dash));
      await page.waitForFunction(
        () => {
          const video = document.querySelector("video")!;
          return video.currentTime > 5 || (globalThis as { playerErrors?: string[] }).playerErrors
            ?.length;
        },
        undefined,
        { timeout: 30_000 },
      );
      const state = await page.evaluate(() => {
        const video = document.querySelector("video")!;
        return {
          currentTime: video.currentTime,
          width: video.videoWidth,
          errors: (globalThis as { playerErrors?: string[] }).playerErrors,
        };
      });
      assert.deepEqual(state.errors, [], `${player}: ${JSON.stringify(state.errors)}`);
      assert.deepEqual(errors, [], `${player} page errors`);
      assert.ok(state.currentTime > 5, `${player} played to ${state.currentTime}`);
      assert.equal(state.width, 640, `${player} decoded frames`);
      await page.close();
    }
    await Deno.remove(vehicle.stateDir, { recursive: true });
  },
});
