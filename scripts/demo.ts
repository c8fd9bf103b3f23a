/**
 * `deno task demo`: the platform with embedded defaults plus one simulated vehicle with two
 * synthetic cameras, recording and uploading. Prints, each on its own line, `admin:`,
 * `sign-in:` and `playlist:` (a signed, open-ended HLS URL for the first camera from the moment
 * the demo started, playable by any HLS player without further auth).
 */
import { enrol } from "../vehicle/identity.ts";
import { signedBearer } from "../lib/auth/mod.ts";
import { ConfigError, loadConfig } from "../lib/config/mod.ts";
import { connectionLimits, serveGated } from "../lib/http/mod.ts";
import { MAX_MESSAGE_BYTES } from "../lib/live/mod.ts";
import { createLogger } from "../lib/log/mod.ts";
import { createPlatform } from "../platform.ts";

const DEMO_OWNER = { email: "demo@motorcade.local", password: "motorcade-demo" };
const FLEET = "Demo Fleet";
const VEHICLE = "demo-bus";
const CAMERAS = ["front", "cabin"];

const env = Deno.env.toObject();
let config;
try {
  config = loadConfig({
    DATA_DIR: "./data/demo",
    MOTORCADE_ADMIN_EMAIL: DEMO_OWNER.email,
    MOTORCADE_ADMIN_PASSWORD: DEMO_OWNER.password,
    LOG_LEVEL: "warn",
    ...env,
  });
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    Deno.exit(2);
  }
  throw error;
}
const logger = createLogger(config.logLevel);

/** `--ice-host` for the addresses in JANUS_ICE_ENFORCE_LIST (interface names are left out). */
function iceHost(list: string): string[] {
  const addresses = list.split(",").map((a) => a.trim()).filter((a) => /^\d+(\.\d+){3}$/.test(a));
  return addresses.length ? ["--ice-host", addresses.join(",")] : [];
}
const startedAt = new Date();
const platform = await createPlatform(config, logger);
// Served as main.ts serves it: through the connection gate and its limits.
const server = await serveGated({
  hostname: config.host,
  port: config.port,
  limits: connectionLimits(config, MAX_MESSAGE_BYTES),
  logger,
  registry: platform.metrics.registry,
}, platform.app.fetch);
const localUrl = `http://127.0.0.1:${server.addr.port}`;

// The demo fleet, vehicle and cameras, made once and reused on later runs.
const { registry } = platform;
const fleet = (await registry.listFleets()).find((f) => f.name === FLEET) ??
  await registry.createFleet(FLEET);
let vehicle = (await registry.listVehicles(fleet.id)).find((v) => v.name === VEHICLE);
let code: string | undefined;
if (!vehicle) {
  const registered = await registry.registerVehicle(fleet.id, VEHICLE);
  vehicle = registered.vehicle;
  code = registered.enrolment.code;
}
const cameras = await registry.listCameras(fleet.id, vehicle.id);
for (const name of CAMERAS) {
  if (!cameras.some((c) => c.name === name)) {
    cameras.push(await registry.addCamera(fleet.id, vehicle.id, name));
  }
}
const stateDir = `${config.dataDir}/demo-vehicle/state`;
const spoolDir = `${config.dataDir}/demo-vehicle/spool`;
let enrolled = true;
try {
  await Deno.stat(`${stateDir}/device.json`);
} catch {
  enrolled = false;
}
if (!enrolled) {
  code ??= (await registry.issueCredential(fleet.id, vehicle.id)).code;
  await enrol(localUrl, code, stateDir);
}

// The vehicle agent runs as it would on a vehicle: its own process, narrow permissions.
const agent = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    // Live publishing sends UDP wherever ICE leads (here: Janus on this machine).
    "--allow-net",
    `--allow-read=${stateDir},${spoolDir},/usr/share/fonts`,
    `--allow-write=${stateDir},${spoolDir}`,
    "--allow-run=ffmpeg",
    "--allow-env",
    "--allow-sys=networkInterfaces",
    new URL("../vehicle/main.ts", import.meta.url).pathname,
    "record",
    "--server",
    localUrl,
    "--state",
    stateDir,
    "--spool",
    spoolDir,
    ...CAMERAS.flatMap((name) => ["--camera", `${name}=testsrc`]),
    // LIVE=off means no live link anywhere, the demo vehicle's included.
    ...(platform.live ? [] : ["--live", "off"]),
    // Where Janus is told to gather ICE candidates on an address, the vehicle gathers there too.
    ...iceHost(config.live?.janusIceEnforceList ?? ""),
    "--log-level",
    "warn",
  ],
  stdout: "inherit",
  stderr: "inherit",
}).spawn();

const first = cameras.find((c) => c.name === CAMERAS[0])!;
const path = `/api/v1/fleets/${fleet.id}/vehicles/${vehicle.id}/cameras/${first.id}/index.m3u8`;
// The printed links are real links made by the demo owner: listed, revocable, ended with them.
const owner = await platform.catalog.users.getByEmail(config.admin?.email ?? DEMO_OWNER.email);
if (!owner) throw new Error("The demo owner is missing from the catalog");
const maker = {
  kind: "user" as const,
  userId: owner.id,
  role: owner.role,
  fleetId: owner.fleetId,
  sessionId: "demo",
};
const linkExpiresAt = new Date(Date.now() + 7 * 86_400_000);
const makeLink = (kind: "playback" | "live") =>
  platform.identity.urls.links.create({
    kind,
    camera: { fleetId: fleet.id, vehicleId: vehicle.id, cameraId: first.id },
    maker,
    expiresAt: linkExpiresAt,
    ...(kind === "playback" ? { fromMs: startedAt.getTime() } : {}),
  });
const playback = await makeLink("playback");
const query = platform.identity.urls.signExact(
  path,
  { from: startedAt.toISOString() },
  linkExpiresAt,
  playback.id,
);
console.log(`admin: ${config.publicUrl}/admin/sign-in`);
console.log(`sign-in: ${DEMO_OWNER.email} ${DEMO_OWNER.password}`);
console.log(`playlist: ${config.publicUrl}${path}?${query}`);
if (platform.live) {
  // Any WHEP player watches the first camera live with these two lines.
  const whep = `/api/v1/fleets/${fleet.id}/vehicles/${vehicle.id}/cameras/${first.name}/whep`;
  const live = await makeLink("live");
  const token = signedBearer(platform.identity, whep, linkExpiresAt, live.id);
  console.log(`whep: ${config.publicUrl}${whep}`);
  console.log(`whep-token: ${token}`);
}

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  try {
    agent.kill("SIGTERM");
  } catch { /* already gone */ }
  await agent.status;
  await server.shutdown();
  await platform.close();
  Deno.exit(0);
};
for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, stop);
const status = await agent.status;
if (!stopping) {
  console.error(`demo vehicle agent exited with code ${status.code}; the server keeps running`);
}
