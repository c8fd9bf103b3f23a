/**
 * The pages: sign-in with the session cookie, CSRF refusals, sign-out and revocation, and the
 * islands' scripts (through `app.request()`); the layout in Chromium at desktop and phone sizes.
 */
import assert from "node:assert/strict";
import { OPENAPI_PATH } from "../../routes/mod.ts";
import { OWNER, startTestPlatform, type TestPlatform } from "../support/platform.ts";
import { hasChromium } from "../support/browser.ts";
import { apiCall } from "../support/fleet_api.ts";
import { PAGE_SIZES, signInPage, startUi } from "./support.ts";

/** A browser of `app.request()`: keeps cookies, sends this origin's Origin on POSTs. */
class CookieJar {
  readonly cookies = new Map<string, string>();
  constructor(readonly platform: TestPlatform) {}

  async request(
    method: string,
    path: string,
    init: { form?: Record<string, string>; headers?: Record<string, string> } = {},
  ) {
    const headers = new Headers(init.headers);
    if (this.cookies.size) {
      headers.set("cookie", [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    }
    let body: BodyInit | undefined;
    if (init.form) {
      body = new URLSearchParams(init.form);
      headers.set("content-type", "application/x-www-form-urlencoded");
    }
    if (method !== "GET" && !headers.has("origin")) headers.set("origin", "http://motorcade.test");
    const response = await this.platform.app.request(`http://motorcade.test${path}`, {
      method,
      headers,
      body,
      redirect: "manual",
    });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(";");
      const [name, value] = pair.split("=");
      if (value === "" || /max-age=0/i.test(cookie)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  /** Signs in through the form; answers the POST's response. */
  async signIn(email = OWNER.email, password = OWNER.password, next?: string) {
    const form = await (await this.request("GET", "/admin/sign-in")).text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(form)?.[1];
    assert.ok(csrf, "the sign-in form carries a CSRF token");
    return await this.request("POST", "/admin/sign-in", {
      form: { _csrf: csrf, email, password, ...(next ? { next } : {}) },
    });
  }
}

const csrfOf = (html: string) => /<meta name="csrf-token" content="([^"]+)"/.exec(html)?.[1];

Deno.test("sign-in sets an HttpOnly SameSite=Strict session cookie and lands on the fleets", async () => {
  await using platform = await startTestPlatform();
  const jar = new CookieJar(platform);
  const response = await jar.signIn();
  assert.equal(response.status, 303);
  assert.equal(response.headers.get("location"), "/admin/fleets");
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith("motorcade_session="));
  assert.ok(cookie, "a session cookie is set");
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Strict/);
  assert.match(cookie, /Path=\//);
  assert.doesNotMatch(cookie, /Secure/, "plain http: not Secure");
  // The sign-in form's double-submit cookie went to the form only, and is cleared once signed in.
  const form = response.headers.getSetCookie().find((c) => c.startsWith("motorcade_signin="));
  assert.match(form ?? "", /Max-Age=0/);
  assert.match(form ?? "", /Path=\/admin\/sign-in(;|$)/);
  assert.match(jar.cookies.get("motorcade_session")!, /^mck_/);
  const page = await jar.request("GET", "/admin/fleets");
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /<h1>Fleets<\/h1>/);
  assert.match(html, /Acme|No fleet yet/);
  assert.ok(csrfOf(html), "the page carries its CSRF token");
});

Deno.test("the session cookie is Secure when PUBLIC_URL is https", async () => {
  await using platform = await startTestPlatform({ PUBLIC_URL: "https://motorcade.test" });
  const jar = new CookieJar(platform);
  const response = await jar.request("GET", "/admin/sign-in");
  await response.body?.cancel();
  const form = response.headers.getSetCookie().find((c) => c.startsWith("motorcade_signin="));
  assert.match(form ?? "", /Secure/);
  assert.match(form ?? "", /Path=\/admin\/sign-in(;|$)/, "sent to the sign-in form only");
  const signedIn = await jar.signIn();
  await signedIn.body?.cancel();
  const cookie = signedIn.headers.getSetCookie().find((c) => c.startsWith("motorcade_session="));
  assert.match(cookie ?? "", /; Secure/);
});

