/**
 * In-process platform for tests: a fresh catalog in a temporary DATA_DIR, the real app, and
 * helpers to sign in and call it through `app.request()` (no sockets).
 */
import { type Config, parseConfig } from "../../lib/config/mod.ts";
import { silentLogger } from "../../lib/log/mod.ts";
import { createPlatform, type Platform } from "../../platform.ts";

/** The first owner every test platform starts with. */
export const OWNER = { email: "owner@example.com", password: "owner-password-1" };

/** A test platform; `await using` closes it and removes its data. */
export interface TestPlatform extends Platform, AsyncDisposable {
  dataDir: string;
  /** Calls the app like a client would: JSON bodies and bearer tokens made easy. */
  call(method: string, path: string, options?: CallOptions): Promise<Response>;
  /** Signs in and returns the access and refresh tokens. */
  login(email: string, password: string): Promise<{ accessToken: string; refreshToken: string }>;
}

/** Options of {@linkcode TestPlatform.call}. */
export interface CallOptions {
  token?: string;
  json?: unknown;
  body?: BodyInit;
  headers?: Record<string, string>;
}

/** Starts a platform on a temporary data folder with the given extra environment. */
export async function startTestPlatform(env: Record<string, string> = {}): Promise<TestPlatform> {
  const dataDir = await Deno.makeTempDir({ prefix: "motorcade-test-" });
  const config: Config = parseConfig({
    DATA_DIR: dataDir,
    PUBLIC_URL: "http://motorcade.test",
    MOTORCADE_ADMIN_EMAIL: OWNER.email,
    MOTORCADE_ADMIN_PASSWORD: OWNER.password,
    // Live tests turn it on (and run Janus in the test namespace).
    LIVE: "off",
    ...env,
  });
  const platform = await createPlatform(config, silentLogger);
  const call = (method: string, path: string, options: CallOptions = {}) => {
    const headers = new Headers(options.headers);
    if (options.token) headers.set("authorization", `Bearer ${options.token}`);
    let body = options.body;
    if (options.json !== undefined) {
      headers.set("content-type", "application/json");
      body = JSON.stringify(options.json);
    }
    return Promise.resolve(
      platform.app.request(`http://motorcade.test${path}`, { method, headers, body }),
    );
  };
  return {
    ...platform,
    dataDir,
    call,
    async login(email, password) {
      const response = await call("POST", "/api/v1/auth/login", { json: { email, password } });
      if (response.status !== 200) {
        throw new Error(`Login of "${email}" failed: ${response.status} ${await response.text()}`);
      }
      return await response.json();
    },
    async [Symbol.asyncDispose]() {
      await platform.close();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
}

/** A fleet with one user of each role and one vehicle with a camera, made through the registry. */
export interface FleetFixture {
  fleetId: string;
  vehicleId: string;
  cameraId: string;
  enrolmentCode: string;
  tokens: Record<"admin" | "operator" | "viewer", string>;
}

/** Creates a fleet named `name` with users `<role>@<name>.test` and a vehicle `bus-1`. */
export async function makeFleet(platform: TestPlatform, name: string): Promise<FleetFixture> {
  const fleet = await platform.registry.createFleet(name);
  const tokens = {} as FleetFixture["tokens"];
  for (const role of ["admin", "operator", "viewer"] as const) {
    const email = `${role}@${name.toLowerCase()}.test`;
    await platform.registry.createUser({
      fleetId: fleet.id,
      email,
      role,
      password: "password-" + role,
    });
    tokens[role] = (await platform.login(email, "password-" + role)).accessToken;
  }
  const { vehicle, enrolment } = await platform.registry.registerVehicle(fleet.id, "bus-1");
  const camera = await platform.registry.addCamera(fleet.id, vehicle.id, "front");
  return {
    fleetId: fleet.id,
    vehicleId: vehicle.id,
    cameraId: camera.id,
    enrolmentCode: enrolment.code,
    tokens,
  };
}
