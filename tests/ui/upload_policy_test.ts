/**
 * Upload policies, event rules, data usage, events and recalls in the pages (Chromium): a fleet
 * admin sets the fleet's policy, event rules and recall webhook on the settings page (refusals
 * beside their fields, the webhook's secret shown once), overrides a vehicle's and a camera's policy on the vehicle page, which says where each
 * policy comes from; the vehicle page shows the bytes the server stored by kind, an event with the
 * recall its rule made, and cancels that recall; a viewer sees no form and no usage. Each page
 * passes axe with no sideways scroll at desktop and phone size.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { hasChromium } from "../support/browser.ts";
import { apiCall, setUpVehicle } from "../support/fleet_api.ts";
import { contentDigest, makeCmaf } from "../support/media.ts";
import { DESKTOP, PAGE_SIZES, signInPage, startUi } from "./support.ts";

const VIEWER = { email: "viewer@acme.test", password: "a viewer's long passphrase" };

/** Submits the form of `button` and waits for the page it leads to. */
async function submit(page: Page, button: ReturnType<Page["getByRole"]>): Promise<void> {
  await Promise.all([page.waitForNavigation({ waitUntil: "load" }), button.click()]);
}

/** Lets the page's forms post what the browser's own checks (min, max) would stop. */
async function skipBrowserChecks(page: Page): Promise<void> {
  await page.locator("form").evaluateAll((forms) =>
    forms.forEach((form) => (form as HTMLFormElement).noValidate = true)
  );
}

/** Page problems other than the refusals the test provokes (a 4xx page logs its status). */
const unexpected = (problems: string[]) => problems.filter((p) => !/status of 4\d\d/.test(p));

/** Polls `check` until it returns a value (the indexer is asynchronous), for at most 15 s. */
async function eventually<T>(check: () => Promise<T | undefined>): Promise<T> {
  const until = Date.now() + 15_000;
  while (true) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error("Condition not met in time");
    await new Promise((r) => setTimeout(r, 100));
  }
}

