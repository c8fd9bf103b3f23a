/**
 * The camera DVR page under a proxy upload policy, in Chromium: camera "cam2" of "bus-17"
 * uploaded yesterday 08:14:00–08:14:30 as its proxy (320×180), with 08:14:10–08:14:20 also in
 * full quality (640×360, a recall), and the vehicle reports holding full quality until 08:20.
 * The timeline shows where the video is and an operator's event; the player shows full quality
 * where it was uploaded; "Get full quality" files recalls whose state and progress the page
 * follows by itself as the vehicle reports them, and one is cancelled.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { apiCall } from "../support/fleet_api.ts";
import { contentDigest, makeCmaf } from "../support/media.ts";
import { OWNER } from "../support/platform.ts";
import { hasChromium } from "../support/browser.ts";
import { DeviceTokens, enrol } from "../../vehicle/identity.ts";
import { DESKTOP, PHONE, signInPage, startUi } from "./support.ts";

const DAY_MS = 86_400_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const iso = (ms: number) => new Date(ms).toISOString();

/** Yesterday (UTC, the fleet's default zone) at `hh:mm:ss`. */
function yesterdayAt(clock: string): number {
  const today = new Date().toISOString().slice(0, 10);
  return Date.parse(`${today}T${clock}Z`) - DAY_MS;
}

/** Polls `check` every 250 ms until it holds, at most `ms` milliseconds. */
async function until(
  what: string | (() => string),
  check: () => Promise<boolean> | boolean,
  ms = 30_000,
) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(250);
  }
  throw new Error(`Timed out waiting for ${typeof what === "string" ? what : what()}`);
}

const SECONDS = 30;
/** Segments (2 s each) of the full rendition a recall brought: 08:14:10–08:14:20. */
const RECALLED = [5, 6, 7, 8, 9];

/** Where the page draws the video: the availability band's spans, in order. */
async function band(page: Page): Promise<string[]> {
  return await page.locator(".dvr-where").evaluateAll((rects) =>
    rects.map((r) =>
      `${r.getAttribute("data-where")} ${r.getAttribute("data-from")!.slice(11, 19)}-${
        r.getAttribute("data-to")!.slice(11, 19)
      }`
    )
  );
}

