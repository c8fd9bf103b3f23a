/**
 * The camera DVR page in Chromium: a vehicle "bus-17" uploads two recordings of camera "cam2"
 * timed yesterday 08:13:30–08:14:30 and 08:15:00–08:16:00 (a 30 s hole between), as a vehicle
 * back from a day offline sends its spool; the page plays, seeks across the hole, exports a clip
 * ffprobe accepts, keeps its place on reload and Back, and shares a link that plays signed out.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { apiCall } from "../support/fleet_api.ts";
import { makeCmaf } from "../support/media.ts";
import { OWNER } from "../support/platform.ts";
import { recordingUpload } from "../support/recording_upload.ts";
import { hasChromium } from "../support/browser.ts";
import { startServer } from "../support/server.ts";
import { DeviceTokens, enrol } from "../../vehicle/identity.ts";
import { DESKTOP, PHONE, signInPage, startUi, type UiRun } from "./support.ts";

const DAY_MS = 86_400_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Yesterday (UTC, the fleet's default zone) at `hh:mm:ss`. */
function yesterdayAt(clock: string): number {
  const today = new Date().toISOString().slice(0, 10);
  return Date.parse(`${today}T${clock}Z`) - DAY_MS;
}

interface Bus {
  fleetId: string;
  vehicleId: string;
  cameraId: string;
  a: { from: number; to: number };
  b: { from: number; to: number };
  stateDir: string;
  /** Uploads the minute of video as recording `recording` of cam2 from `start`, left open. */
  uploadOpen(recording: string, start: number): Promise<void>;
}

/** Polls `check` every 250 ms until it holds, at most `ms` milliseconds. */
async function until(what: string, check: () => Promise<boolean> | boolean, ms = 30_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(250);
  }
  throw new Error(`Timed out waiting for ${what}`);
}

/** Sets up fleet, "bus-17" with cameras cam1 and cam2, and cam2's two uploads from yesterday. */
async function busWithYesterday(ui: UiRun): Promise<Bus> {
  const base = ui.url;
  const { accessToken } = await apiCall(base, "POST", "/api/v1/auth/login", undefined, OWNER);
  const fleet = await apiCall(base, "POST", "/api/v1/fleets", accessToken, { name: "City" });
  const added = await apiCall(base, "POST", `/api/v1/fleets/${fleet.id}/vehicles`, accessToken, {
    name: "bus-17",
  });
  const cameras: Record<string, string> = {};
  for (const name of ["cam1", "cam2"]) {
    const camera = await apiCall(
      base,
      "POST",
      `/api/v1/fleets/${fleet.id}/vehicles/${added.vehicle.id}/cameras`,
      accessToken,
      { name },
    );
    cameras[name] = camera.id;
  }
  const stateDir = await Deno.makeTempDir({ prefix: "motorcade-vehicle-" });
  const tokens = new DeviceTokens(await enrol(base, added.enrolment.code, stateDir));
  const token = await tokens.token();
  const cmaf = await makeCmaf({ seconds: 60, segmentSeconds: 2 });
  const total = cmaf.segments.reduce((ms, s) => ms + s.durationMs, 0);
  const a = { from: yesterdayAt("08:13:30"), to: yesterdayAt("08:13:30") + total };
  const b = { from: yesterdayAt("08:15:00"), to: yesterdayAt("08:15:00") + total };
  for (const [recording, range] of [["r-a", a], ["r-b", b]] as const) {
    const upload = recordingUpload(base, added.vehicle.id, token, cmaf, {
      camera: "cam2",
      recording,
      start: range.from,
    });
    const init = await upload.put("init", cmaf.init, { "content-type": "video/mp4" });
    assert.equal(init.status, 201, init.text);
    for (let i = 0; i < cmaf.segments.length; i++) {
      const answer = await upload.segment(i);
      assert.equal(answer.status, 201, answer.text);
    }
    const ended = await fetch(
      `${base}/api/v1/ingest/vehicles/${added.vehicle.id}/cameras/cam2/recordings/${recording}/end`,
      {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ endedAt: new Date(range.to).toISOString() }),
      },
    );
    assert.equal(ended.status, 204, await ended.text());
  }
  const list =
    `/api/v1/fleets/${fleet.id}/vehicles/${added.vehicle.id}/cameras/${cameras.cam2}/recordings`;
  await until("both recordings indexed and closed", async () => {
    const { recordings } = await apiCall(base, "GET", list, accessToken);
    return recordings.length === 2 &&
      recordings.every((r: { closedAt: string | null; segmentCount: number }) =>
        r.closedAt && r.segmentCount === cmaf.segments.length
      );
  });
  return {
    fleetId: fleet.id,
    vehicleId: added.vehicle.id,
    cameraId: cameras.cam2,
    a,
    b,
    stateDir,
    async uploadOpen(recording, start) {
      const upload = recordingUpload(base, added.vehicle.id, token, cmaf, {
        camera: "cam2",
        recording,
        start,
      });
      assert.equal(
        (await upload.put("init", cmaf.init, { "content-type": "video/mp4" })).status,
        201,
      );
      for (let i = 0; i < cmaf.segments.length; i++) {
        assert.equal((await upload.segment(i)).status, 201);
      }
      await until("the open recording indexed", async () => {
        const { recordings } = await apiCall(base, "GET", list, accessToken);
        return recordings.length === 3 && recordings[2].segmentCount === cmaf.segments.length;
      });
    },
  };
}

