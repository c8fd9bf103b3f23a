/**
 * The admin pages in Chromium: fleets created by an owner, users added and managed by a fleet
 * admin through forms (role, disable, remove, the password policy), what a viewer sees, the fleet
 * settings (retention dry-run then save, time zone) and system health; each page passes axe with
 * no sideways scroll at desktop and phone size.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { hasChromium } from "../support/browser.ts";
import { apiCall } from "../support/fleet_api.ts";
import { OWNER } from "../support/platform.ts";
import { DESKTOP, PAGE_SIZES, PHONE, signInPage, startUi, type UiPage } from "./support.ts";

const ADMIN = { email: "admin@alpha.test", password: "alpha-admin-pass-1" };
const VIEWER = { email: "viewer@alpha.test", password: "alpha-viewer-pass-1" };

/** Submits the form of `button` and waits for the page it leads to. */
async function submit(page: Page, button: ReturnType<Page["getByRole"]>): Promise<void> {
  await Promise.all([page.waitForNavigation({ waitUntil: "load" }), button.click()]);
}

/** The row of the users table holding `email`. */
function row(page: Page, email: string) {
  return page.locator("table.users tbody tr").filter({ hasText: email });
}

/** Opens the "Manage" disclosure of `email`'s row. */
async function manage(page: Page, email: string) {
  const details = row(page, email).locator("details.manage");
  if (!(await details.getAttribute("open") !== null)) {
    await details.locator("summary").click();
  }
  return details;
}

/** Page problems other than the refusals the test provokes (a 4xx page logs its status). */
const unexpected = (problems: string[]) => problems.filter((p) => !/status of 4\d\d/.test(p));

async function addUser(ui: UiPage, user: { email: string; password: string }, role: string) {
  const { page } = ui;
  await page.getByLabel("Email").fill(user.email);
  await page.getByLabel("Role", { exact: true }).selectOption(role);
  await page.getByLabel("Initial password").fill(user.password);
  await submit(page, page.getByRole("button", { name: "Add user" }));
}

async function signInFails(ui: UiPage, user: { email: string; password: string }) {
  const { page } = ui;
  await ui.goto("/admin/sign-in");
  await page.getByLabel("Email").fill(user.email);
  await page.getByLabel("Password").fill(user.password);
  await submit(page, page.getByRole("button", { name: "Sign in" }));
  assert.match(new URL(page.url()).pathname, /^\/admin\/sign-in/);
  return await page.locator(".problem").innerText();
}

