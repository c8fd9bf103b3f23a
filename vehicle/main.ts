/**
 * The vehicle agent: `deno task vehicle <command>`.
 *
 *   enrol --server URL --code CODE [--state DIR]   bind this vehicle to its device credential
 *   whoami [--state DIR]                           show the vehicle and cameras the server knows
 */
import { parseArgs } from "node:util";
import { DeviceAuthError, DeviceTokens, enrol, loadDeviceState } from "./identity.ts";

const USAGE = `usage: vehicle enrol --server URL --code CODE [--state DIR]
       vehicle whoami [--state DIR]`;

async function run(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        server: { type: "string" },
        code: { type: "string" },
        state: { type: "string", default: Deno.env.get("VEHICLE_STATE_DIR") ?? "./vehicle-state" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    console.error(`error: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.help || !command) {
    (values.help ? console.log : console.error)(USAGE);
    return values.help ? 0 : 2;
  }
  try {
    if (command === "enrol") {
      if (!values.server || !values.code) {
        console.error(`error: enrol needs --server and --code\n${USAGE}`);
        return 2;
      }
      const state = await enrol(values.server, values.code, values.state);
      console.log(`enrolled: vehicle ${state.vehicleId} (credential ${state.credentialId})`);
      return 0;
    }
    if (command === "whoami") {
      const tokens = new DeviceTokens(await loadDeviceState(values.state));
      const response = await fetch(`${tokens.state.serverUrl}/api/v1/device/vehicle`, {
        headers: { authorization: `Bearer ${await tokens.token()}` },
      });
      const body = await response.json();
      if (!response.ok) throw new DeviceAuthError(body.detail ?? response.statusText, 0);
      console.log(JSON.stringify(body, null, 2));
      return 0;
    }
    console.error(`error: unknown command "${command}"\n${USAGE}`);
    return 2;
  } catch (error) {
    if (error instanceof DeviceAuthError) {
      console.error(`error: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

if (import.meta.main) Deno.exit(await run(Deno.args));
