/**
 * Benchmark: first-load JavaScript of every page (what its HTML loads: its islands' entries and
 * the chunks they preload), raw, gzip and brotli as served, and the island bundle's build time
 * at start. Pages come from routes/ui/pages.ts; path parameters are filled from a fleet, vehicle
 * and camera made here, and a page that does not answer 200 is listed with its status or where it
 * redirects.
 *
 *   deno task bench:ui-bundles
 */
import { parseConfig } from "../lib/config/mod.ts";
import { silentLogger } from "../lib/log/mod.ts";
import { IslandBundle } from "../lib/ui/mod.ts";
import { createPlatform } from "../platform.ts";
import { PAGES } from "../routes/ui/pages.ts";

const OWNER = { email: "owner@bench.test", password: "bench-password-1" };
const ORIGIN = "http://motorcade.test";

const dataDir = await Deno.makeTempDir({ prefix: "motorcade-bench-ui-" });
const started = performance.now();
const bundle = new IslandBundle();
await bundle.build();
const buildMs = performance.now() - started;

const platform = await createPlatform(
  parseConfig({
    DATA_DIR: dataDir,
    PUBLIC_URL: ORIGIN,
    MOTORCADE_ADMIN_EMAIL: OWNER.email,
    MOTORCADE_ADMIN_PASSWORD: OWNER.password,
    LIVE: "off",
  }),
  silentLogger,
);
try {
  const cookies = new Map<string, string>();
  const request = async (
    method: string,
    path: string,
    init: RequestInit = {},
    anonymous = false,
  ) => {
    const headers = new Headers(init.headers);
    if (!anonymous) headers.set("cookie", [...cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    if (method !== "GET") headers.set("origin", ORIGIN);
    const response = await platform.app.request(`${ORIGIN}${path}`, {
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
  const api = async (method: string, path: string, token: string | undefined, body?: unknown) => {
    const response = await request(method, path, {
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        "content-type": "application/json",
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status}`);
    return await response.json();
  };

  const { accessToken } = await api("POST", "/api/v1/auth/login", undefined, OWNER);
  const fleet = await api("POST", "/api/v1/fleets", accessToken, { name: "Bench" });
  const { vehicle } = await api("POST", `/api/v1/fleets/${fleet.id}/vehicles`, accessToken, {
    name: "bus-1",
  });
  const camera = await api(
    "POST",
    `/api/v1/fleets/${fleet.id}/vehicles/${vehicle.id}/cameras`,
    accessToken,
    { name: "front" },
  );
  const form = await (await request("GET", "/admin/sign-in")).text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(form)![1];
  const signIn = await request("POST", "/admin/sign-in", {
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ _csrf: csrf, ...OWNER }),
  });
  if (signIn.status !== 303) throw new Error(`Cannot sign in: ${signIn.status}`);

  const params: Record<string, string> = {
    fleetId: fleet.id,
    vehicleId: vehicle.id,
    cameraId: camera.id,
  };
  const size = async (url: string, encoding: string) => {
    const response = await request("GET", url, { headers: { "accept-encoding": encoding } });
    return (await response.arrayBuffer()).byteLength;
  };
  console.log(`Island bundle built at start in ${buildMs.toFixed(0)} ms`);
  console.log("page".padEnd(58), "islands", "  raw KB", " gzip KB", "   br KB", " files");
  for (const page of PAGES) {
    const path = page.pattern.replace(/:(\w+)/g, (_, name) => params[name] ?? name);
    // Public pages (sign-in) as a signed-out visitor sees them.
    const response = await request("GET", path, {}, page.access.kind === "public");
    const html = await response.text();
    if (response.status !== 200) {
      const location = response.headers.get("location");
      const answer = location ? `redirects to ${location}` : `answered ${response.status}`;
      console.log(page.pattern.padEnd(58), `(${answer})`);
      continue;
    }
    const urls = [
      ...[...html.matchAll(/<script type="module" src="([^"]+)"/g)].map((m) => m[1]),
      ...[...html.matchAll(/<link rel="modulepreload" href="([^"]+)"/g)].map((m) => m[1]),
    ];
    const islands = [...html.matchAll(/<motorcade-island data-name="(\w+)"/g)].map((m) => m[1]);
    let raw = 0, gzip = 0, br = 0;
    for (const url of urls) {
      raw += await size(url, "identity");
      gzip += await size(url, "gzip");
      br += await size(url, "br");
    }
    const kb = (n: number) => (n / 1024).toFixed(1).padStart(8);
    console.log(
      page.pattern.padEnd(58),
      String(new Set(islands).size).padStart(7),
      kb(raw),
      kb(gzip),
      kb(br),
      String(urls.length).padStart(6),
    );
  }
  console.log("\nPer island (entry + chunks it imports), gzip:");
  for (const island of await bundle.sizes()) {
    console.log(
      `  ${island.island.padEnd(24)} ${(island.gzipBytes / 1024).toFixed(1)} KB (${
        (island.bytes / 1024).toFixed(1)
      } KB raw, ${island.files.length} files)`,
    );
  }
} finally {
  await platform.close();
  await Deno.remove(dataDir, { recursive: true });
}
