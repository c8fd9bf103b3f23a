/**
 * Live video in the web interface: an owner signs in, opens a vehicle's page in Chromium and
 * watches a camera of its live grid through the signaling WebSocket, picks a quality, and keeps
 * watching while the socket drops and while Janus restarts, without reloading the page; closing
 * the player ends the publication.
 */
import assert from "node:assert/strict";
import type { Page, WebSocketRoute } from "playwright-core";
import { hasChromium, launchChromium } from "../support/browser.ts";
import { liveServerEnv, requireLiveNamespace, startLiveVehicle } from "../support/live.ts";
import { OWNER } from "../support/platform.ts";

/** The ladder of `liveServerEnv()`: layer heights, lowest first. */
const LADDER_HEIGHTS = [120, 180, 240];

type Message = Record<string, unknown>;

/** Resolves once the player's video shows frames and plays on for `seconds` more. */
async function playsOn(page: Page, seconds: number): Promise<void> {
  await page.waitForFunction(
    () => {
      const video = document.querySelector<HTMLVideoElement>(".live-player video");
      return !!video && video.videoWidth > 0 && video.readyState >= 2;
    },
    undefined,
    { timeout: 45_000 },
  );
  const start = await page.$eval(".live-player video", (video: HTMLVideoElement) => ({
    time: video.currentTime,
    frames: video.getVideoPlaybackQuality().totalVideoFrames,
  }));
  await page.waitForFunction(
    ({ time, frames, seconds }) => {
      const video = document.querySelector<HTMLVideoElement>(".live-player video")!;
      return video.currentTime >= time + seconds &&
        video.getVideoPlaybackQuality().totalVideoFrames > frames + seconds * 5;
    },
    { ...start, seconds },
    { timeout: 30_000, polling: 200 },
  );
}

async function janusPid(): Promise<number> {
  const out = await new Deno.Command("pgrep", { args: ["-x", "janus"], stdout: "piped" }).output();
  const pids = new TextDecoder().decode(out.stdout).trim().split("\n").filter(Boolean).map(Number);
  assert.equal(pids.length, 1, `one janus running, got ${pids}`);
  return pids[0];
}