Deno.test({
  name: "an admin manages users through the pages; a viewer sees no admin actions nor other fleets",
  ignore: !hasChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using ui = await startUi();
    // The owner creates two fleets through /admin/fleets, and Alpha's admin through its users page.
    await using owner = await ui.page(DESKTOP);
    await signInPage(owner, ui.url);
    const fleetIds: string[] = [];
    for (const name of ["Alpha", "Beta"]) {
      await owner.goto("/admin/fleets");
      await owner.page.getByLabel("Fleet name").fill(name);
      await submit(owner.page, owner.page.getByRole("button", { name: "Create fleet" }));
      const match = /\/admin\/fleets\/([^/]+)\/settings/.exec(new URL(owner.page.url()).pathname);
      assert.ok(match, `creating ${name} opens its settings: ${owner.page.url()}`);
      await owner.page.getByText("Fleet created.").waitFor();
      fleetIds.push(match[1]);
    }
    const [alpha, beta] = fleetIds;
    await owner.goto(`/admin/fleets/${alpha}/users`);
    await addUser(owner, ADMIN, "admin");
    await owner.page.getByText("User added.").waitFor();

    // Alpha's admin adds a viewer; "12345678" is refused with the policy's words by the field.
    await using admin = await ui.page(DESKTOP);
    await signInPage(admin, ui.url, ADMIN);
    await admin.goto(`/admin/fleets/${alpha}/users`);
    await addUser(admin, { email: VIEWER.email, password: "12345678" }, "viewer");
    const refusal = admin.page.locator("#add-password-problem");
    assert.match(await refusal.innerText(), /must be at least 10 characters/);
    assert.equal(
      await admin.page.getByLabel("Initial password").getAttribute("aria-invalid"),
      "true",
    );
    assert.equal(await admin.page.getByLabel("Email").inputValue(), VIEWER.email, "email kept");
    assert.equal(await row(admin.page, VIEWER.email).count(), 0, "nothing was created");
    await addUser(admin, { email: VIEWER.email, password: "password1234" }, "viewer");
    assert.match(
      await admin.page.locator("#add-password-problem").innerText(),
      /most common passwords/,
    );
    await addUser(admin, VIEWER, "viewer");
    await admin.page.getByText("User added.").waitFor();
    assert.match(await row(admin.page, VIEWER.email).innerText(), /viewer[\s\S]*Active/);
    await admin.checkPage("users");

    // The viewer: their fleet's pages without admin actions; admin pages 403, Beta 404.
    await using viewer = await ui.page(DESKTOP);
    await signInPage(viewer, ui.url, VIEWER);
    assert.equal(new URL(viewer.page.url()).pathname, `/admin/fleets/${alpha}`);
    const nav = await viewer.page.locator("nav.site-nav").innerText();
    assert.doesNotMatch(nav, /Users|Settings|Health/);
    assert.match(nav, /Dashboard/);
    assert.equal(
      await viewer.page.locator('main form[method="post"]').count(),
      0,
      "no state-changing form on the viewer's dashboard",
    );
    for (
      const [path, status] of [
        [`/admin/fleets/${alpha}/users`, 403],
        [`/admin/fleets/${alpha}/settings`, 403],
        ["/admin/health", 403],
        [`/admin/fleets/${beta}`, 404],
        [`/admin/fleets/${beta}/vehicles`, 404],
        // The role is refused before the fleet is looked at: the same 403 for any fleet id.
        [`/admin/fleets/${beta}/users`, 403],
      ] as const
    ) {
      const response = await viewer.page.goto(new URL(path, ui.url).href);
      assert.equal(response?.status(), status, path);
      assert.equal(await viewer.page.locator('main form[method="post"]').count(), 0, path);
    }

    // Role change, disable (cannot sign in), enable, remove.
    let details = await manage(admin.page, VIEWER.email);
    await details.getByLabel(`Role of ${VIEWER.email}`).selectOption("operator");
    await submit(admin.page, details.getByRole("button", { name: "Change role" }));
    await admin.page.getByText("Role changed").waitFor();
    assert.match(await row(admin.page, VIEWER.email).innerText(), /operator/);
    details = await manage(admin.page, VIEWER.email);
    await submit(admin.page, details.getByRole("button", { name: `Disable ${VIEWER.email}` }));
    await admin.page.getByText("User disabled").waitFor();
    assert.match(await row(admin.page, VIEWER.email).innerText(), /Disabled/);
    // The disabled user's open session is over, and signing in again is refused.
    const after = await viewer.page.goto(new URL(`/admin/fleets/${alpha}`, ui.url).href);
    assert.match(new URL(viewer.page.url()).pathname, /^\/admin\/sign-in/, `${after?.status()}`);
    await using stranger = await ui.page(DESKTOP);
    assert.match(await signInFails(stranger, VIEWER), /./);
    details = await manage(admin.page, VIEWER.email);
    await submit(admin.page, details.getByRole("button", { name: `Enable ${VIEWER.email}` }));
    await admin.page.getByText("User enabled").waitFor();
    // A new password is held to the policy too, next to its field.
    details = await manage(admin.page, VIEWER.email);
    await details.getByLabel(`New password for ${VIEWER.email}`).fill("short");
    await submit(admin.page, details.getByRole("button", { name: "Set password" }));
    const viewerRow = row(admin.page, VIEWER.email);
    assert.match(await viewerRow.locator(".field-problem").innerText(), /at least 10 characters/);
    // The last admin cannot disable themselves: the refusal is shown in their row.
    details = await manage(admin.page, ADMIN.email);
    await submit(admin.page, details.getByRole("button", { name: `Disable ${ADMIN.email}` }));
    assert.match(
      await row(admin.page, ADMIN.email).locator(".field-problem").innerText(),
      /last enabled admin/,
    );
    details = await manage(admin.page, VIEWER.email);
    await submit(admin.page, details.getByRole("button", { name: `Remove ${VIEWER.email}` }));
    await admin.page.getByText("User removed.").waitFor();
    assert.equal(await row(admin.page, VIEWER.email).count(), 0);
    assert.match(await signInFails(stranger, VIEWER), /./);
    assert.deepEqual(unexpected([...owner.problems, ...admin.problems]), []);
  },
});