/** The wall-clock instant the page says it plays, or null. */
async function position(page: Page): Promise<number | null> {
  const ms = await page.locator(".dvr-position").getAttribute("data-ms").catch(() => null);
  return ms === null ? null : Number(ms);
}

/** Waits until the video plays past `ms` (wall clock) with decoded frames, and returns where. */
async function playsPast(page: Page, ms: number, what: string): Promise<number> {
  let at: number | null = null;
  await until(`${what}: playing past ${new Date(ms).toISOString()}`, async () => {
    at = await position(page);
    return at !== null && at > ms;
  });
  const quality = await page.locator("video.dvr-video").evaluate((v: HTMLVideoElement) => ({
    frames: v.getVideoPlaybackQuality().totalVideoFrames,
    paused: v.paused,
  }));
  assert.ok(quality.frames > 0, `${what}: frames decoded (${quality.frames})`);
  return at!;
}

/** x of instant `ms` on the timeline. */
async function timelineX(page: Page, ms: number, dayStart: number): Promise<[number, number]> {
  await page.locator(".dvr-bars").scrollIntoViewIfNeeded();
  let box = (await page.locator(".dvr-bars").boundingBox())!;
  for (let i = 0; i < 20; i++) {
    await sleep(100);
    const again = (await page.locator(".dvr-bars").boundingBox())!;
    if (again.y === box.y) break;
    box = again;
  }
  return [box.x + box.width * (ms - dayStart) / DAY_MS, box.y + box.height / 2];
}

async function ffprobeFrames(path: string): Promise<number> {
  const output = await new Deno.Command("ffprobe", {
    args: [
      "-v",
      "error",
      "-count_frames",
      "-select_streams",
      "v:0",
      "-show_entries",
      "stream=nb_read_frames,codec_name",
      "-of",
      "json",
      path,
    ],
    stderr: "piped",
    stdout: "piped",
  }).output();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  const stream = JSON.parse(new TextDecoder().decode(output.stdout)).streams[0];
  assert.equal(stream.codec_name, "h264");
  return Number(stream.nb_read_frames);
}

/** Exports the page's range as a clip, saves the download and returns ffprobe's frame count. */
async function exportClip(page: Page, work: string): Promise<number> {
  await page.getByRole("button", { name: "Export clip" }).click();
  const link = page.getByRole("link", { name: /Download clip/ });
  await link.waitFor({ timeout: 60_000 });
  const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
  assert.match(download.suggestedFilename(), /\.mp4$/);
  const file = `${work}/${download.suggestedFilename()}`;
  await download.saveAs(file);
  return await ffprobeFrames(file);
}

