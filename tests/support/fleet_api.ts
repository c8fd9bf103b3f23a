/**
 * Sets up a fleet, a vehicle with cameras and an enrolled device on a real server, through the
 * public API as an operator would.
 */
import { DeviceTokens, enrol } from "../../vehicle/identity.ts";
import { OWNER } from "./platform.ts";

/** What {@linkcode setUpVehicle} made. */
export interface VehicleOnServer {
  ownerToken: string;
  fleetId: string;
  vehicleId: string;
  cameras: Record<string, string>;
  enrolmentCode: string;
  /** The enrolled vehicle's state folder (device key), when enrolled. */
  stateDir: string;
  tokens?: DeviceTokens;
}

/** One JSON API call as `token` (if any); fails naming the call unless it answers 2xx. */
export async function apiCall(
  base: string,
  method: string,
  path: string,
  token?: string,
  json?: unknown,
) {
  const response = await fetch(base + path, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(json ? { "content-type": "application/json" } : {}),
    },
    body: json ? JSON.stringify(json) : undefined,
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/**
 * Creates fleet "Acme", vehicle "bus-1" with `cameras` (other names if given: a second vehicle on
 * the same server), and (unless told not to) enrols it.
 */
export async function setUpVehicle(
  base: string,
  cameras: string[] = ["front"],
  options: { enrol?: boolean; fleet?: string; vehicle?: string } = {},
): Promise<VehicleOnServer> {
  const { accessToken } = await apiCall(base, "POST", "/api/v1/auth/login", undefined, OWNER);
  const fleet = await apiCall(base, "POST", "/api/v1/fleets", accessToken, {
    name: options.fleet ?? "Acme",
  });
  const added = await apiCall(base, "POST", `/api/v1/fleets/${fleet.id}/vehicles`, accessToken, {
    name: options.vehicle ?? "bus-1",
  });
  const ids: Record<string, string> = {};
  for (const name of cameras) {
    const camera = await apiCall(
      base,
      "POST",
      `/api/v1/fleets/${fleet.id}/vehicles/${added.vehicle.id}/cameras`,
      accessToken,
      { name },
    );
    ids[name] = camera.id;
  }
  const stateDir = await Deno.makeTempDir({ prefix: "motorcade-vehicle-" });
  const result: VehicleOnServer = {
    ownerToken: accessToken,
    fleetId: fleet.id,
    vehicleId: added.vehicle.id,
    cameras: ids,
    enrolmentCode: added.enrolment.code,
    stateDir,
  };
  if (options.enrol !== false) {
    result.tokens = new DeviceTokens(await enrol(base, added.enrolment.code, stateDir));
  }
  return result;
}

/** Signed links for a camera's time range (`to` omitted: open-ended). */
export function signedLinks(
  base: string,
  vehicle: VehicleOnServer,
  camera: string,
  range: { from: Date; to?: Date },
): Promise<{ hls: string; dash: string; clip: string | null }> {
  return apiCall(
    base,
    "POST",
    `/api/v1/fleets/${vehicle.fleetId}/vehicles/${vehicle.vehicleId}/cameras/${
      vehicle.cameras[camera]
    }/links`,
    vehicle.ownerToken,
    { from: range.from.toISOString(), to: range.to?.toISOString() },
  );
}
