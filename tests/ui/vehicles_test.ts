/**
 * The vehicles pages in Chromium: an admin registers a vehicle and gets its code and agent
 * command, the real agent enrols with that command and the page says so without a reload;
 * cameras and vehicles are added, renamed and removed through forms; a viewer sees no admin
 * action and its posts are refused; the vehicle page's live grid plays a camera (LIVE on).
 */
import assert from "node:assert/strict";
import { hasChromium, launchChromium } from "../support/browser.ts";
import { apiCall } from "../support/fleet_api.ts";
import { inLiveNamespace, SMALL_VIDEO, startLiveVehicle } from "../support/live.ts";
import { OWNER } from "../support/platform.ts";
import type { Browser, Page } from "playwright-core";
import {
  assertAccessible,
  assertNoSideScroll,
  DESKTOP,
  PAGE_SIZES,
  type PageSize,
  PHONE,
  screenshot,
  signInPage,
  startUi,
} from "./support.ts";

const REPO = new URL("../../", import.meta.url).pathname;
const VIEWER = { email: "viewer@example.com", password: "a viewer's long passphrase" };

async function ownerToken(url: string): Promise<string> {
  return (await apiCall(url, "POST", "/api/v1/auth/login", undefined, OWNER)).accessToken;
}

/** Runs the agent command a page showed (`deno task vehicle enrol …`) with state in `stateDir`. */
async function runEnrolCommand(command: string, stateDir: string): Promise<string> {
  const words = command.split(/\s+/);
  assert.deepEqual(words.slice(0, 4), ["deno", "task", "vehicle", "enrol"], command);
  const args = words.slice(2);
  const state = args.indexOf("--state");
  assert.ok(state > 0, `the command names a state folder: ${command}`);
  args[state + 1] = stateDir;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", ...args],
    cwd: REPO,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, `the agent enrols: ${text}`);
  return text;
}

Deno.test({
  name:
    "vehicles page enrols a vehicle with the command it shows, and manages cameras and vehicles",
  ignore: !hasChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using ui = await startUi();
    const token = await ownerToken(ui.url);
    const fleet = await apiCall(ui.url, "POST", "/api/v1/fleets", token, { name: "Acme" });
    await using desktop = await ui.page(DESKTOP);
    const { page } = desktop;
    await signInPage(desktop);
    await desktop.goto(`/admin/fleets/${fleet.id}/vehicles`);
    await page.getByText("No vehicle registered yet.").waitFor();

    // A refused name is shown next to its field with the API's message.
    await page.getByLabel("New vehicle").fill("bad name!");
    await page.getByRole("button", { name: "Add vehicle" }).click();
    const nameProblem = page.locator("#add-name-problem");
    await nameProblem.waitFor();
    assert.match(await nameProblem.innerText(), /\S/);
    assert.equal(await page.getByLabel("New vehicle").getAttribute("aria-invalid"), "true");
    desktop.problems.length = 0; // the refused form's 400 is logged by the browser

    await page.getByLabel("New vehicle").fill("bus-17");
    await page.getByRole("button", { name: "Add vehicle" }).click();
    const code = (await page.getByTestId("enrol-code").innerText()).trim();
    const command = (await page.getByTestId("enrol-command").innerText()).trim();
    assert.equal(
      command,
      `deno task vehicle enrol --server ${ui.url} --code ${code} --state /var/lib/motorcade`,
    );
    await page.getByRole("button", { name: "Copy command" }).waitFor();
    assert.match(await page.getByTestId("enrolment-state").innerText(), /^Pending/);
    await desktop.checkPage("vehicles-enrol");

    // The real agent redeems the code; the page turns to enrolled without a reload.
    const stateDir = await Deno.makeTempDir({ prefix: "motorcade-enrol-" });
    try {
      await runEnrolCommand(command, stateDir);
      await page.getByTestId("enrolment-state").getByText(/^Enrolled/).waitFor({
        timeout: 15_000,
      });
    } finally {
      await Deno.remove(stateDir, { recursive: true });
    }

    // Add a camera, rename the vehicle, remove the camera, remove the vehicle: each through its
    // form, each redirecting back with a notice.
    await desktop.goto(`/admin/fleets/${fleet.id}/vehicles`);
    const card = page.locator(".vehicle-card", { hasText: "bus-17" });
    await card.getByText("Manage bus-17").click();
    await card.getByLabel("New camera").fill("front");
    await card.getByRole("button", { name: "Add camera" }).click();
    await page.getByText("Camera added.").waitFor();
    const added = page.locator(".vehicle-card", { hasText: "bus-17" });
    await added.getByRole("link", { name: "front" }).waitFor();

    await added.getByText("Manage bus-17").click();
    await added.getByLabel("Name", { exact: true }).fill("bus-18");
    await added.getByRole("button", { name: "Rename" }).click();
    await page.getByText("Vehicle renamed.").waitFor();
    const renamed = page.locator(".vehicle-card", { hasText: "bus-18" });
    await renamed.getByRole("link", { name: "bus-18" }).waitFor();

    await renamed.getByText("Manage bus-18").click();
    await renamed.getByText("Remove camera front…").click();
    await renamed.getByText(/Its recordings leave the catalog at once/).first().waitFor();
    await renamed.getByRole("button", { name: "Remove camera front" }).click();
    await page.getByText(/Camera removed\. Its recordings left the catalog/).waitFor();
    const cameras = await apiCall(
      ui.url,
      "GET",
      `/api/v1/fleets/${fleet.id}/vehicles/${(await vehicleId(ui.url, token, fleet.id))}/cameras`,
      token,
    );
    assert.deepEqual(cameras.cameras, []);

    const again = page.locator(".vehicle-card", { hasText: "bus-18" });
    await again.getByText("Manage bus-18").click();
    await again.getByText("Remove vehicle bus-18…").click();
    await again.getByRole("button", { name: "Remove vehicle bus-18" }).click();
    await page.getByText(/Vehicle removed\./).waitFor();
    await page.getByText("No vehicle registered yet.").waitFor();
    assert.deepEqual(
      (await apiCall(ui.url, "GET", `/api/v1/fleets/${fleet.id}/vehicles`, token)).vehicles,
      [],
    );
    assert.deepEqual(desktop.problems, []);
  },
});