Deno.test({
  name: "DVR page plays a recorded minute, seeks across a hole, exports a clip and keeps its place",
  ignore: !hasChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using ui = await startUi();
    const bus = await busWithYesterday(ui);
    const work = await Deno.makeTempDir({ prefix: "motorcade-dvr-" });
    try {
      await using desktop = await ui.page(DESKTOP);
      const { page } = desktop;
      await signInPage(desktop);
      const dayStart = yesterdayAt("00:00:00");
      const start = bus.a.from + 5_000;
      const camera =
        `/admin/fleets/${bus.fleetId}/vehicles/${bus.vehicleId}/cameras/${bus.cameraId}`;
      await desktop.goto(`${camera}?t=${new Date(start).toISOString()}`);
      await page.getByRole("slider", { name: /Timeline of/ }).waitFor();

      // A recorded minute plays from the URL's time.
      const first = await playsPast(page, start + 5_000, "recording A");
      assert.ok(first < bus.a.to, "still in recording A");

      // Seeking across the hole into recording B (its entry in the day's list) keeps playing.
      await page.getByRole("button", { name: /^08:15:00–/ }).click();
      await playsPast(page, bus.b.from + 3_000, "recording B after the hole");
      assert.match(new URL(page.url()).searchParams.get("t")!, /T08:15:00/);

      // Drag across 08:14 on the timeline: a range; export it as a clip.
      const [x1, y] = await timelineX(page, yesterdayAt("08:13:40"), dayStart);
      const [x2] = await timelineX(page, yesterdayAt("08:14:20"), dayStart);
      await page.mouse.move(x1 - 4, y);
      await page.mouse.down();
      await page.mouse.move(x2 + 4, y, { steps: 4 });
      await page.mouse.up();
      await until("the range in the URL", () => new URL(page.url()).searchParams.has("to"));
      const selected = new URL(page.url()).searchParams;
      assert.ok(selected.get("from") && selected.get("to"), `range in the URL: ${page.url()}`);
      const frames = await exportClip(page, work);
      assert.ok(frames >= 25, `the clip holds video (${frames} frames)`);

      // Reload lands on the same place; Back goes to the place before the range.
      const withRange = page.url();
      await page.reload({ waitUntil: "load" });
      assert.equal(page.url(), withRange);
      await page.getByText(/^Range /).waitFor();
      await playsPast(page, Date.parse(selected.get("t")!), "after reload");
      await page.goBack({ waitUntil: "load" });
      await until(
        "Back to the seek into B",
        () => /T08:15:00/.test(new URL(page.url()).searchParams.get("t") ?? ""),
      );
      assert.equal(new URL(page.url()).searchParams.get("from"), null);
      await playsPast(page, bus.b.from + 1_000, "after Back");

      // Zoomed to 16 minutes around the cursor, a minute's recording is a wide bar.
      for (let i = 0; i < 3; i++) await page.getByRole("button", { name: "Zoom in" }).click();
      await page.getByText("Showing 16 minutes").waitFor();
      const bars = await page.locator(".dvr-recording").evaluateAll((rects) =>
        rects.map((r) => r.getBoundingClientRect().width)
      );
      assert.ok(bars.some((w) => w > 40), `recordings drawn wide when zoomed: ${bars}`);

      await desktop.checkPage("dvr");

      // Jump to live: a recording still growing (started a minute ago) plays at its live edge.
      const liveStart = Date.now() - 62_000;
      await bus.uploadOpen("r-now", liveStart);
      await page.getByRole("button", { name: "Jump to live" }).click();
      await playsPast(page, liveStart + 30_000, "the live edge");
      assert.equal(new URL(page.url()).searchParams.get("t"), null, "live has no time in the URL");

      await using phone = await ui.page(PHONE);
      await signInPage(phone);
      await phone.goto(`${camera}?t=${new Date(start).toISOString()}`);
      await playsPast(phone.page, start + 2_000, "phone");
      await phone.checkPage("dvr");
      assert.deepEqual(desktop.problems.filter((p) => !/favicon/.test(p)), []);
    } finally {
      await Deno.remove(work, { recursive: true });
      await Deno.remove(bus.stateDir, { recursive: true });
    }
  },
});

