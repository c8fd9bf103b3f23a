/**
 * Browser test support for the pages: a server and Chromium started together, pages at desktop
 * (1366×768) and phone (390×844) sizes, sign-in through the form, and the checks every page must
 * pass: axe-core (no serious or critical violation), no sideways scroll, a non-blank screenshot
 * saved under `test-artifacts/screenshots/`.
 *
 * @example
 * await using ui = await startUi();
 * await using page = await ui.page(PHONE);
 * await signInPage(page, ui.url);
 * await page.goto(`/admin/fleets/${fleetId}`);
 * await page.checkPage("dashboard"); // axe, no sideways scroll, screenshot
 */
import assert from "node:assert/strict";
import type { Browser, BrowserContext, Cookie, Page } from "playwright-core";
import { launchChromium } from "../support/browser.ts";
import { OWNER } from "../support/platform.ts";
import { startServer, type TestServer } from "../support/server.ts";

/** A viewport the pages are tested at. */
export interface PageSize {
  name: "desktop" | "phone";
  width: number;
  height: number;
  mobile: boolean;
}

/** A desktop browser window. */
export const DESKTOP: PageSize = { name: "desktop", width: 1366, height: 768, mobile: false };
/** A phone (390 CSS pixels wide, touch). */
export const PHONE: PageSize = { name: "phone", width: 390, height: 844, mobile: true };
/** Both sizes, for tests that loop over them. */
export const PAGE_SIZES: readonly PageSize[] = [DESKTOP, PHONE];

/** Where screenshots go (gitignored); CI keeps the folder as an artifact. */
export const SCREENSHOT_DIR = decodeURIComponent(
  new URL("../../test-artifacts/screenshots/", import.meta.url).pathname,
);

const AXE_SOURCE = decodeURIComponent(
  new URL("../../node_modules/axe-core/axe.min.js", import.meta.url).pathname,
);

/** A page of one browser context (its own cookies) at one size. */
export interface UiPage extends AsyncDisposable {
  page: Page;
  context: BrowserContext;
  size: PageSize;
  /** The server's URL. */
  url: string;
  /** Page errors and console errors seen so far (a test asserts it is empty at the end). */
  problems: string[];
  /** Opens `path` (relative to the server) and waits for the load event. */
  goto(path: string): Promise<void>;
  /** axe, no sideways scroll, screenshot `<name>-<size>.png` checked non-blank. */
  checkPage(name: string): Promise<void>;
  /** The session cookie, if the browser holds one. */
  sessionCookie(): Promise<Cookie | undefined>;
}

/** A server and a browser for page tests; `await using` stops both. */
export interface UiRun extends AsyncDisposable {
  url: string;
  server: TestServer;
  browser: Browser;
  /** A new browser context (signed out) with a page at `size`. */
  page(size: PageSize): Promise<UiPage>;
}

/** Starts `main.ts` (with `env`) and Chromium. */
export async function startUi(env: Record<string, string> = {}): Promise<UiRun> {
  const server = await startServer(env);
  let browser: Browser;
  try {
    browser = await launchChromium();
  } catch (error) {
    await server[Symbol.asyncDispose]();
    throw error;
  }
  return {
    url: server.url,
    server,
    browser,
    page: (size) => openPage(browser, server.url, size),
    async [Symbol.asyncDispose]() {
      await browser.close().catch(() => {});
      await server[Symbol.asyncDispose]();
    },
  };
}

