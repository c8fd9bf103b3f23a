/**
 * The admin interface: its shell page and assets through `app.request()`, and a real browser
 * signing in and registering a vehicle when Chromium is installed.
 */
import assert from "node:assert/strict";
import { OPENAPI_PATH } from "../../routes/mod.ts";
import { OWNER, startTestPlatform } from "../support/platform.ts";
import { hasChromium, launchChromium } from "../support/browser.ts";
import { setUpVehicle } from "../support/fleet_api.ts";
import { startServer } from "../support/server.ts";

Deno.test("admin page is an HTML shell holding the AdminApp island", async () => {
  await using platform = await startTestPlatform();
  const response = await platform.call("GET", "/admin");
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^text\/html/);
  assert.match(response.headers.get("content-security-policy") ?? "", /script-src 'self'/);
  const html = await response.text();
  assert.match(html, /^<!DOCTYPE html>/);
  assert.match(html, /<motorcade-island data-name="AdminApp" data-props="\{\}">/);
  assert.match(html, /<script type="module" src="\/static\/ui\/AdminApp-[A-Z0-9]+\.js"><\/script>/);
  assert.match(html, /<form[^>]*class="card signin"/, "the sign-in form is server-rendered");
});

Deno.test("root redirects to the admin pages' sign-in", async () => {
  await using platform = await startTestPlatform();
  const response = await platform.call("GET", "/");
  assert.equal(response.status, 302);
  assert.equal(response.headers.get("location"), "/admin/sign-in");
});

Deno.test("the admin island's script is esbuild's JavaScript, cached immutably by its hash", async () => {
  await using platform = await startTestPlatform();
  const html = await (await platform.call("GET", "/admin")).text();
  const src = /<script type="module" src="([^"]+)">/.exec(html)![1];
  const preloads = [...html.matchAll(/<link rel="modulepreload" href="([^"]+)"/g)].map((m) => m[1]);
  let js = "";
  for (const url of [src, ...preloads]) {
    const response = await platform.call("GET", url);
    assert.equal(response.status, 200, url);
    assert.match(response.headers.get("content-type") ?? "", /^text\/javascript/);
    assert.equal(response.headers.get("cache-control"), "public, max-age=31536000, immutable");
    js += await response.text();
  }
  assert.ok(js.length > 5_000, `the scripts hold Preact and the island, got ${js.length} bytes`);
  assert.ok(js.includes("motorcade-island"), "the entry finds the island markers");
  assert.ok(js.includes("/api/v1/auth/login"), "the scripts hold the AdminApp island");
  assert.doesNotMatch(js, /from\s*["']preact/, "Preact is bundled, not imported by name");
  const etag = (await platform.call("GET", src)).headers.get("etag")!;
  const again = await platform.call("GET", src, { headers: { "if-none-match": etag } });
  assert.equal(again.status, 304);
});

Deno.test("admin stylesheet is served as CSS under its content hash", async () => {
  await using platform = await startTestPlatform();
  const html = await (await platform.call("GET", "/admin")).text();
  const href = /<link rel="stylesheet" href="(\/static\/ui\/styles-[0-9a-f]+\.css)"/.exec(html)![1];
  const response = await platform.call("GET", href);
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^text\/css/);
  assert.ok((await response.text()).includes(".enrolment"));
  const etag = response.headers.get("etag")!;
  const again = await platform.call("GET", href, { headers: { "if-none-match": `W/${etag}` } });
  assert.equal(again.status, 304);
});

Deno.test("pages and their files are not in the OpenAPI document: they are not API", async () => {
  await using platform = await startTestPlatform();
  const doc = await (await platform.call("GET", OPENAPI_PATH)).json();
  const ui = Object.keys(doc.paths).filter((p) => p === "/" || /^\/(admin|static)(\/|$)/.test(p));
  assert.deepEqual(ui, []);
});