Deno.test({
  name: "an operator plays what camera 2 of bus 17 saw at 08:14 yesterday and shares the clip",
  ignore: !hasChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using ui = await startUi();
    const bus = await busWithYesterday(ui);
    const work = await Deno.makeTempDir({ prefix: "motorcade-journey-" });
    try {
      await using operator = await ui.page(DESKTOP);
      const { page } = operator;
      await signInPage(operator);
      // Dashboard → vehicle → camera, by links.
      await operator.goto("/admin/fleets");
      await page.getByRole("link", { name: /City/ }).first().click();
      await page.getByRole("link", { name: /bus-17/ }).first().click();
      await page.getByRole("link", { name: /cam2/ }).first().click();
      await page.getByRole("slider", { name: /Timeline of/ }).waitFor();

      // Yesterday, through the day picker; 08:14 with the keyboard; Enter plays.
      const yesterday = new Date(Date.now() - DAY_MS).toISOString().slice(0, 10);
      await page.getByLabel(/^Day/).fill(yesterday);
      await Promise.all([
        page.waitForURL((u) => u.searchParams.get("day") === yesterday),
        page.getByRole("button", { name: "Show day" }).click(),
      ]);
      const timeline = page.getByRole("slider", {
        name: `Timeline of ${yesterday}: arrow keys move, Enter plays`,
      });
      await timeline.focus();
      await page.keyboard.press("Home");
      for (let i = 0; i < 8; i++) await page.keyboard.press("PageUp");
      for (let i = 0; i < 14; i++) await page.keyboard.press("ArrowRight");
      assert.match((await timeline.getAttribute("aria-valuetext"))!, /^08:14:00/);
      await page.keyboard.press("Enter");
      const at = await playsPast(page, yesterdayAt("08:14:03"), "08:14 yesterday");
      assert.ok(at < bus.a.to);
      assert.match(
        new URL(page.url()).searchParams.get("t")!,
        new RegExp(`^${yesterday}T08:14:00`),
      );

      // The clip (the minute from the cursor) and a share link.
      const frames = await exportClip(page, work);
      assert.ok(frames >= 25, `clip frames: ${frames}`);
      await page.getByLabel("Link lifetime").selectOption({ label: "1 day" });
      await page.getByRole("button", { name: "Create share link" }).click();
      const shared = await page.getByRole("textbox", { name: /^Share link/ }).inputValue();
      assert.match(shared, /\/admin\/watch\?hls=/);

      // A fresh browser context, never signed in, plays it.
      const context = await ui.browser.newContext();
      try {
        const fresh = await context.newPage();
        await fresh.goto(shared);
        await until(
          "the shared link playing",
          async () =>
            await fresh.locator("video").evaluate((v: HTMLVideoElement) =>
              v.currentTime > 2 && v.getVideoPlaybackQuality().totalVideoFrames > 0
            ),
        );
        assert.equal((await context.cookies()).length, 0, "no session in the fresh context");
      } finally {
        await context.close();
      }
    } finally {
      await Deno.remove(work, { recursive: true });
      await Deno.remove(bus.stateDir, { recursive: true });
    }
  },
});

Deno.test("shared-link page plays only a signed playlist URL of this server", async () => {
  await using server = await startServer();
  const camera = "/api/v1/fleets/flt_1/vehicles/veh_1/cameras/cam_1/index.m3u8";
  for (
    const hls of [
      "",
      `https://elsewhere.example${camera}?from=x&sig=abc`,
      `${server.url}${camera}?from=2026-12-06T08:00:00Z`,
      `${server.url}/api/v1/fleets/flt_1/links?sig=abc`,
    ]
  ) {
    const response = await fetch(`${server.url}/admin/watch?hls=${encodeURIComponent(hls)}`);
    const html = await response.text();
    assert.equal(response.status, 400, hls);
    assert.match(html, /must be a signed playlist link of this server/);
    assert.doesNotMatch(html, /SharedPlayer/);
  }
  const signed = `${server.url}${camera}?from=2026-12-06T08:00:00Z&exp=1&kid=k&link=l&sig=abc`;
  const response = await fetch(`${server.url}/admin/watch?hls=${encodeURIComponent(signed)}`);
  assert.equal(response.status, 200);
  assert.match(await response.text(), /SharedPlayer/);
});