Deno.test({
  name:
    "DVR page shows where video is and events, plays full quality where recalled, and follows recalls",
  ignore: !hasChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using ui = await startUi();
    const base = ui.url;
    const { accessToken } = await apiCall(base, "POST", "/api/v1/auth/login", undefined, OWNER);
    const fleet = await apiCall(base, "POST", "/api/v1/fleets", accessToken, { name: "City" });
    const added = await apiCall(base, "POST", `/api/v1/fleets/${fleet.id}/vehicles`, accessToken, {
      name: "bus-17",
    });
    const vehicleApi = `/api/v1/fleets/${fleet.id}/vehicles/${added.vehicle.id}`;
    const camera = await apiCall(base, "POST", `${vehicleApi}/cameras`, accessToken, {
      name: "cam2",
    });
    const stateDir = await Deno.makeTempDir({ prefix: "motorcade-vehicle-" });
    try {
      const tokens = new DeviceTokens(await enrol(base, added.enrolment.code, stateDir));
      const device = await tokens.token();
      const full = await makeCmaf({ seconds: SECONDS, size: "640x360", bitrate: "1500k" });
      const proxy = await makeCmaf({ seconds: SECONDS, size: "320x180", bitrate: "100k" });
      const start = yesterdayAt("08:14:00");
      const ingest = `${base}/api/v1/ingest/vehicles/${added.vehicle.id}/cameras/cam2/recordings`;
      const put = async (path: string, body: Uint8Array, headers: Record<string, string>) => {
        const response = await fetch(`${ingest}/${path}`, {
          method: "PUT",
          body: body as BodyInit,
          headers: {
            authorization: `Bearer ${device}`,
            "content-type": "video/iso.segment",
            "content-digest": await contentDigest(body),
            ...headers,
          },
        });
        assert.equal(response.status, 201, await response.text());
      };
      const timing = (i: number, fixture: typeof full) => ({
        "motorcade-segment-start": iso(start + i * 2000),
        "motorcade-segment-duration": (fixture.segments[i].durationMs / 1000).toFixed(3),
      });
      const PROXY = { "motorcade-rendition": "proxy" };
      await put("r1-p/init", proxy.init, PROXY);
      for (const i of proxy.segments.keys()) {
        await put(`r1-p/segments/${i}`, proxy.segments[i].bytes, { ...PROXY, ...timing(i, proxy) });
      }
      await put("r1/init", full.init, {});
      for (const i of RECALLED) {
        await put(`r1/segments/${i}`, full.segments[i].bytes, {
          "motorcade-upload-kind": "recall",
          "motorcade-recall-id": "rcl_test",
          ...timing(i, full),
        });
      }
      const recordings = `${vehicleApi}/cameras/${camera.id}/recordings`;
      await until("both renditions indexed", async () => {
        const list = (await apiCall(base, "GET", recordings, accessToken)).recordings as Array<
          { segmentCount: number }
        >;
        return list.reduce((n, r) => n + r.segmentCount, 0) === SECONDS / 2 + RECALLED.length;
      });
      /** A heartbeat of the vehicle with the issue-12 fields given. */
      const heartbeat = async (extra: Record<string, unknown>) => {
        const response = await fetch(`${base}/api/v1/device/heartbeat`, {
          method: "POST",
          headers: { authorization: `Bearer ${device}`, "content-type": "application/json" },
          body: JSON.stringify({
            sentAt: iso(Date.now()),
            uptimeS: 60,
            clock: { state: "ok", lastJumpAt: null, jumps: 0 },
            cameras: [],
            ...extra,
          }),
        });
        assert.equal(response.status, 200, await response.text());
      };
      await heartbeat({
        inventory: [{
          camera: "cam2",
          rendition: "full",
          ranges: [[start, yesterdayAt("08:20:00")]],
        }],
      });
      await apiCall(base, "POST", `${vehicleApi}/events`, accessToken, {
        kind: "harsh-brake",
        at: iso(yesterdayAt("08:14:12")),
      });

      await using desktop = await ui.page(DESKTOP);
      const { page } = desktop;
      await signInPage(desktop);
      const cameraPage =
        `/admin/fleets/${fleet.id}/vehicles/${added.vehicle.id}/cameras/${camera.id}`;
      await desktop.goto(`${cameraPage}?t=${iso(start + 2_000)}`);
      await page.getByRole("slider", { name: /Timeline of/ }).waitFor();

      // Where the video is: the proxy on the server, full quality where recalled, the rest of
      // what the vehicle holds on the vehicle only.
      await until("the availability band", async () => (await band(page)).length > 0);
      assert.deepEqual(await band(page), [
        "proxy 08:14:00-08:14:10",
        "full 08:14:10-08:14:20",
        "proxy 08:14:20-08:14:30",
        "vehicle 08:14:30-08:20:00",
      ]);
      await page.getByRole("list", { name: "Where the video is" }).waitFor();

      // The operator's event: a marker on the timeline and an entry that plays from it.
      await page.locator('.dvr-event[data-kind="harsh-brake"]').waitFor();
      await page.getByRole("button", { name: "08:14:12 harsh-brake (operator)" }).waitFor();

      // The multivariant playlist: the proxy, and full quality where it was uploaded.
      const heights = new Map<number, number>();
      const seen = () => JSON.stringify([...heights].map(([ms, h]) => [iso(ms).slice(11, 21), h]));
      let state = "";
      await until(() => `playing past 08:14:26 (${state}; seen ${seen()})`, async () => {
        const now = await page.evaluate(() => {
          const video = document.querySelector<HTMLVideoElement>("video.dvr-video")!;
          const buffered = Array.from(
            { length: video.buffered.length },
            (_, i) => `${video.buffered.start(i)}-${video.buffered.end(i)}`,
          );
          return {
            ms: Number(document.querySelector(".dvr-position")?.getAttribute("data-ms") ?? NaN),
            height: video.videoHeight,
            state: `${document.querySelector(".dvr-status")?.textContent} at ${video.currentTime}` +
              ` buffered ${buffered}`,
          };
        });
        state = now.state;
        if (!Number.isNaN(now.ms)) heights.set(now.ms, now.height);
        return now.ms > yesterdayAt("08:14:26");
      }, 60_000);
      const during = [...heights].filter(([ms]) =>
        ms >= yesterdayAt("08:14:11") && ms < yesterdayAt("08:14:19")
      );
      const seenHeights = seen();
      assert.ok(during.some(([, h]) => h === 360), `full quality where recalled: ${seenHeights}`);
      assert.ok(
        [...heights].some(([ms, h]) => ms < yesterdayAt("08:14:09") && h === 180),
        `the proxy before it: ${seenHeights}`,
      );

      // Get full quality of 08:15–08:16 (selected), then follow it as the vehicle reports.
      await desktop.goto(
        `${cameraPage}?t=${iso(yesterdayAt("08:15:00"))}&from=${iso(yesterdayAt("08:15:00"))}&to=${
          iso(yesterdayAt("08:16:00"))
        }`,
      );
      await page.getByRole("button", { name: "Get full quality" }).click();
      const recallOf = (span: string) =>
        page.getByRole("list", { name: "Recalls of this day" }).getByRole("listitem").filter({
          hasText: span,
        });
      const first = recallOf("08:15:00–08:16:00");
      await first.getByText("Queued: waiting for the vehicle").waitFor();
      const firstId = (await first.getAttribute("data-recall"))!;
      await heartbeat({
        recalls: [{
          id: firstId,
          state: "uploading",
          segmentsTotal: 30,
          segmentsDone: 12,
          bytesTotal: 3_000_000,
          bytesDone: 1_200_000,
          missing: [],
        }],
      });
      await first.getByText("12 of 30 segments, 1.2 MB of 3.0 MB").waitFor({ timeout: 10_000 });
      assert.equal(await first.getAttribute("data-state"), "uploading");

      // A second recall (the minute from the cursor) completes with what could not be had.
      await desktop.goto(`${cameraPage}?t=${iso(yesterdayAt("08:19:30"))}`);
      await page.getByRole("button", { name: "Get full quality" }).click();
      const second = recallOf("08:19:30–08:20:30");
      await second.getByText("Queued: waiting for the vehicle").waitFor();
      await heartbeat({
        recalls: [{
          id: (await second.getAttribute("data-recall"))!,
          state: "done",
          segmentsTotal: 15,
          segmentsDone: 15,
          bytesTotal: 1_500_000,
          bytesDone: 1_500_000,
          missing: [{
            from: iso(yesterdayAt("08:20:00")),
            to: iso(yesterdayAt("08:20:30")),
            reason: "not-recorded",
          }],
        }],
      });
      await second.getByText("Partial").waitFor({ timeout: 10_000 });
      await second.getByText("Missing: 08:20:00–08:20:30 (not recorded)").waitFor();
      await page.getByRole("status").filter({ hasText: "Recall of 08:19:30–08:20:30: Partial" })
        .waitFor();

      // The first one, still under way, is cancelled from the page.
      await page.getByRole("button", { name: "Cancel the recall of 08:15:00–08:16:00" }).click();
      await first.getByText("Cancelled").waitFor({ timeout: 10_000 });
      const after = await apiCall(
        base,
        "GET",
        `/api/v1/fleets/${fleet.id}/recalls/${firstId}`,
        accessToken,
      );
      assert.equal(after.state, "cancelled");

      await desktop.checkPage("dvr-recall");
      await using phone = await ui.page(PHONE);
      await signInPage(phone);
      await phone.goto(`${cameraPage}?t=${iso(start + 2_000)}`);
      await phone.page.locator(".dvr-where").first().waitFor();
      await phone.page.getByRole("list", { name: "Recalls of this day" }).waitFor();
      await phone.checkPage("dvr-recall");
      assert.deepEqual(desktop.problems.filter((p) => !/favicon/.test(p)), []);

      // A viewer follows the recalls but is offered neither "Get full quality" nor Cancel.
      const viewer = { email: "viewer@city.test", password: "viewer-password-1" };
      await apiCall(base, "POST", `/api/v1/fleets/${fleet.id}/users`, accessToken, {
        ...viewer,
        role: "viewer",
      });
      await using watcher = await ui.page(DESKTOP);
      await signInPage(watcher, base, viewer);
      await watcher.goto(`${cameraPage}?t=${iso(start + 2_000)}`);
      await watcher.page.getByRole("list", { name: "Recalls of this day" }).waitFor();
      await watcher.page.getByText("Operators ask the vehicle for full quality").waitFor();
      assert.equal(await watcher.page.getByRole("button", { name: "Get full quality" }).count(), 0);
      assert.equal(
        await watcher.page.getByRole("button", { name: /^Cancel the recall/ }).count(),
        0,
      );
    } finally {
      await Deno.remove(stateDir, { recursive: true });
    }
  },
});