async function until(what: string, done: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

Deno.test({
  name:
    "live: the vehicle page plays a camera live, switches quality, and recovers from a dropped socket and a Janus restart",
  ignore: !hasChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    requireLiveNamespace();
    // Access tokens live 4 s: the socket must authenticate again with a fresh one when it drops.
    const ttlMs = 4_000;
    await using live = await startLiveVehicle({
      env: {
        ...liveServerEnv({ graceSeconds: 2 }),
        ACCESS_TOKEN_TTL: `${ttlMs / 1000}s`,
      },
    });
    const { server, vehicle: v, agent } = live;
    await using browser = await launchChromium();
    const sent: Message[] = [];
    /** When each message of `sent` passed (ms since the epoch). */
    const sentAt: number[] = [];
    const received: Message[] = [];
    const sockets: Array<{ page: WebSocketRoute; server: WebSocketRoute; received: number }> = [];
    const problems: string[] = [];
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      page.on("pageerror", (error) => problems.push(error.message));
      page.on("console", (message) => {
        if (message.type() === "error") problems.push(message.text());
      });
      // Every signaling message passes through the test, which can also cut the connection.
      await page.routeWebSocket(/\/api\/v1\/live\/ws$/, (socket) => {
        const upstream = socket.connectToServer();
        const entry = { page: socket, server: upstream, received: 0 };
        sockets.push(entry);
        socket.onMessage((text) => {
          sent.push(JSON.parse(String(text)));
          sentAt.push(Date.now());
          upstream.send(text);
        });
        upstream.onMessage((text) => {
          received.push(JSON.parse(String(text)));
          entry.received += 1;
          socket.send(text);
        });
      });

      // Signed out, the vehicle's page sends to sign-in and back after.
      const vehiclePath = `/admin/fleets/${v.fleetId}/vehicles/${v.vehicleId}`;
      await page.goto(`${server.url}${vehiclePath}`);
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
      await page.getByLabel("Email").fill(OWNER.email);
      await page.getByLabel("Password").fill(OWNER.password);
      await Promise.all([
        page.waitForURL((url) => url.pathname === vehiclePath),
        page.getByRole("button", { name: "Sign in" }).click(),
      ]);
      await page.getByRole("heading", { name: "bus-1", level: 1 }).waitFor();
      // Nothing plays before the click.
      assert.equal(await page.locator(".live-player").count(), 0);
      // The status texts the player shows, in order; the array would not survive a reload.
      await page.evaluate(() => {
        const seen: string[] = [];
        Object.assign(window, { statusTexts: seen });
        new MutationObserver(() => {
          const text = document.querySelector("[data-testid=live-status]")?.textContent;
          if (text && text !== seen.at(-1)) seen.push(text);
        }).observe(document.body, { subtree: true, childList: true, characterData: true });
      });
      const statusTexts = () =>
        page.evaluate(() => (window as unknown as { statusTexts: string[] }).statusTexts);
      await page.getByRole("button", { name: "Watch live front" }).click();

      const status = page.getByTestId("live-status");
      await playsOn(page, 2);
      await status.getByText("Live", { exact: true }).waitFor();
      assert.ok(
        (await statusTexts()).includes("Asking the vehicle to publish…"),
        `status texts: ${await statusTexts()}`,
      );
      const watch = sent.find((m) => m.type === "watch")!;
      // The page watches by camera id, the canonical form.
      assert.deepEqual(
        { fleetId: watch.fleetId, vehicleId: watch.vehicleId, cameraId: watch.cameraId },
        { fleetId: v.fleetId, vehicleId: v.vehicleId, cameraId: v.cameras.front },
      );
      assert.equal(watch.camera, undefined, "not by its deprecated name");
      assert.equal(sent[0].type, "auth", "the socket authenticates first");
      assert.ok(sent.some((m) => m.type === "answer" && m.id === watch.id), "the browser answers");
      assert.ok(sent.some((m) => m.type === "candidate"), "the browser trickles its candidates");
      await until(
        "the player reports decoded frames",
        () => sent.some((m) => m.type === "stats" && Number(m.framesDecoded) > 0),
      );
      // Layer 1 of 3 (the ABR's start) is the ladder's middle rung, named by its height.
      await page.locator(".live-player .badge", { hasText: `${LADDER_HEIGHTS[1]}p` }).waitFor();

      // A manual quality switches the layer at once; the picture has the rung's height.
      await page.getByLabel("Quality").selectOption("low");
      await page.locator(".live-player .badge", { hasText: `${LADDER_HEIGHTS[0]}p` }).waitFor();
      await page.waitForFunction(
        (height) =>
          document.querySelector<HTMLVideoElement>(".live-player video")!.videoHeight ===
            height,
        LADDER_HEIGHTS[0],
        { timeout: 15_000 },
      );
      assert.ok(sent.some((m) => m.type === "quality" && m.quality === "low"));

      // The signaling connection drops once the first token has expired: the player reconnects
      // with a fresh token (from the page's session cookie), watches again, and keeps "low".
      const firstAuthAt = sentAt[sent.findIndex((m) => m.type === "auth")];
      await until("the first token expired", () => Date.now() > firstAuthAt + ttlMs + 500);
      // (A script may close a WebSocket only with 1000 or 3000-4999; the page sees 1006.)
      await sockets[0].server.close({ code: 4000, reason: "network drop" });
      await sockets[0].page.close({ code: 1006, reason: "network drop" });
      const onFirstSocket = sockets[0].received;
      await until("a second socket", () => sockets.length >= 2);
      await until(
        "a second watch",
        () => sent.filter((m) => m.type === "watch").length >= 2,
      );
      // Every auth after the first (renewals on the open socket, the reconnection's) brings a
      // token issued after it: renewing with the token about to expire would renew nothing.
      const [first, ...later] = sent.filter((m) => m.type === "auth").map((m) => m.token);
      assert.ok(later.length >= 1, "a second auth at reconnection");
      assert.ok(
        later.every((token) => token !== first),
        "a fresh token at renewal and reconnection",
      );
      const rewatch = sent.filter((m) => m.type === "watch").at(-1)!;
      assert.equal(rewatch.quality, "low", "the chosen quality survives the reconnection");
      await playsOn(page, 2);
      await status.getByText("Live", { exact: true }).waitFor();
      assert.equal(sockets[0].received, onFirstSocket, "the server closed the dropped connection");

      // Janus dies and the supervisor restarts it: the server offers again with restart: true.
      const watches = sent.filter((m) => m.type === "watch").length;
      Deno.kill(await janusPid(), "SIGKILL");
      await until(
        "an offer with restart",
        () => received.some((m) => m.type === "offer" && m.restart === true),
        45_000,
      );
      assert.ok(
        received.some((m) => m.type === "status" && m.state === "reconnecting"),
        "the player heard that the stream is reconnecting",
      );
      await status.getByText("Live", { exact: true }).waitFor({ timeout: 45_000 });
      await playsOn(page, 2);
      const restart = received.find((m) => m.type === "offer" && m.restart === true)!;
      const answers = sent.filter((m) => m.type === "answer" && m.id === restart.id);
      assert.equal(answers.length, 2, "the restart offer is answered on the same watch");
      assert.equal(sent.filter((m) => m.type === "watch").length, watches, "no new watch");
      const texts = await statusTexts();
      console.log(`status texts: ${texts.join(" → ")}`);
      assert.ok(texts.lastIndexOf("Reconnecting…") > texts.indexOf("Live"), texts.join(" → "));
      await page.screenshot({ path: "/tmp/vehicle-live.png", fullPage: true });

      // Closing the player says bye; with no viewer left the vehicle stops publishing.
      const stops = () => agent.logs.filter((l) => l.includes('"stopped publishing"')).length;
      const stopsBefore = stops();
      await page.getByRole("button", { name: "Close" }).click();
      await until("a bye", () => sent.some((m) => m.type === "bye"));
      assert.equal(await page.locator(".live-player").count(), 0);
      await until(
        "the vehicle stops publishing",
        () => stops() > stopsBefore,
        20_000,
      );
      await page.getByRole("button", { name: "Watch live front" }).waitFor();
      assert.deepEqual(problems, []);
    } catch (error) {
      console.log(
        server.logs.filter((l) => !/"debug"|"request"|ladder ffmpeg/.test(l)).slice(-40).join("\n"),
      );
      console.log(agent.logs.slice(-20).join("\n"));
      console.log("SENT", JSON.stringify(sent.map((m) => m.type)));
      console.log("RECEIVED", JSON.stringify(received.map((m) => m.state ?? m.type)));
      console.log("PROBLEMS", problems);
      throw error;
    }
  },
});