Deno.test("a page without a session redirects to sign-in and comes back after", async () => {
  await using platform = await startTestPlatform();
  const jar = new CookieJar(platform);
  const response = await jar.request("GET", "/admin/fleets?x=1");
  assert.equal(response.status, 303);
  assert.equal(response.headers.get("location"), "/admin/sign-in?next=%2Fadmin%2Ffleets%3Fx%3D1");
  const signedIn = await jar.signIn(OWNER.email, OWNER.password, "/admin/fleets?x=1");
  assert.equal(signedIn.headers.get("location"), "/admin/fleets?x=1");
  // Never to another site.
  const jar2 = new CookieJar(platform);
  const away = await jar2.signIn(OWNER.email, OWNER.password, "//evil.test/admin");
  assert.equal(away.headers.get("location"), "/admin/fleets");
});

Deno.test("a wrong password shows the form again with the problem, and sets no session", async () => {
  await using platform = await startTestPlatform();
  const jar = new CookieJar(platform);
  const response = await jar.signIn(OWNER.email, "not-the-password");
  assert.equal(response.status, 401);
  assert.match(await response.text(), /role="alert">Email or password is wrong</);
  assert.equal(jar.cookies.has("motorcade_session"), false);
});

Deno.test("state changes with the cookie are refused without the CSRF token or from another origin", async () => {
  await using platform = await startTestPlatform();
  const jar = new CookieJar(platform);
  await (await jar.signIn()).body?.cancel();
  const csrf = csrfOf(await (await jar.request("GET", "/admin/fleets")).text())!;

  const missing = await jar.request("POST", "/admin/sign-out", { form: {} });
  assert.equal(missing.status, 403);
  assert.match(missing.headers.get("content-type") ?? "", /application\/problem\+json/);
  const problem = await missing.json();
  assert.equal(problem.code, "csrf_failed");
  assert.match(problem.detail, /CSRF token is missing/);

  const wrong = await jar.request("POST", "/admin/session/token", {
    headers: { "x-csrf-token": "x".repeat(43) },
  });
  assert.equal(wrong.status, 403);
  assert.match((await wrong.json()).detail, /does not match/);

  const crossSite = await jar.request("POST", "/admin/session/token", {
    headers: { "x-csrf-token": csrf, origin: "https://evil.test" },
  });
  assert.equal(crossSite.status, 403);
  assert.match((await crossSite.json()).detail, /origin "https:\/\/evil\.test"/);

  // The sign-in form itself needs its double-submit token.
  const fresh = new CookieJar(platform);
  const login = await fresh.request("POST", "/admin/sign-in", {
    form: { email: OWNER.email, password: OWNER.password },
  });
  assert.equal(login.status, 403);
  assert.equal((await login.json()).code, "csrf_failed");

  // Still signed in: nothing was changed.
  const still = await jar.request("GET", "/admin/fleets");
  assert.equal(still.status, 200);
  await still.body?.cancel();
});

Deno.test("islands get a bearer token from the cookie's session; bearer API calls need no CSRF", async () => {
  await using platform = await startTestPlatform();
  const jar = new CookieJar(platform);
  await (await jar.signIn()).body?.cancel();
  const csrf = csrfOf(await (await jar.request("GET", "/admin/fleets")).text())!;
  const response = await jar.request("POST", "/admin/session/token", {
    headers: { "x-csrf-token": csrf },
  });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("cache-control"), "no-store");
  const { accessToken, expiresIn } = await response.json();
  assert.ok(expiresIn > 0);
  const me = await platform.call("GET", "/api/v1/me", { token: accessToken });
  assert.equal((await me.json()).email, OWNER.email);
  // The cookie alone does not authenticate the API.
  const cookieOnly = await jar.request("GET", "/api/v1/me");
  assert.equal(cookieOnly.status, 401);
  await cookieOnly.body?.cancel();
  // Not even the status event stream, which EventSource could only open with the cookie.
  const events = await jar.request("GET", "/api/v1/fleets/flt_00000000000000000000/status/events");
  assert.equal(events.status, 401);
  await events.body?.cancel();
  // A bearer POST carries no CSRF token and is not refused for it.
  const created = await platform.call("POST", "/api/v1/fleets", {
    token: accessToken,
    json: { name: "Bearer Fleet" },
  });
  assert.equal(created.status, 201);
  await created.body?.cancel();
  // The cookie's handle is not a refresh token.
  const refresh = await platform.call("POST", "/api/v1/auth/refresh", {
    json: { refreshToken: jar.cookies.get("motorcade_session") },
  });
  assert.equal(refresh.status, 401);
  await refresh.body?.cancel();
});

