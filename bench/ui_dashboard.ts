/**
 * Benchmark: the fleet dashboard.
 *
 * 1. Server render of `GET /admin/fleets/{id}` with 500 vehicles × 2 cameras, all reporting
 *    (through `app.request()`, signed in with the session cookie), p50/p99 over many rounds;
 *    beside it, in the same run, `GET /api/v1/fleets/{id}/status` (the same reading as JSON), the
 *    baseline the page adds its rendering to. Goal: page p50 ≤ 10 ms. The fleet's camera
 *    activity (last segment, bytes today) is one reading per second shared by the page, the API
 *    and the event streams (CAMERA_ACTIVITY_MAX_AGE_MS): the rounds above mostly share one, so
 *    `--fresh N` rounds (default 30) also wait past its age to time the page with a reading of
 *    its own. Then the page's size and the time to compress it, brotli and gzip.
 * 2. Heartbeat to dashboard in Chromium: the real server, a signed-in dashboard, a heartbeat
 *    through the device API with a new backlog each time, timed until the page shows it. Goal
 *    ≤ 2 s (the status stream reads every second).
 *
 *   deno task bench:ui-dashboard [--vehicles 500] [--rounds 200] [--fresh 30] [--heartbeats 10]
 */
import { CAMERA_ACTIVITY_MAX_AGE_MS } from "../lib/fleet/status.ts";
import { hasChromium } from "../tests/support/browser.ts";
import { setUpVehicle } from "../tests/support/fleet_api.ts";
import { beat, heartbeat } from "../tests/support/heartbeat.ts";
import { OWNER, startTestPlatform } from "../tests/support/platform.ts";
import { DESKTOP, signInPage, startUi } from "../tests/ui/support.ts";

const arg = (name: string) => {
  const at = Deno.args.indexOf(`--${name}`);
  return at >= 0 ? Deno.args[at + 1] : undefined;
};
const VEHICLES = Number(arg("vehicles") ?? 500);
const ROUNDS = Number(arg("rounds") ?? 200);
const FRESH = Number(arg("fresh") ?? 30);
const HEARTBEATS = Number(arg("heartbeats") ?? 10);
const ORIGIN = "http://motorcade.test";

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
const summary = (times: number[]) => {
  const sorted = [...times].sort((a, b) => a - b);
  return `p50 ${percentile(sorted, 0.5).toFixed(1)} ms, p99 ${
    percentile(sorted, 0.99).toFixed(1)
  } ms (min ${sorted[0].toFixed(1)}, max ${sorted.at(-1)!.toFixed(1)}, n=${sorted.length})`;
};

