/**
 * The fleet dashboard in Chromium: a vehicle started by the test (the real agent) shows online
 * without a reload and offline after it stops; filter and sort live in the URL (reload and Back
 * keep them); the page passes axe, fits a phone and is screenshotted at both sizes.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { startAgent } from "../support/agent.ts";
import { hasChromium } from "../support/browser.ts";
import { apiCall, setUpVehicle } from "../support/fleet_api.ts";
import { beat } from "../support/heartbeat.ts";
import { DESKTOP, PAGE_SIZES, signInPage, startUi } from "./support.ts";

const AGENT_ARGS = [
  "--video-size",
  "320x180",
  "--fps",
  "10",
  "--bitrate",
  "200000",
  "--segment-seconds",
  "2",
  "--heartbeat-seconds",
  "1",
];

const rowOf = (page: Page, vehicleId: string) => page.locator(`tr[data-vehicle="${vehicleId}"]`);
const shownNames = (page: Page) =>
  page.locator("#dashboard-vehicles tbody th[scope=row] a").allTextContents();

/** Waits (up to 5 s) until field `label` holds `expected`; fails showing what it holds. */
async function expectValue(page: Page, label: string, expected: string) {
  const field = page.getByLabel(label);
  const deadline = Date.now() + 5_000;
  let value = await field.inputValue();
  while (value !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    value = await field.inputValue();
  }
  assert.equal(value, expected, `field ${label}`);
}

/** Waits (up to 5 s) until the table shows `expected` in this order; fails showing what it shows. */
async function expectNames(page: Page, expected: string[], message?: string) {
  const deadline = Date.now() + 5_000;
  let shown = await shownNames(page);
  while (JSON.stringify(shown) !== JSON.stringify(expected) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    shown = await shownNames(page);
  }
  assert.deepEqual(shown, expected, message);
}