Deno.test({
  name: "an owner signs in, creates a fleet and registers a vehicle in a real browser",
  ignore: !hasChromium,
  async fn() {
    // Access tokens live 4 s, so the page must refresh its token during the test.
    await using server = await startServer({ ACCESS_TOKEN_TTL: "4s" });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const problems: string[] = [];
      page.on("pageerror", (error) => problems.push(error.message));
      page.on("console", (message) => {
        // The wrong password below is refused with 401 on purpose; any other error is a fault.
        const refused = /status of 401/.test(message.text());
        if (message.type() === "error" && !refused) problems.push(message.text());
      });

      await page.goto(`${server.url}/admin`);

      // A wrong password: the API's problem detail is shown.
      await page.fill("#email", OWNER.email);
      await page.fill("#password", "not-the-password");
      await page.click("button[type=submit]");
      await page.getByRole("alert").waitFor();
      assert.match(await page.getByRole("alert").innerText(), /password/i);

      await page.fill("#password", OWNER.password);
      await page.click("button[type=submit]");
      await page.getByText(OWNER.email).waitFor();
      const refreshed = page.waitForResponse((response) =>
        response.url().endsWith("/api/v1/auth/refresh") && response.status() === 200
      );

      await page.fill("#fleet-name", "Northern Buses");
      await page.getByRole("button", { name: "Create fleet" }).click();
      await page.getByRole("heading", { name: "Northern Buses", level: 1 }).waitFor();

      await page.fill("#vehicle-name", "BUS 101");
      await page.getByRole("button", { name: "Register vehicle" }).click();
      const code = page.getByTestId("enrolment-code");
      await code.waitFor();
      const enrolmentCode = (await code.innerText()).trim();
      assert.ok(enrolmentCode.length >= 8, `an enrolment code is shown, got "${enrolmentCode}"`);
      await page.getByRole("cell", { name: "BUS 101" }).waitFor();

      await page.getByRole("button", { name: "Cameras", exact: true }).click();
      await page.fill("input[name=name][placeholder^=front]", "front");
      await page.getByRole("button", { name: "Add camera" }).click();
      await page.locator(".cameras code", { hasText: "front" }).waitFor();

      // The session survives a reload: the tokens are in sessionStorage.
      await page.reload();
      await page.getByRole("button", { name: "Northern Buses" }).click();
      await page.getByRole("cell", { name: "BUS 101" }).waitFor();
      await page.getByRole("button", { name: "Register vehicle" }).waitFor();
      assert.equal(await page.getByTestId("enrolment-code").count(), 0, "the code is shown once");

      await refreshed;
      await page.fill("#vehicle-name", "BUS 102");
      await page.getByRole("button", { name: "Register vehicle" }).click();
      await page.getByTestId("enrolment-code").waitFor();
      await page.screenshot({ path: "/tmp/admin.png", fullPage: true });

      await page.fill("#user-email", "admin@northern.test");
      await page.selectOption("#user-role", "admin");
      await page.fill("#user-password", "password-admin-1");
      await page.getByRole("button", { name: "Add user" }).click();
      await page.getByRole("cell", { name: "admin@northern.test" }).waitFor();

      await page.getByRole("button", { name: "Sign out" }).click();
      await page.getByRole("heading", { name: "Sign in" }).waitFor();

      // A fleet's admin lands on their own fleet, without the owner's fleet list.
      await page.fill("#email", "admin@northern.test");
      await page.fill("#password", "password-admin-1");
      await page.click("button[type=submit]");
      await page.getByRole("heading", { name: "Northern Buses", level: 1 }).waitFor();
      await page.getByRole("cell", { name: "BUS 101" }).waitFor();
      assert.equal(await page.getByRole("button", { name: "Create fleet" }).count(), 0);
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
  },
});

Deno.test({
  name: "the live player says why it cannot play when live streaming is off on the server",
  ignore: !hasChromium,
  async fn() {
    // LIVE=off: the signaling socket is refused, and the player asks the server why.
    await using server = await startServer();
    await setUpVehicle(server.url, ["front"], { enrol: false });
    await using browser = await launchChromium();
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(error.message));
    await page.goto(`${server.url}/admin`);
    await page.fill("#email", OWNER.email);
    await page.fill("#password", OWNER.password);
    await page.click("button[type=submit]");
    await page.getByRole("button", { name: "Acme" }).click();
    await page.getByRole("button", { name: "Cameras", exact: true }).click();
    await page.getByRole("button", { name: "Watch live" }).click();
    const player = page.locator(".live-player[data-state=failed]");
    await player.waitFor();
    assert.equal(await page.getByTestId("live-status").innerText(), "Cannot watch this camera");
    assert.match(await player.innerText(), /Live streaming is off on this server/);
    await page.getByRole("button", { name: "Close" }).click();
    assert.equal(await page.locator(".live-player").count(), 0);
    assert.deepEqual(problems, []);
  },
});