async function serverRender() {
  await using p = await startTestPlatform();
  const fleet = await p.registry.createFleet("Bench");
  for (let i = 1; i <= VEHICLES; i++) {
    const { vehicle } = await p.registry.registerVehicle(fleet.id, `bus-${i}`);
    await p.registry.addCamera(fleet.id, vehicle.id, "front");
    await p.registry.addCamera(fleet.id, vehicle.id, "cabin");
    await p.catalog.vehicleStatus.report(vehicle.id, heartbeat(["front", "cabin"]), new Date());
  }
  const { accessToken } = await p.login(OWNER.email, OWNER.password);
  const cookies = new Map<string, string>();
  const request = async (method: string, path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set("cookie", [...cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    if (method !== "GET") headers.set("origin", ORIGIN);
    const response = await p.app.request(`${ORIGIN}${path}`, {
      ...init,
      method,
      headers,
      redirect: "manual",
    });
    for (const cookie of response.headers.getSetCookie()) {
      const [name, value] = cookie.split(";")[0].split("=");
      cookies.set(name, value);
    }
    return response;
  };
  const form = await (await request("GET", "/admin/sign-in")).text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(form)![1];
  const signIn = await request("POST", "/admin/sign-in", {
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ _csrf: csrf, ...OWNER }),
  });
  if (signIn.status !== 303) throw new Error(`Cannot sign in: ${signIn.status}`);

  const page = async (acceptEncoding?: string) => {
    const started = performance.now();
    const response = await request("GET", `/admin/fleets/${fleet.id}`, {
      headers: acceptEncoding ? { "accept-encoding": acceptEncoding } : {},
    });
    const body = new Uint8Array(await response.arrayBuffer());
    const ms = performance.now() - started;
    if (response.status !== 200) throw new Error(`Dashboard answered ${response.status}`);
    const html = acceptEncoding ? "" : new TextDecoder().decode(body);
    return { ms, bytes: body.byteLength, rows: html.split("<tr data-vehicle=").length - 1 };
  };
  const api = async () => {
    const started = performance.now();
    const response = await p.call("GET", `/api/v1/fleets/${fleet.id}/status`, {
      token: accessToken,
    });
    const body = await response.text();
    const ms = performance.now() - started;
    if (response.status !== 200) throw new Error(`Status answered ${response.status}`);
    return { ms, bytes: body.length };
  };
  for (let i = 0; i < 10; i++) await page(), await api();
  const pages: number[] = [], apis: number[] = [];
  let last = { ms: 0, bytes: 0, rows: 0 }, json = 0;
  for (let i = 0; i < ROUNDS; i++) {
    last = await page();
    pages.push(last.ms);
    const a = await api();
    apis.push(a.ms);
    json = a.bytes;
  }
  const fresh: number[] = [];
  for (let i = 0; i < FRESH; i++) {
    await new Promise((resolve) => setTimeout(resolve, CAMERA_ACTIVITY_MAX_AGE_MS + 50));
    fresh.push((await page()).ms);
  }
  const encoded = (encoding: string) => {
    const times: number[] = [];
    let bytes = 0;
    return (async () => {
      for (let i = 0; i < Math.min(ROUNDS, 50); i++) {
        const p = await page(encoding);
        times.push(p.ms), bytes = p.bytes;
      }
      return `${summary(times)}; ${(bytes / 1024).toFixed(0)} KiB`;
    })();
  };
  const br = await encoded("br");
  const gzip = await encoded("gzip");
  if (last.rows !== VEHICLES) {
    throw new Error(`The page shows ${last.rows} of ${VEHICLES} vehicles`);
  }
  console.log(`Dashboard, ${VEHICLES} vehicles × 2 cameras (each reporting):`);
  console.log(
    `  GET /admin/fleets/{id} (page):       ${summary(pages)}; HTML ${
      (last.bytes / 1024).toFixed(0)
    } KiB`,
  );
  if (fresh.length) {
    console.log(`  page, its own activity reading:      ${summary(fresh)}`);
  }
  console.log(`  page, Accept-Encoding: br:           ${br}`);
  console.log(`  page, Accept-Encoding: gzip:         ${gzip}`);
  console.log(
    `  GET /api/v1/fleets/{id}/status (API): ${summary(apis)}; JSON ${
      (json / 1024).toFixed(0)
    } KiB`,
  );
}

async function heartbeatToScreen() {
  if (HEARTBEATS === 0) return;
  if (!hasChromium) {
    console.log("Heartbeat to dashboard: skipped (no Chromium)");
    return;
  }
  await using ui = await startUi();
  const vehicle = await setUpVehicle(ui.url, ["front"]);
  try {
    await using page = await ui.page(DESKTOP);
    await signInPage(page, ui.url);
    await page.goto(`/admin/fleets/${vehicle.fleetId}`);
    await page.page.locator('[data-connection="live"]').waitFor();
    const times: number[] = [];
    for (let i = 1; i <= HEARTBEATS; i++) {
      const started = performance.now();
      await beat(ui.url, vehicle, i);
      await page.page.locator(`tr[data-vehicle="${vehicle.vehicleId}"] .backlog`, {
        hasText: `${i} seg ·`,
      }).waitFor({ timeout: 10_000 });
      times.push(performance.now() - started);
      // Land heartbeats at different points of the stream's one-second reading.
      await new Promise((resolve) => setTimeout(resolve, 700 + Math.random() * 600));
    }
    console.log(`Heartbeat to dashboard (Chromium, ${HEARTBEATS} heartbeats): ${summary(times)}`);
  } finally {
    await Deno.remove(vehicle.stateDir, { recursive: true }).catch(() => {});
  }
}

await serverRender();
await heartbeatToScreen();