Deno.test("sign-out ends the session: the cookie is cleared and no longer works, nor its tokens", async () => {
  await using platform = await startTestPlatform();
  const jar = new CookieJar(platform);
  await (await jar.signIn()).body?.cancel();
  const handle = jar.cookies.get("motorcade_session")!;
  const csrf = csrfOf(await (await jar.request("GET", "/admin/fleets")).text())!;
  const { accessToken } = await (await jar.request("POST", "/admin/session/token", {
    headers: { "x-csrf-token": csrf },
  })).json();

  const out = await jar.request("POST", "/admin/sign-out", { form: { _csrf: csrf } });
  assert.equal(out.status, 303);
  assert.equal(out.headers.get("location"), "/admin/sign-in");
  assert.match(
    out.headers.getSetCookie().find((c) => c.startsWith("motorcade_session=")) ?? "",
    /Max-Age=0/,
  );
  assert.equal(jar.cookies.has("motorcade_session"), false);

  // The old cookie value, replayed, is signed out too.
  jar.cookies.set("motorcade_session", handle);
  const replay = await jar.request("GET", "/admin/fleets");
  assert.equal(replay.status, 303);
  await replay.body?.cancel();
  const api = await platform.call("GET", "/api/v1/me", { token: accessToken });
  assert.equal(api.status, 401);
  await api.body?.cancel();
});