Deno.test({
  name: "the dashboard shows a running agent online without a reload, then offline after it stops",
  ignore: !hasChromium,
  async fn() {
    await using ui = await startUi({ VEHICLE_OFFLINE_AFTER: "4s" });
    const vehicle = await setUpVehicle(ui.url, ["front", "rear"]);
    const spoolDir = await Deno.makeTempDir({ prefix: "motorcade-spool-" });
    try {
      await using page = await ui.page(DESKTOP);
      await signInPage(page, ui.url);
      await page.goto(`/admin/fleets/${vehicle.fleetId}`);
      const row = rowOf(page.page, vehicle.vehicleId);
      assert.equal(await row.getAttribute("data-online"), "false", "never seen: offline");
      assert.equal(
        await row.getByRole("link", { name: "bus-1" }).getAttribute("href"),
        `/admin/fleets/${vehicle.fleetId}/vehicles/${vehicle.vehicleId}`,
      );
      assert.equal(
        await row.getByRole("link", { name: "front" }).getAttribute("href"),
        `/admin/fleets/${vehicle.fleetId}/vehicles/${vehicle.vehicleId}/cameras/${vehicle.cameras.front}`,
      );
      await page.page.locator('[data-connection="live"]').waitFor();
      await page.page.evaluate(() => Object.assign(globalThis, { notReloaded: true }));

      const agent = startAgent({
        server: ui.url,
        stateDir: vehicle.stateDir,
        spoolDir,
        cameras: { front: "testsrc" },
        args: AGENT_ARGS,
      });
      try {
        await page.page.locator(`tr[data-vehicle="${vehicle.vehicleId}"][data-online="true"]`)
          .waitFor({ timeout: 30_000 });
        await row.locator(".rec-on", { hasText: "Recording" }).waitFor({ timeout: 30_000 });
        assert.match(await row.textContent() ?? "", /Online/);
        await page.checkPage("dashboard-live");
      } finally {
        const status = await agent.stop("SIGTERM");
        assert.equal(status.code, 0, agent.logs.slice(-20).join("\n"));
      }
      await page.page.locator(`tr[data-vehicle="${vehicle.vehicleId}"][data-online="false"]`)
        .waitFor({ timeout: 20_000 });
      assert.match(await row.textContent() ?? "", /Offline/);
      assert.equal(
        await page.page.evaluate(() => (globalThis as { notReloaded?: boolean }).notReloaded),
        true,
        "the page was never reloaded",
      );
      await page.page.locator("[aria-live=polite]", { hasText: "bus-1 is offline" }).waitFor({
        timeout: 5_000,
      });
      assert.deepEqual(page.problems, []);
    } finally {
      await Deno.remove(spoolDir, { recursive: true }).catch(() => {});
      await Deno.remove(vehicle.stateDir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "the dashboard keeps its filter and sort in the URL across reload and Back",
  ignore: !hasChromium,
  async fn() {
    await using ui = await startUi();
    const vehicle = await setUpVehicle(ui.url, ["front", "rear"]);
    try {
      for (const name of ["bus-10", "bus-2"]) {
        await apiCall(
          ui.url,
          "POST",
          `/api/v1/fleets/${vehicle.fleetId}/vehicles`,
          vehicle.ownerToken,
          {
            name,
          },
        );
      }
      await beat(ui.url, vehicle);
      const home = `/admin/fleets/${vehicle.fleetId}`;
      for (const size of PAGE_SIZES) {
        await using ui2 = await ui.page(size);
        const { page } = ui2;
        await signInPage(ui2, ui.url);
        await ui2.goto(home);
        await page.locator('[data-connection="live"]').waitFor();
        await expectNames(page, ["bus-1", "bus-2", "bus-10"], "by name, numerically");
        assert.match(await rowOf(page, vehicle.vehicleId).textContent() ?? "", /Online/);
        await ui2.checkPage("dashboard");

        // An update patches the rows in place: keyboard focus stays on its link.
        const link = rowOf(page, vehicle.vehicleId).getByRole("link", { name: "bus-1" });
        await link.focus();
        await beat(ui.url, vehicle, 7);
        await rowOf(page, vehicle.vehicleId).locator(".backlog", { hasText: "7 seg ·" }).waitFor();
        assert.equal(
          await page.evaluate(() => document.activeElement?.textContent),
          "bus-1",
          "focus kept across an update",
        );

        await page.getByLabel("Status").selectOption("offline");
        await page.waitForURL((u) => u.search === "?status=offline");
        await expectNames(page, ["bus-2", "bus-10"]);
        await page.getByLabel("Sort by").selectOption("backlog");
        await page.waitForURL((u) => u.search === "?status=offline&sort=backlog");
        await page.getByLabel("Status").selectOption("all");
        await page.waitForURL((u) => u.search === "?sort=backlog");
        await expectNames(page, ["bus-1", "bus-2", "bus-10"], "backlog first");
        await page.getByLabel("Search").fill("bus-1");
        await page.waitForURL((u) => u.search === "?q=bus-1&sort=backlog");
        await expectNames(page, ["bus-1", "bus-10"]);

        await page.reload({ waitUntil: "load" });
        await expectValue(page, "Search", "bus-1");
        await expectValue(page, "Sort by", "backlog");
        await expectNames(page, ["bus-1", "bus-10"], "rendered so by the server");
        await page.locator('[data-connection="live"]').waitFor();
        await expectNames(page, ["bus-1", "bus-10"], "and kept by the island");

        await page.goBack();
        await page.waitForURL((u) => u.search === "?sort=backlog");
        await expectValue(page, "Search", "");
        await expectNames(page, ["bus-1", "bus-2", "bus-10"]);
        await page.goBack();
        await page.waitForURL((u) => u.search === "?status=offline&sort=backlog");
        await expectValue(page, "Status", "offline");
        await expectNames(page, ["bus-2", "bus-10"]);

        await page.getByLabel("Recording").selectOption("recording");
        await page.getByText("No vehicle matches this filter.").waitFor();
        assert.deepEqual(ui2.problems, [], `no page error (${size.name})`);
      }
    } finally {
      await Deno.remove(vehicle.stateDir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "the dashboard shows reconnecting while the status stream fails, then live again",
  ignore: !hasChromium,
  async fn() {
    await using ui = await startUi();
    const vehicle = await setUpVehicle(ui.url, ["front"]);
    try {
      await using ui2 = await ui.page(DESKTOP);
      const { page } = ui2;
      await signInPage(ui2, ui.url);
      const events = `**/api/v1/fleets/${vehicle.fleetId}/status/events`;
      let refused = 0;
      await page.route(events, (route) => (refused++, route.abort("connectionreset")));
      await ui2.goto(`/admin/fleets/${vehicle.fleetId}`);
      await page.locator('[data-connection="reconnecting"]', { hasText: "Reconnecting…" })
        .waitFor();
      assert.ok(refused >= 1);
      await page.unroute(events);
      await page.locator('[data-connection="live"]').waitFor({ timeout: 20_000 });
      await beat(ui.url, vehicle);
      await rowOf(page, vehicle.vehicleId).locator(".state", { hasText: "Online" }).waitFor();
      // Failed fetches are logged by Chromium as console errors; nothing else may be.
      assert.deepEqual(ui2.problems.filter((p) => !/Failed to load resource/.test(p)), []);
    } finally {
      await Deno.remove(vehicle.stateDir, { recursive: true }).catch(() => {});
    }
  },
});