Deno.test({
  name:
    "vehicle page labels a camera through its form; the label names it on every page, its name stays",
  ignore: !hasChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using ui = await startUi();
    const token = await ownerToken(ui.url);
    const fleet = await apiCall(ui.url, "POST", "/api/v1/fleets", token, { name: "Acme" });
    const { vehicle } = await apiCall(
      ui.url,
      "POST",
      `/api/v1/fleets/${fleet.id}/vehicles`,
      token,
      { name: "bus-17" },
    );
    const cameras = `/api/v1/fleets/${fleet.id}/vehicles/${vehicle.id}/cameras`;
    const camera = await apiCall(ui.url, "POST", cameras, token, { name: "front" });
    await using desktop = await ui.page(DESKTOP);
    const { page } = desktop;
    await signInPage(desktop);
    const one = `/admin/fleets/${fleet.id}/vehicles/${vehicle.id}`;
    await desktop.goto(one);

    // A refused label comes back next to its field with the API's message, nothing stored.
    await page.getByText("Label cameras").click();
    const field = page.getByLabel("Label of camera front");
    await field.evaluate((input: HTMLInputElement) => input.value = "Door\u0007");
    await page.getByRole("button", { name: "Save label of camera front" }).click();
    const problem = page.locator(`#label-${camera.id}-problem`);
    await problem.waitFor();
    assert.match(await problem.innerText(), /control characters/);
    assert.equal(await field.getAttribute("aria-invalid"), "true");
    desktop.problems.length = 0; // the refused form's 400 is logged by the browser

    await field.fill("Windscreen");
    await page.getByRole("button", { name: "Save label of camera front" }).click();
    await page.getByText("Camera label saved.").waitFor();
    await page.getByRole("link", { name: "Recordings of Windscreen" }).waitFor();
    await page.locator(".live-tile", { hasText: "Windscreen" }).waitFor();
    await assertAccessible(page, "vehicle page with camera labels");

    await desktop.goto(`/admin/fleets/${fleet.id}/vehicles`);
    await page.getByRole("link", { name: "Windscreen", exact: true }).waitFor();
    await desktop.goto(`${one}/cameras/${camera.id}`);
    assert.equal(await page.locator("h1").innerText(), "bus-17 · Windscreen");
    await desktop.goto(`/admin/fleets/${fleet.id}`);
    await page.getByRole("link", { name: "Windscreen", exact: true }).waitFor();

    // The agent's name is untouched; an empty label shows the name again.
    const listed = await apiCall(ui.url, "GET", cameras, token);
    assert.deepEqual(listed.cameras.map((c: { name: string }) => c.name), ["front"]);
    await desktop.goto(one);
    await page.getByText("Label cameras").click();
    await page.getByLabel("Label of camera front").fill("");
    await page.getByRole("button", { name: "Save label of camera front" }).click();
    await page.getByRole("link", { name: "Recordings of front" }).waitFor();
    assert.deepEqual(desktop.problems, []);
  },
});