Deno.test({
  name:
    "fleet settings show the retention dry-run before saving, save the time zone; health shows the checks",
  ignore: !hasChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using ui = await startUi();
    const { accessToken } = await apiCall(ui.url, "POST", "/api/v1/auth/login", undefined, OWNER);
    const fleet = await apiCall(ui.url, "POST", "/api/v1/fleets", accessToken, { name: "Gamma" });
    await apiCall(ui.url, "POST", `/api/v1/fleets/${fleet.id}/users`, accessToken, {
      ...ADMIN,
      role: "admin",
    });
    await using admin = await ui.page(DESKTOP);
    await signInPage(admin, ui.url, ADMIN);
    const { page } = admin;
    await admin.goto(`/admin/fleets/${fleet.id}/settings`);
    assert.equal(await page.getByLabel("Fleet name").count(), 0, "admins do not rename fleets");
    assert.equal(await page.getByRole("button", { name: /^Remove / }).count(), 0);
    // Retention: the count first, then the save.
    await page.getByLabel(/Keep recordings for/).fill("30");
    await submit(page, page.getByRole("button", { name: "Check what it deletes" }));
    assert.match(
      await page.locator("#retention-preview").innerText(),
      /^Keeping 30 days would delete 0 segments, 0\.0 MB \(0 whole recordings\), from before /,
    );
    assert.match(page.url(), /retentionDays=30/);
    await submit(page, page.getByRole("button", { name: "Save: keep 30 days" }));
    await page.getByText("Retention saved").waitFor();
    await page.getByText("Recordings are kept 30 days").waitFor();
    // Out of bounds: the API's message next to the field.
    await page.getByLabel(/Keep recordings for/).fill("4000");
    await page.getByLabel(/Keep recordings for/).evaluate((e) => e.removeAttribute("max"));
    await submit(page, page.getByRole("button", { name: "Check what it deletes" }));
    assert.match(await page.locator("#retention-days-problem").innerText(), /at most 3650 days/);
    // Time zone.
    await admin.goto(`/admin/fleets/${fleet.id}/settings`);
    await page.getByLabel("Times are shown in").selectOption("Europe/Berlin");
    await submit(page, page.getByRole("button", { name: "Save time zone" }));
    await page.getByText("Time zone saved.").waitFor();
    assert.equal(await page.getByLabel("Times are shown in").inputValue(), "Europe/Berlin");
    // Segment length and ladder, validated as the API does.
    await page.getByLabel(/Live quality ladder/).fill("480:600k");
    await submit(page, page.getByRole("button", { name: "Save recording settings" }));
    assert.ok(await page.locator("#live-ladder-problem").isVisible());
    await page.getByLabel(/Default segment length/).fill("4");
    await page.getByLabel(/Live quality ladder/).fill("480:600k,720:1500k,1080:3m");
    await submit(page, page.getByRole("button", { name: "Save recording settings" }));
    await page.getByText("Segment length and live ladder saved.").waitFor();
    const stored = await apiCall(ui.url, "GET", `/api/v1/fleets/${fleet.id}`, accessToken);
    assert.equal(stored.retentionDays, 30);
    assert.equal(stored.timeZone, "Europe/Berlin");
    assert.equal(stored.segmentSeconds, 4);
    assert.equal(stored.liveLadder, "480:600k,720:1500k,1080:3m");
    // Health: the checks, refreshed by the island.
    await admin.goto("/admin/health");
    const checks = page.getByRole("list", { name: "Checks" });
    await checks.getByText("Catalog (database)").waitFor();
    await checks.getByText("Object store").waitFor();
    const firstAt = await page.locator(".health-summary").innerText();
    await page.waitForFunction(
      (before) => document.querySelector(".health-summary")?.textContent !== before,
      firstAt,
      { timeout: 15_000 },
    );
    // Owners: rename and remove (only an empty fleet).
    await using owner = await ui.page(DESKTOP);
    await signInPage(owner, ui.url);
    await owner.goto(`/admin/fleets/${fleet.id}/settings`);
    await owner.page.getByLabel("Fleet name").fill("Gamma Coaches");
    await submit(owner.page, owner.page.getByRole("button", { name: "Rename" }));
    await owner.page.getByText("Fleet renamed.").waitFor();
    await submit(owner.page, owner.page.getByRole("button", { name: "Remove Gamma Coaches" }));
    assert.match(
      await owner.page.locator("#remove-fleet-problem").innerText(),
      /still has 1 users/,
    );
    assert.deepEqual(unexpected([...owner.problems, ...admin.problems]), []);
  },
});

Deno.test({
  name: "the admin pages pass axe with no sideways scroll on desktop and phone",
  ignore: !hasChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using ui = await startUi();
    const { accessToken } = await apiCall(ui.url, "POST", "/api/v1/auth/login", undefined, OWNER);
    const fleet = await apiCall(ui.url, "POST", "/api/v1/fleets", accessToken, {
      name: "Northern Buses and Coaches of the Long Valley",
    });
    for (const user of [ADMIN, VIEWER]) {
      await apiCall(ui.url, "POST", `/api/v1/fleets/${fleet.id}/users`, accessToken, {
        ...user,
        role: user === ADMIN ? "admin" : "viewer",
      });
    }
    for (const size of PAGE_SIZES) {
      await using owner = await ui.page(size);
      await signInPage(owner, ui.url);
      await owner.goto("/admin/fleets");
      await owner.checkPage("fleets-admin");
      await owner.goto(`/admin/fleets/${fleet.id}/users`);
      await manage(owner.page, VIEWER.email);
      await owner.checkPage("users");
      await owner.goto(`/admin/fleets/${fleet.id}/settings?retentionDays=7`);
      await owner.page.locator("#retention-preview").waitFor();
      await owner.checkPage("settings");
      await owner.goto("/admin/health");
      await owner.checkPage("health");
      assert.deepEqual(owner.problems, [], size.name);
    }
    assert.ok(PHONE.width === 390);
  },
});
