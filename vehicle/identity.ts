/**
 * The vehicle's identity: an ES256 key pair generated on the vehicle, bound to its device
 * credential by redeeming a one-time enrolment code, and used to obtain short-lived device tokens.
 * The private key never leaves the vehicle's state folder.
 */
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from "jose";
import { ServerClock } from "./server_clock.ts";

/** What the vehicle keeps in `<stateDir>/device.json` (mode 0600). */
export interface DeviceState {
  serverUrl: string;
  credentialId: string;
  vehicleId: string;
  fleetId: string;
  /** The `aud` of token-request assertions, as the server announced at enrolment. */
  assertionAudience: string;
  privateJwk: JWK;
}

/** A failed exchange with the server; `status` is the HTTP status (0 for a network error). */
export class DeviceAuthError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
    this.name = "DeviceAuthError";
  }
}

const STATE_FILE = "device.json";
const ASSERTION_TTL_S = 120;
const RENEW_BEFORE_MS = 60_000;
/** A vehicle's link can swallow packets: never wait for a token longer than this. */
const TOKEN_TIMEOUT_MS = 30_000;
/** A correction of the clock larger than this may explain a refused assertion: retry it. */
const CLOCK_RETRY_MS = 5_000;

async function problemDetail(response: Response): Promise<string> {
  const text = await response.text();
  try {
    return JSON.parse(text).detail ?? text;
  } catch {
    return text.slice(0, 300);
  }
}

/**
 * Enrols this vehicle: generates a key pair, redeems `code` at `serverUrl`, and writes the state
 * file. Refuses to overwrite an existing enrolment.
 */
export async function enrol(
  serverUrl: string,
  code: string,
  stateDir: string,
): Promise<DeviceState> {
  const path = `${stateDir}/${STATE_FILE}`;
  try {
    await Deno.stat(path);
    throw new DeviceAuthError(`Vehicle is already enrolled: "${path}" exists`, 0);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const base = serverUrl.replace(/\/+$/, "");
  const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
  const response = await fetch(`${base}/api/v1/device/enrol`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code, publicKey: await exportJWK(publicKey) }),
  });
  if (response.status !== 201) {
    throw new DeviceAuthError(
      `Enrolment refused (${response.status}): ${await problemDetail(response)}`,
      response.status,
    );
  }
  const body = await response.json();
  const state: DeviceState = {
    serverUrl: base,
    credentialId: body.credentialId,
    vehicleId: body.vehicleId,
    fleetId: body.fleetId,
    assertionAudience: body.assertionAudience,
    privateJwk: await exportJWK(privateKey),
  };
  await Deno.mkdir(stateDir, { recursive: true });
  await Deno.writeTextFile(path, JSON.stringify(state, null, 2), { mode: 0o600 });
  return state;
}

/** Reads the state an earlier {@linkcode enrol} wrote. */
export async function loadDeviceState(stateDir: string): Promise<DeviceState> {
  const path = `${stateDir}/${STATE_FILE}`;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new DeviceAuthError(`Vehicle is not enrolled: "${path}" does not exist`, 0);
    }
    throw error;
  }
  const state = JSON.parse(text) as DeviceState;
  for (
    const field of [
      "serverUrl",
      "credentialId",
      "vehicleId",
      "fleetId",
      "assertionAudience",
    ] as const
  ) {
    if (typeof state[field] !== "string") {
      throw new DeviceAuthError(`"${path}" is damaged: field "${field}" is missing`, 0);
    }
  }
  return state;
}

/**
 * Obtains and caches device tokens, renewing each a minute before it expires. Assertions are
 * signed with the server's time as `clock` knows it, so a vehicle whose clock is wrong (a dead RTC
 * battery, no GPS or NTP fix yet) is not locked out: when the server refuses the first assertion
 * of an unknown or changed offset, the refusal itself stated the server's time, and a second one,
 * signed with it, is sent at once.
 */
export class DeviceTokens {
  #token: { value: string; expiresAt: number } | undefined;
  #pending: Promise<string> | undefined;

  constructor(readonly state: DeviceState, readonly clock: ServerClock = new ServerClock()) {}

  /** A valid device token, fetched anew when the cached one is about to expire. */
  token(): Promise<string> {
    // Lifetimes are kept on the monotonic clock: a wall-clock jump neither expires nor extends them.
    if (this.#token && this.#token.expiresAt - performance.now() > RENEW_BEFORE_MS) {
      return Promise.resolve(this.#token.value);
    }
    this.#pending ??= this.#fetch().finally(() => this.#pending = undefined);
    return this.#pending;
  }

  /** Drops the cached token, e.g. after the server answered 401. */
  invalidate(): void {
    this.#token = undefined;
  }

  async #fetch(): Promise<string> {
    const first = await this.#exchange();
    if (first.status === 401 && first.retry) {
      const second = await this.#exchange();
      if (second.status === 200) return second.token!;
      throw second.error!;
    }
    if (first.status === 200) return first.token!;
    throw first.error!;
  }

  /** One assertion for one token; `retry` says the refusal may be the clock's fault. */
  async #exchange(): Promise<
    { status: number; token?: string; error?: DeviceAuthError; retry?: boolean }
  > {
    const endpoint = `${this.state.serverUrl}/api/v1/device/token`;
    const key = await importJWK(this.state.privateJwk, "ES256");
    const offsetBefore = this.clock.offset();
    const now = Math.floor(this.clock.now() / 1000);
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: "ES256", typ: "JWT" })
      .setIssuer(this.state.credentialId)
      .setSubject(this.state.credentialId)
      .setAudience(this.state.assertionAudience)
      .setIssuedAt(now)
      .setExpirationTime(now + ASSERTION_TTL_S)
      .setJti(crypto.randomUUID())
      .sign(key);
    let response: Response;
    try {
      response = await this.clock.fetch(endpoint, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ assertion }),
        signal: AbortSignal.timeout(TOKEN_TIMEOUT_MS),
      });
    } catch (error) {
      const message = `Cannot reach "${endpoint}": ${(error as Error).message}`;
      return { status: 0, error: new DeviceAuthError(message, 0) };
    }
    if (response.status !== 200) {
      const offsetAfter = this.clock.offset();
      const error = new DeviceAuthError(
        `Device token refused (${response.status}): ${await problemDetail(response)}`,
        response.status,
      );
      // Signed with a clock the server has just corrected by more than an assertion tolerates.
      const retry = offsetAfter !== undefined &&
        Math.abs(offsetAfter - (offsetBefore ?? 0)) > CLOCK_RETRY_MS;
      return { status: response.status, error, retry };
    }
    const body = await response.json();
    const expiresAt = performance.now() + body.expiresIn * 1000;
    this.#token = { value: body.accessToken, expiresAt };
    return { status: 200, token: body.accessToken };
  }
}