async function vehicleId(url: string, token: string, fleetId: string): Promise<string> {
  const { vehicles } = await apiCall(url, "GET", `/api/v1/fleets/${fleetId}/vehicles`, token);
  return vehicles[0].id;
}

Deno.test({
  name:
    "vehicles pages show a viewer no admin action, refuse its posts, work without script, and pass axe at both sizes",
  ignore: !hasChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using ui = await startUi();
    const token = await ownerToken(ui.url);
    const fleet = await apiCall(ui.url, "POST", "/api/v1/fleets", token, { name: "Acme" });
    const { vehicle } = await apiCall(
      ui.url,
      "POST",
      `/api/v1/fleets/${fleet.id}/vehicles`,
      token,
      { name: "bus-1" },
    );
    for (const name of ["front", "rear"]) {
      await apiCall(
        ui.url,
        "POST",
        `/api/v1/fleets/${fleet.id}/vehicles/${vehicle.id}/cameras`,
        token,
        { name },
      );
    }
    await apiCall(ui.url, "POST", `/api/v1/fleets/${fleet.id}/users`, token, {
      ...VIEWER,
      role: "viewer",
    });
    const list = `/admin/fleets/${fleet.id}/vehicles`;
    const one = `${list}/${vehicle.id}`;

    // The owner's pages at both sizes (with their forms).
    for (const size of PAGE_SIZES) {
      await using owner = await ui.page(size);
      await signInPage(owner);
      await owner.goto(list);
      await owner.page.getByRole("button", { name: "Add vehicle" }).waitFor();
      await owner.checkPage("vehicles");
      await owner.goto(one);
      // LIVE is off on this server: each tile says so instead of offering to watch.
      await owner.page.locator(".live-tile", { hasText: "front" })
        .getByText("Live video is off on this server").waitFor();
      await owner.page.getByRole("link", { name: "Recordings of rear" }).waitFor();
      assert.match(await owner.page.getByTestId("enrolment-state").innerText(), /^Pending/);
      await owner.checkPage("vehicle");
      assert.deepEqual(owner.problems, []);
    }

    await using viewer = await ui.page(PHONE);
    await signInPage(viewer, ui.url, VIEWER);
    for (const path of [list, one]) {
      await viewer.goto(path);
      await viewer.page.getByRole("heading", { level: 1 }).waitFor();
      assert.equal(
        await viewer.page.locator("main form").count(),
        0,
        `a viewer sees no form on ${path}`,
      );
      assert.equal(await viewer.page.getByText(/Manage|Remove|Issue/).count(), 0);
    }
    await viewer.goto(list);
    await viewer.page.getByRole("link", { name: "bus-1" }).waitFor();
    // Posting anyway (with a valid CSRF token) is refused, and nothing changes.
    const statuses = await viewer.page.evaluate(async (paths) => {
      const csrf = document.querySelector<HTMLMetaElement>("meta[name=csrf-token]")!.content;
      const out: number[] = [];
      for (const [path, name] of paths) {
        const body = new URLSearchParams({ _csrf: csrf, name });
        out.push((await fetch(path, { method: "POST", body, redirect: "manual" })).status);
      }
      return out;
    }, [
      [list, "bus-2"],
      [`${one}/rename`, "bus-9"],
      [`${one}/remove`, ""],
      [`${one}/code`, ""],
      [`${one}/cameras`, "side"],
    ]);
    assert.deepEqual(statuses, [403, 403, 403, 403, 403]);
    const after = await apiCall(ui.url, "GET", `/api/v1/fleets/${fleet.id}/vehicles`, token);
    assert.deepEqual(after.vehicles.map((v: { name: string }) => v.name), ["bus-1"]);

    // Without JavaScript the forms still work: add a vehicle, see its code and command, rename it.
    const context = await ui.browser.newContext({ javaScriptEnabled: false });
    try {
      const page = await context.newPage();
      await page.goto(`${ui.url}/admin/sign-in?next=${encodeURIComponent(list)}`);
      await page.getByLabel("Email").fill(OWNER.email);
      await page.getByLabel("Password").fill(OWNER.password);
      await Promise.all([
        page.waitForURL((u) => u.pathname === list),
        page.getByRole("button", { name: "Sign in" }).click(),
      ]);
      await page.getByLabel("New vehicle").fill("bus-2");
      await page.getByRole("button", { name: "Add vehicle" }).click();
      const code = (await page.getByTestId("enrol-code").innerText()).trim();
      assert.match(await page.getByTestId("enrol-command").innerText(), new RegExp(code));
      const card = page.locator(".vehicle-card", { hasText: "bus-2" });
      await card.getByText("Manage bus-2").click();
      await card.getByLabel("Name", { exact: true }).fill("bus-3");
      await card.getByRole("button", { name: "Rename" }).click();
      await page.getByText("Vehicle renamed.").waitFor();
      assert.equal(new URL(page.url()).pathname, list);
    } finally {
      await context.close();
    }
    const renamed = await apiCall(ui.url, "GET", `/api/v1/fleets/${fleet.id}/vehicles`, token);
    assert.deepEqual(renamed.vehicles.map((v: { name: string }) => v.name).sort(), [
      "bus-1",
      "bus-3",
    ]);
  },
});