Deno.test("a fleet user lands on their fleet and gets 404 for another fleet's pages", async () => {
  await using platform = await startTestPlatform();
  const owner = (await platform.login(OWNER.email, OWNER.password)).accessToken;
  const fleet = async (name: string) =>
    (await (await platform.call("POST", "/api/v1/fleets", { token: owner, json: { name } })).json())
      .id;
  const north = await fleet("North");
  const south = await fleet("South");
  const created = await platform.call("POST", `/api/v1/fleets/${north}/users`, {
    token: owner,
    json: { email: "viewer@north.test", password: "viewer-password-1", role: "viewer" },
  });
  assert.equal(created.status, 201, await created.text());
  const jar = new CookieJar(platform);
  const signedIn = await jar.signIn("viewer@north.test", "viewer-password-1");
  assert.equal(signedIn.headers.get("location"), `/admin/fleets/${north}`);
  const own = await jar.request("GET", `/admin/fleets/${north}`);
  assert.equal(own.status, 200);
  assert.match(await own.text(), /<h1>North<\/h1>/);
  const other = await jar.request("GET", `/admin/fleets/${south}`);
  assert.equal(other.status, 404);
  const html = await other.text();
  assert.match(html, /Fleet &quot;flt_|Fleet "flt_/);
  assert.doesNotMatch(html, /South/);
});

Deno.test("/ sends to sign-in and /admin to the signed-in user's home page", async () => {
  await using platform = await startTestPlatform();
  const root = await platform.call("GET", "/");
  assert.equal(root.status, 302);
  assert.equal(root.headers.get("location"), "/admin/sign-in");
  const jar = new CookieJar(platform);
  const signedOut = await jar.request("GET", "/admin");
  assert.equal(signedOut.status, 303);
  assert.equal(signedOut.headers.get("location"), "/admin/sign-in");
  await (await jar.signIn()).body?.cancel();
  const owner = await jar.request("GET", "/admin");
  assert.equal(owner.status, 303);
  assert.equal(owner.headers.get("location"), "/admin/fleets");
  // A fleet's user lands on its dashboard.
  const token = (await platform.login(OWNER.email, OWNER.password)).accessToken;
  const fleet = await (await platform.call("POST", "/api/v1/fleets", {
    token,
    json: { name: "North" },
  })).json();
  const created = await platform.call("POST", `/api/v1/fleets/${fleet.id}/users`, {
    token,
    json: { email: "viewer@north.test", password: "viewer-password-1", role: "viewer" },
  });
  assert.equal(created.status, 201, await created.text());
  const viewer = new CookieJar(platform);
  await (await viewer.signIn("viewer@north.test", "viewer-password-1")).body?.cancel();
  const home = await viewer.request("GET", "/admin");
  assert.equal(home.status, 303);
  assert.equal(home.headers.get("location"), `/admin/fleets/${fleet.id}`);
});

Deno.test("pages and their files are not in the OpenAPI document: they are not API", async () => {
  await using platform = await startTestPlatform();
  const doc = await (await platform.call("GET", OPENAPI_PATH)).json();
  const ui = Object.keys(doc.paths).filter((p) => p === "/" || /^\/(admin|static)(\/|$)/.test(p));
  assert.deepEqual(ui, []);
});

Deno.test("a page loads only its islands' scripts; files are hashed, immutable and compressed", async () => {
  await using platform = await startTestPlatform();
  const jar = new CookieJar(platform);
  await (await jar.signIn()).body?.cancel();
  const fleets = await (await jar.request("GET", "/admin/fleets")).text();
  assert.doesNotMatch(fleets, /<script/, "the fleets page has no island: no script");
  const stylesheet = /<link rel="stylesheet" href="(\/static\/ui\/styles-[0-9a-f]+\.css)"/
    .exec(fleets)?.[1];
  assert.ok(stylesheet, fleets);

  // The dashboard has one island: its entry, and the chunks it preloads.
  const token = (await platform.login(OWNER.email, OWNER.password)).accessToken;
  const fleet = await (await platform.call("POST", "/api/v1/fleets", {
    token,
    json: { name: "Island Fleet" },
  })).json();
  const page = await jar.request("GET", `/admin/fleets/${fleet.id}`);
  assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
  assert.match(page.headers.get("content-security-policy") ?? "", /script-src 'self'/);
  const dashboard = await page.text();
  assert.match(dashboard, /^<!DOCTYPE html>/);
  const entries = [...dashboard.matchAll(/<script type="module" src="([^"]+)"><\/script>/g)]
    .map((m) => m[1]);
  assert.equal(entries.length, 1, dashboard);
  const entry = entries[0];
  assert.match(entry, /^\/static\/ui\/FleetDashboard-[A-Z0-9]+\.js$/);
  assert.match(dashboard, /<motorcade-island data-name="FleetDashboard" data-props="/);
  const preloads = [...dashboard.matchAll(/<link rel="modulepreload" href="([^"]+)"/g)].map((m) =>
    m[1]
  );
  let js = "";
  for (const url of [entry, ...preloads, stylesheet]) {
    const br = await jar.request("GET", url, { headers: { "accept-encoding": "gzip, br" } });
    assert.equal(br.status, 200, url);
    assert.equal(br.headers.get("cache-control"), "public, max-age=31536000, immutable");
    assert.equal(br.headers.get("vary"), "Accept-Encoding");
    assert.match(
      br.headers.get("content-type") ?? "",
      url.endsWith(".css") ? /^text\/css/ : /^text\/javascript/,
      url,
    );
    await br.body?.cancel();
    const gzip = await jar.request("GET", url, { headers: { "accept-encoding": "gzip" } });
    const plain = await jar.request("GET", url, { headers: { "accept-encoding": "identity" } });
    const text = await plain.text();
    if (!url.endsWith(".css")) js += text;
    if (text.length > 512) {
      assert.equal(br.headers.get("content-encoding"), "br", url);
      assert.equal(gzip.headers.get("content-encoding"), "gzip", url);
      const unzipped = await new Response(
        gzip.body!.pipeThrough(new DecompressionStream("gzip")),
      ).text();
      assert.equal(unzipped, text, url);
    } else {
      await gzip.body?.cancel();
    }
    // Revalidation by ETag (weak or strong) answers 304.
    const etag = plain.headers.get("etag");
    assert.ok(etag, url);
    for (const tag of [etag, `W/${etag}`]) {
      const again = await jar.request("GET", url, { headers: { "if-none-match": tag } });
      assert.equal(again.status, 304, `${url} ${tag}`);
      await again.body?.cancel();
    }
  }
  assert.ok(js.includes("motorcade-island"), "the entry finds the island markers");
  assert.ok(js.includes("/status/events"), "the scripts hold the FleetDashboard island");
  assert.doesNotMatch(js, /from\s*["']preact/, "Preact is bundled, not imported by name");
  const missing = await jar.request("GET", "/static/ui/Nope-ABC.js");
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
});

Deno.test("the manifest names the app and its icons, which are served", async () => {
  await using platform = await startTestPlatform();
  const response = await platform.call("GET", "/static/manifest.webmanifest");
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^application\/manifest\+json/);
  const manifest = await response.json();
  assert.equal(manifest.name, "Motorcade");
  assert.ok(manifest.start_url.startsWith("/admin"));
  assert.equal(manifest.display, "standalone");
  const sizes = manifest.icons.map((i: { sizes: string }) => i.sizes);
  assert.ok(sizes.includes("192x192") && sizes.includes("512x512"), sizes.join());
  assert.ok(manifest.icons.some((i: { purpose?: string }) => i.purpose?.includes("maskable")));
  for (const icon of manifest.icons) {
    const file = await platform.call("GET", icon.src);
    assert.equal(file.status, 200, icon.src);
    const bytes = new Uint8Array(await file.arrayBuffer());
    if (icon.type === "image/png") {
      assert.deepEqual([...bytes.subarray(1, 4)], [0x50, 0x4e, 0x47], `${icon.src} is a PNG`);
      const view = new DataView(bytes.buffer);
      const [w, h] = icon.sizes.split("x").map(Number);
      assert.deepEqual([view.getUint32(16), view.getUint32(20)], [w, h], icon.src);
    }
  }
});

Deno.test({
  name: "the layout passes axe with no sideways scroll on desktop and phone, screenshots non-blank",
  ignore: !hasChromium,
  async fn() {
    await using ui = await startUi();
    const { accessToken } = await apiCall(ui.url, "POST", "/api/v1/auth/login", undefined, OWNER);
    const north = await apiCall(ui.url, "POST", "/api/v1/fleets", accessToken, {
      name: "Northern Buses and Coaches of the Long Valley",
    });
    await apiCall(ui.url, "POST", "/api/v1/fleets", accessToken, { name: "South" });
    await apiCall(ui.url, "POST", `/api/v1/fleets/${north.id}/vehicles`, accessToken, {
      name: "BUS 17",
    });
    for (const size of PAGE_SIZES) {
      await using page = await ui.page(size);
      const signIn = await signInPage(page, ui.url, { check: true });
      assert.match(signIn.cookie.sameSite, /Strict/);
      assert.equal(signIn.cookie.httpOnly, true);
      await page.checkPage("fleets");
      // The fleet switcher opens a fleet (no script: a GET form).
      await page.page.getByLabel("Fleet", { exact: true }).selectOption(north.id);
      await Promise.all([
        page.page.waitForURL(`**/admin/fleets/${north.id}`),
        page.page.getByRole("button", { name: "Open" }).click(),
      ]);
      await page.page.getByRole("link", { name: /BUS 17/ }).waitFor();
      await page.checkPage("fleet");
      const nav = size.name === "phone" ? "Main (menu)" : "Main";
      if (size.name === "phone") {
        // The navigation is a menu on phones.
        await page.page.getByText("Menu", { exact: true }).click();
      }
      const current = page.page.getByRole("navigation", { name: nav }).getByRole("link", {
        name: "Dashboard",
      });
      assert.equal(await current.getAttribute("aria-current"), "page");
      if (size.name === "phone") await page.checkPage("fleet-menu");
      // What an island does (lib/ui/page_session.ts): a bearer token from the cookie's session
      // with the page's CSRF token, then the API with it.
      const me = await page.page.evaluate(async () => {
        const csrf = document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')!.content;
        const issued = await fetch("/admin/session/token", {
          method: "POST",
          headers: { "x-csrf-token": csrf },
        }).then((r) => r.json());
        const response = await fetch("/api/v1/me", {
          headers: { authorization: `Bearer ${issued.accessToken}` },
        });
        return await response.json();
      });
      assert.equal(me.email, OWNER.email);
      // Tap targets: every link and button of the header and navigation is at least 44 px high.
      const small = await page.page.evaluate(() =>
        [...document.querySelectorAll("header a, header button, header select, nav a")]
          .filter((e) => (e as HTMLElement).offsetParent !== null)
          .map((e) => [e.textContent?.trim(), e.getBoundingClientRect().height] as const)
          .filter(([, height]) => height < 44)
      );
      assert.deepEqual(small, [], `tap targets under 44 px (${size.name})`);
      await page.page.getByRole("button", { name: "Sign out" }).click();
      await page.page.getByRole("heading", { name: "Sign in" }).waitFor();
      assert.equal(await page.sessionCookie(), undefined, "signed out: no cookie");
      // Back after signing out shows no page of the session (pages are no-store).
      await page.goto(`/admin/fleets/${north.id}`);
      await page.page.getByRole("heading", { name: "Sign in" }).waitFor();
      assert.deepEqual(page.problems, []);
    }
  },
});