async function openPage(browser: Browser, url: string, size: PageSize): Promise<UiPage> {
  const context = await browser.newContext({
    viewport: { width: size.width, height: size.height },
    isMobile: size.mobile,
    hasTouch: size.mobile,
    deviceScaleFactor: 1,
  });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(`${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(message.text());
  });
  return {
    page,
    context,
    size,
    url,
    problems,
    async goto(path) {
      await page.goto(new URL(path, url).href, { waitUntil: "load" });
    },
    async checkPage(name) {
      await assertAccessible(page, `${name} (${size.name})`);
      await assertNoSideScroll(page, `${name} (${size.name})`);
      await screenshot(page, `${name}-${size.name}`);
    },
    async sessionCookie() {
      return (await context.cookies(url)).find((c) => c.name === "motorcade_session");
    },
    async [Symbol.asyncDispose]() {
      await context.close().catch(() => {});
    },
  };
}

/** What {@linkcode signInPage} found after signing in. */
export interface SignedIn {
  /** The session cookie the browser received. */
  cookie: Cookie;
}

/**
 * Signs in through `/admin/sign-in` (the owner unless told), waits for the page it lands on, and
 * asserts the session cookie's flags. With `check`, the sign-in page is checked too.
 */
export async function signInPage(
  ui: UiPage,
  _url?: string,
  options: { email?: string; password?: string; check?: boolean } = {},
): Promise<SignedIn> {
  const { page } = ui;
  await ui.goto("/admin/sign-in");
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  if (options.check) await ui.checkPage("sign-in");
  await page.getByLabel("Email").fill(options.email ?? OWNER.email);
  await page.getByLabel("Password").fill(options.password ?? OWNER.password);
  await Promise.all([
    page.waitForURL((u) => !u.pathname.startsWith("/admin/sign-in")),
    page.getByRole("button", { name: "Sign in" }).click(),
  ]);
  const cookie = await ui.sessionCookie();
  assert.ok(cookie, "signed in: the browser holds the session cookie");
  assert.equal(cookie.httpOnly, true, "the session cookie is HttpOnly");
  assert.equal(cookie.sameSite, "Strict", "the session cookie is SameSite=Strict");
  assert.equal(cookie.secure, ui.url.startsWith("https:"), "Secure exactly over https");
  return { cookie };
}

/** Runs axe-core on the page; fails listing every serious or critical violation. */
export async function assertAccessible(page: Page, what: string): Promise<void> {
  // Evaluated through the DevTools protocol: the page's CSP (no inline script) does not apply.
  await page.evaluate(await Deno.readTextFile(AXE_SOURCE));
  const violations = await page.evaluate(async () => {
    // deno-lint-ignore no-explicit-any
    const axe = (globalThis as any).axe;
    const result = await axe.run(document, { resultTypes: ["violations"] });
    return result.violations.map((v: {
      id: string;
      impact: string;
      help: string;
      nodes: { target: string[] }[];
    }) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
    }));
  }) as { id: string; impact: string; help: string; targets: string[] }[];
  const bad = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(
    bad.map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.targets.join(", ")}`),
    [],
    `axe finds no serious or critical violation on ${what}`,
  );
}

/** Fails when the document is wider than the viewport (sideways scroll). */
export async function assertNoSideScroll(page: Page, what: string): Promise<void> {
  const { scrollWidth, clientWidth, wide } = await page.evaluate(() => {
    const root = document.documentElement;
    const wide = [...document.querySelectorAll("body *")]
      .filter((e) => e.getBoundingClientRect().right > root.clientWidth + 1)
      .slice(0, 5)
      .map((e) => `${e.tagName.toLowerCase()}.${e.className}`);
    return { scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, wide };
  });
  assert.ok(
    scrollWidth <= clientWidth,
    `${what} scrolls sideways: ${scrollWidth} px wide in ${clientWidth} px (${wide.join(", ")})`,
  );
}

/** Saves a full-page screenshot as `test-artifacts/screenshots/<name>.png`; fails if blank. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await Deno.mkdir(SCREENSHOT_DIR, { recursive: true });
  const path = `${SCREENSHOT_DIR}${name}.png`;
  const png = await page.screenshot({ path, fullPage: true });
  const colours = await distinctColours(new Uint8Array(png));
  assert.ok(colours >= 8, `screenshot ${name} is blank: ${colours} distinct colours`);
  return path;
}

/** Counts the distinct colours of a PNG (8-bit RGB or RGBA, as Chromium writes them). */
export async function distinctColours(png: Uint8Array): Promise<number> {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let offset = 8;
  let width = 0, height = 0, channels = 0;
  const data: Uint8Array[] = [];
  while (offset < png.byteLength) {
    const length = view.getUint32(offset);
    const type = new TextDecoder().decode(png.subarray(offset + 4, offset + 8));
    const body = png.subarray(offset + 8, offset + 8 + length);
    if (type === "IHDR") {
      width = view.getUint32(offset + 8);
      height = view.getUint32(offset + 12);
      const [depth, colourType] = [body[8], body[9]];
      if (depth !== 8 || (colourType !== 2 && colourType !== 6)) {
        throw new TypeError(`Cannot read PNG: bit depth ${depth}, colour type ${colourType}`);
      }
      channels = colourType === 6 ? 4 : 3;
    } else if (type === "IDAT") data.push(body);
    offset += 12 + length;
  }
  const raw = new Uint8Array(
    await new Response(
      new Blob(data as BlobPart[]).stream().pipeThrough(
        new DecompressionStream("deflate"),
      ),
    ).arrayBuffer(),
  );
  const stride = width * channels;
  const previous = new Uint8Array(stride);
  const line = new Uint8Array(stride);
  const colours = new Set<number>();
  for (let y = 0; y < height; y++) {
    const start = y * (stride + 1);
    const filter = raw[start];
    for (let x = 0; x < stride; x++) {
      const value = raw[start + 1 + x];
      const a = x >= channels ? line[x - channels] : 0;
      const b = previous[x];
      const c = x >= channels ? previous[x - channels] : 0;
      let predicted = 0;
      if (filter === 1) predicted = a;
      else if (filter === 2) predicted = b;
      else if (filter === 3) predicted = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        predicted = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      line[x] = (value + predicted) & 0xff;
    }
    for (let x = 0; x < stride; x += channels) {
      colours.add((line[x] << 16) | (line[x + 1] << 8) | line[x + 2]);
    }
    previous.set(line);
  }
  return colours.size;
}