Deno.test({
  name: "settings and vehicle pages set upload policies and event rules, and show usage, events " +
    "and recalls",
  ignore: !hasChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using ui = await startUi();
    const setup = await setUpVehicle(ui.url, ["front", "rear"]);
    const { fleetId, vehicleId, ownerToken: token } = setup;
    const api = (method: string, path: string, body?: unknown) =>
      apiCall(ui.url, method, `/api/v1/fleets/${fleetId}${path}`, token, body);
    await using desktop = await ui.page(DESKTOP);
    const { page } = desktop;
    await signInPage(desktop);

    // The fleet's policy: a proxy too small is refused beside its field, the rest kept.
    await desktop.goto(`/admin/fleets/${fleetId}/settings`);
    assert.match(await page.getByTestId("fleet-policy").innerText(), /^Continuous/);
    await page.getByLabel("Upload", { exact: true }).selectOption("proxy");
    await skipBrowserChecks(page); // the server's check, not the browser's
    await page.getByLabel("Proxy height (lines)").fill("100");
    await page.getByLabel("Proxy bitrate (kbit/s)").fill("120");
    await page.getByLabel("Longest recall (seconds)").fill("600");
    await submit(page, page.getByRole("button", { name: "Save upload policy" }));
    assert.match(
      await page.locator("#fleet-policy-proxy-height-problem").innerText(),
      /whole number from 144 to 1080/,
    );
    assert.equal(
      await page.getByLabel("Proxy height (lines)").getAttribute("aria-invalid"),
      "true",
    );
    assert.equal(await page.getByLabel("Proxy bitrate (kbit/s)").inputValue(), "120", "kept");
    assert.equal((await api("GET", "/upload-policy")).mode, "continuous", "nothing was saved");
    await page.getByLabel("Proxy height (lines)").fill("240");
    await submit(page, page.getByRole("button", { name: "Save upload policy" }));
    await page.getByText(/Upload policy saved/).waitFor();
    assert.match(await page.getByTestId("fleet-policy").innerText(), /^Proxy/);
    const fleetPolicy = await api("GET", "/upload-policy");
    assert.deepEqual(
      [fleetPolicy.mode, fleetPolicy.proxy, fleetPolicy.recallMaxSeconds, fleetPolicy.source],
      ["proxy", { height: 240, bitrateKbps: 120 }, 600, "fleet"],
    );

    // Event rules: one added; one whose window passes the fleet's 600 s is refused by its field.
    const rules = page.getByRole("form", { name: "New rule" });
    await rules.getByLabel("Event kind").fill("panic");
    await rules.getByLabel("Before (s)").fill("10");
    await rules.getByLabel("After (s)").fill("20");
    await rules.getByLabel(/^Cameras/).fill("front");
    await submit(page, rules.getByRole("button", { name: "Add rule" }));
    await page.getByText("Event rule saved.").waitFor();
    const harsh = page.getByRole("form", { name: "New rule" });
    await harsh.getByLabel("Event kind").fill("harsh-brake");
    await harsh.getByLabel("Before (s)").fill("500");
    await harsh.getByLabel("After (s)").fill("200");
    await submit(page, harsh.getByRole("button", { name: "Add rule" }));
    assert.match(await page.locator("#rule-new-postSeconds-problem").innerText(), /600/);
    const long = page.getByRole("form", { name: "New rule" });
    await long.getByLabel("Before (s)").fill("5");
    await long.getByLabel(/^Cameras/).fill("front, " + "x".repeat(33));
    await submit(page, long.getByRole("button", { name: "Add rule" }));
    assert.match(await page.locator("#rule-new-cameras-problem").innerText(), /32 characters/);
    assert.deepEqual((await api("GET", "/event-rules")).rules, [
      { kind: "panic", preSeconds: 10, postSeconds: 20, cameras: ["front"] },
    ]);
    // Editing the saved rule keeps one rule of its kind.
    const panic = page.getByRole("form", { name: "Rule panic" });
    await panic.getByLabel("After (s)").fill("25");
    await submit(page, panic.getByRole("button", { name: "Save rule panic" }));
    await page.getByText("Event rule saved.").waitFor();
    assert.equal((await api("GET", "/event-rules")).rules[0].postSeconds, 25);
    // The fleet's webhook: a URL that is not http(s) is refused; the secret shows once.
    await skipBrowserChecks(page);
    await page.getByLabel("Webhook URL").fill("ftp://ops.example.com/motorcade");
    await submit(page, page.getByRole("button", { name: "Save webhook" }));
    assert.match(await page.locator("#webhook-url-problem").innerText(), /http\(s\) URL/);
    const hook = "https://hooks.ops.example.com/motorcade";
    await page.getByLabel("Webhook URL").fill(hook);
    await submit(page, page.getByRole("button", { name: "Save webhook" }));
    const secret = await page.getByTestId("webhook-secret").innerText();
    assert.match(secret, /^whsec_[0-9a-f]{64}$/);
    assert.deepEqual(
      [(await api("GET", "/webhook")).url, (await api("GET", "/webhook")).secret],
      [hook, null],
    );
    await desktop.goto(`/admin/fleets/${fleetId}/settings`);
    assert.equal(await page.getByTestId("webhook-secret").count(), 0, "shown only once");
    assert.equal(await page.getByLabel("Webhook URL").inputValue(), hook);
    await submit(page, page.getByRole("button", { name: "Save webhook" }));
    await page.getByText("Webhook saved; its secret is unchanged.").waitFor();
    await submit(page, page.getByRole("button", { name: /Make a new secret/ }));
    const rotated = await page.getByTestId("webhook-secret").innerText();
    assert.match(rotated, /^whsec_/);
    assert.notEqual(rotated, secret);
    for (const size of PAGE_SIZES) {
      await using sized = await ui.page(size);
      await signInPage(sized);
      await sized.goto(`/admin/fleets/${fleetId}/settings`);
      await sized.checkPage("settings-upload");
      assert.deepEqual(unexpected(sized.problems), []);
    }

    await submit(page, page.getByRole("button", { name: "Remove webhook" }));
    await page.getByText("Webhook removed.").waitFor();
    const gone = await fetch(`${ui.url}/api/v1/fleets/${fleetId}/webhook`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(gone.status, 404);
    await gone.body?.cancel();

    // The vehicle page: the fleet's policy everywhere, then a vehicle and a camera override.
    const vehiclePage = `/admin/fleets/${fleetId}/vehicles/${vehicleId}`;
    await desktop.goto(vehiclePage);
    assert.match(await page.getByTestId("policy-vehicle").innerText(), /^Proxy.*the fleet's/);
    await page.locator("summary", { hasText: "Override for this vehicle" }).click();
    const vehicleForm = page.locator("details", { hasText: "Override for this vehicle" });
    await vehicleForm.getByLabel("Upload", { exact: true }).selectOption("on-request");
    await submit(page, vehicleForm.getByRole("button", { name: "Save override" }));
    await page.getByText(/Upload policy saved/).waitFor();
    assert.match(
      await page.getByTestId("policy-vehicle").innerText(),
      /^On request.*set on this vehicle/,
    );
    assert.match(
      await page.getByTestId("policy-camera-rear").innerText(),
      /^On request.*the vehicle's/,
    );
    await page.locator("summary", { hasText: "Override for camera front" }).click();
    const frontForm = page.locator("details", { hasText: "Override for camera front" });
    await frontForm.getByLabel("Upload", { exact: true }).selectOption("continuous");
    await skipBrowserChecks(page);
    await frontForm.getByLabel("Proxy bitrate (kbit/s)").fill("5");
    await submit(page, frontForm.getByRole("button", { name: "Save override" }));
    assert.match(
      await page.locator(`#policy-${setup.cameras.front}-proxy-bitrate-problem`).innerText(),
      /from 32 to 4000/,
    );
    await page.locator(`#policy-${setup.cameras.front}-proxy-bitrate`).fill("150");
    await submit(
      page,
      page.locator("details", { hasText: "Override for camera front" })
        .getByRole("button", { name: "Save override" }),
    );
    await page.getByText(/Upload policy saved/).waitFor();
    assert.match(
      await page.getByTestId("policy-camera-front").innerText(),
      /^Continuous.*set on this camera/,
    );
    const front = await api(
      "GET",
      `/vehicles/${vehicleId}/cameras/${setup.cameras.front}/upload-policy`,
    );
    assert.deepEqual([front.mode, front.source], ["continuous", "camera"]);
    // Removing the vehicle's override: it follows the fleet again.
    await page.locator("summary", { hasText: "Override for this vehicle" }).click();
    await submit(
      page,
      page.getByRole("button", { name: /Remove override of this vehicle/ }),
    );
    await page.getByText(/Override removed/).waitFor();
    assert.match(await page.getByTestId("policy-vehicle").innerText(), /^Proxy.*the fleet's/);
    assert.equal((await api("GET", `/vehicles/${vehicleId}/upload-policy`)).own, null);

    // Data usage: what the server stored, by kind (a full segment and a proxy one).
    const full = await makeCmaf({ seconds: 2, size: "320x180" });
    const device = await setup.tokens!.token();
    let fullBytes = 0;
    let proxyBytes = 0;
    const start = Date.now() - 60_000;
    for (const [recording, rendition] of [["r1", "full"], ["r1-p", "proxy"]] as const) {
      const base = `/api/v1/ingest/vehicles/${vehicleId}/cameras/front/recordings/${recording}`;
      for (
        const [path, bytes, extra] of [
          ["init", full.init, {}],
          ["segments/0", full.segments[0].bytes, {
            "motorcade-segment-start": new Date(start).toISOString(),
            "motorcade-segment-duration": "2.000",
          }],
        ] as const
      ) {
        const response = await fetch(ui.url + `${base}/${path}`, {
          method: "PUT",
          headers: {
            authorization: `Bearer ${device}`,
            "content-type": "video/iso.segment",
            "content-digest": await contentDigest(bytes),
            "motorcade-rendition": rendition,
            ...extra,
          },
          body: bytes as BodyInit,
        });
        assert.ok(response.ok, `${path}: ${response.status} ${await response.text()}`);
        if (rendition === "full") fullBytes += bytes.byteLength;
        else proxyBytes += bytes.byteLength;
      }
    }
    const usage = await eventually(async () => {
      const body = await api("GET", `/vehicles/${vehicleId}/usage`);
      return body.bytes.all === fullBytes + proxyBytes ? body : undefined;
    });
    assert.deepEqual([usage.bytes.continuous, usage.bytes.proxy], [fullBytes, proxyBytes]);

    // An operator's event of the rule's kind files a recall on front, which the page cancels.
    const event = await api("POST", `/vehicles/${vehicleId}/events`, {
      kind: "panic",
      at: new Date(Date.now() - 30_000).toISOString(),
    });
    assert.equal(event.recalls.length, 1, JSON.stringify(event));
    await desktop.goto(vehiclePage);
    const today = new Date().toISOString().slice(0, 10);
    const day = page.locator(`table.usage tr[data-day="${today}"]`);
    assert.equal(
      await day.locator('td[data-label="Continuous"]').getAttribute("data-bytes"),
      String(fullBytes),
    );
    assert.equal(
      await day.locator('td[data-label="Proxy"]').getAttribute("data-bytes"),
      String(proxyBytes),
    );
    assert.equal(
      await day.locator('td[data-label="Total"]').getAttribute("data-bytes"),
      String(fullBytes + proxyBytes),
    );
    const eventRow = page.locator('table.events tr[data-event="panic"]');
    assert.match(await eventRow.innerText(), /operator[\s\S]*recall on front/);
    const recallRow = page.locator(`table.recalls tr[data-recall="${event.recalls[0].recallId}"]`);
    assert.match(await recallRow.getByTestId("recall-state").innerText(), /^Queued/);
    assert.match(await recallRow.innerText(), /an event rule's/);
    for (const size of PAGE_SIZES) {
      await using sized = await ui.page(size);
      await signInPage(sized);
      await sized.goto(vehiclePage);
      await sized.checkPage("vehicle-uploads");
      assert.deepEqual(unexpected(sized.problems), []);
    }
    await submit(page, recallRow.getByRole("button", { name: "Cancel recall of front" }));
    await page.getByText(/Recall cancelled/).waitFor();
    assert.match(
      await page.locator(`table.recalls tr[data-recall="${event.recalls[0].recallId}"]`)
        .getByTestId("recall-state").innerText(),
      /^Cancelled/,
    );
    assert.equal(
      (await api("GET", `/recalls/${event.recalls[0].recallId}`)).state,
      "cancelled",
    );

    // An operator reports an event from the page: a bad kind is refused; one without a rule
    // recalls nothing.
    await page.locator("summary", { hasText: "Report an event" }).click();
    await page.getByLabel(/^Kind/).fill("Bad Kind");
    await submit(page, page.getByRole("button", { name: "Report event" }));
    assert.match(await page.locator("#event-kind-problem").innerText(), /lower case letters/);
    await page.getByLabel(/^Kind/).fill("incident");
    await page.getByLabel("Minutes ago (0: now)").fill("2");
    await submit(page, page.getByRole("button", { name: "Report event" }));
    await page.getByText(/Event recorded/).waitFor();
    assert.match(
      await page.locator('table.events tr[data-event="incident"]').innerText(),
      /operator[\s\S]*none \(no rule\)/,
    );
    const reported = await api(
      "GET",
      `/vehicles/${vehicleId}/events?from=${new Date(Date.now() - 3_600_000).toISOString()}&to=${
        new Date(Date.now() + 60_000).toISOString()
      }&kind=incident`,
    );
    assert.equal(reported.events.length, 1);
    const ago = Date.now() - Date.parse(reported.events[0].at);
    assert.ok(ago > 110_000 && ago < 180_000, `reported 2 minutes ago: ${ago} ms`);
    assert.deepEqual(unexpected(desktop.problems), []);

    // A viewer reads policies, events and recalls, but gets no form and no data usage.
    await apiCall(ui.url, "POST", `/api/v1/fleets/${fleetId}/users`, token, {
      ...VIEWER,
      role: "viewer",
    });
    await using viewer = await ui.page(DESKTOP);
    await signInPage(viewer, ui.url, VIEWER);
    await viewer.goto(vehiclePage);
    await viewer.page.getByTestId("policy-vehicle").waitFor();
    assert.equal(await viewer.page.locator("summary", { hasText: "Override for" }).count(), 0);
    assert.equal(await viewer.page.locator("summary", { hasText: "Report an event" }).count(), 0);
    assert.equal(await viewer.page.locator("table.usage").count(), 0);
    await viewer.page.locator('table.events tr[data-event="panic"]').waitFor();
    const csrf = await viewer.page.locator('meta[name="csrf-token"]').getAttribute("content");
    const refused = await viewer.page.request.post(
      new URL(`${vehiclePage}/upload-policy`, ui.url).href,
      {
        form: { _csrf: csrf ?? "", action: "set", mode: "continuous" },
        headers: { origin: new URL(ui.url).origin },
      },
    );
    assert.equal(refused.status(), 403, "a viewer's post is refused");
    assert.equal((await api("GET", `/vehicles/${vehicleId}/upload-policy`)).own, null);
    await Deno.remove(setup.stateDir, { recursive: true });
  },
});