/** Opens the vehicle page signed in as the owner in a new context at `size`. */
async function ownerOnVehicle(
  browser: Browser,
  url: string,
  path: string,
  size: PageSize,
): Promise<{ page: Page; problems: string[]; close(): Promise<void> }> {
  const context = await browser.newContext({
    viewport: { width: size.width, height: size.height },
    isMobile: size.mobile,
    hasTouch: size.mobile,
    deviceScaleFactor: 1,
  });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(error.message));
  await page.goto(`${url}/admin/sign-in`);
  await page.getByLabel("Email").fill(OWNER.email);
  await page.getByLabel("Password").fill(OWNER.password);
  await Promise.all([
    page.waitForURL((u) => !u.pathname.startsWith("/admin/sign-in")),
    page.getByRole("button", { name: "Sign in" }).click(),
  ]);
  await page.goto(url + path);
  return { page, problems, close: () => context.close() };
}

/** Waits until the first live player shows decoded frames. */
async function plays(page: Page): Promise<void> {
  await page.waitForFunction(
    () => {
      const video = document.querySelector<HTMLVideoElement>(".live-player video");
      return !!video && video.videoWidth > 0 && video.readyState >= 2 &&
        video.getVideoPlaybackQuality().totalVideoFrames > 10;
    },
    undefined,
    { timeout: 60_000, polling: 200 },
  );
}

Deno.test({
  name:
    "vehicle page plays a camera of its live grid on one click, with its quality, and lists its heartbeats",
  ignore: !hasChromium || !inLiveNamespace(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using live = await startLiveVehicle({
      cameras: ["front", "rear"],
      args: [...SMALL_VIDEO, "--heartbeat-seconds", "1"],
    });
    const { server, vehicle } = live;
    await using browser = await launchChromium();
    const path = `/admin/fleets/${vehicle.fleetId}/vehicles/${vehicle.vehicleId}`;
    // A few heartbeats arrive first: the page lists them all, not only the last.
    const token = await ownerToken(server.url);
    const deadline = Date.now() + 30_000;
    const seen = new Set<string>();
    while (seen.size < 3) {
      if (Date.now() > deadline) throw new Error("Timed out waiting for three heartbeats");
      const found = await apiCall(
        server.url,
        "GET",
        `/api/v1/fleets/${vehicle.fleetId}/vehicles/${vehicle.vehicleId}/status`,
        token,
      );
      if (found.reportedAt) seen.add(found.reportedAt);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    for (const size of [DESKTOP, PHONE]) {
      const { page, problems, close } = await ownerOnVehicle(browser, server.url, path, size);
      try {
        assert.ok(
          await page.locator("table.heartbeats tbody tr").count() >= 2,
          "the heartbeat history has several rows",
        );
        // Nothing plays before a click.
        assert.equal(await page.locator(".live-player").count(), 0);
        await page.getByRole("button", { name: "Watch live front" }).click();
        assert.equal(await page.locator(".live-player").count(), 1, "one click, one camera");
        await plays(page);
        await page.getByTestId("live-status").getByText("Live", { exact: true }).waitFor();
        // The layer received is shown, and a quality can be chosen.
        await page.locator(".live-player .badge").waitFor();
        await page.getByLabel("Quality").selectOption("low");
        await page.getByRole("button", { name: "Watch live rear" }).waitFor();
        await assertAccessible(page, `vehicle page playing (${size.name})`);
        await assertNoSideScroll(page, `vehicle page playing (${size.name})`);
        await screenshot(page, `vehicle-live-${size.name}`);
        await page.getByRole("button", { name: "Close" }).click();
        await page.getByRole("button", { name: "Watch live front" }).waitFor();
        assert.deepEqual(problems, []);
      } finally {
        await close();
      }
    }
  },
});
