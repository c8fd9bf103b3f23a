import type { Enrolment } from "../fleet/mod.ts";
import { credentialView, enrolmentView, vehicleView } from "../../routes/api/v1/views.ts";
import type { CommandGroup, FlagSpec } from "./command.ts";
import { listOrNone, when } from "./output.ts";

/** `--fleet ID`, which every fleet-owned entity is reached through. */
export const FLEET_FLAG: FlagSpec = {
  type: "string",
  value: "ID",
  required: true,
  help: "The fleet the vehicle belongs to",
};

/** `vehicles list | add | rename | remove | enrol-code | credentials | revoke`. */
export const vehicleCommands: CommandGroup = {
  name: "vehicles",
  summary: "Vehicles of a fleet and their device credentials",
  commands: [
    {
      name: "list",
      summary: "List the vehicles of a fleet",
      flags: { fleet: FLEET_FLAG },
      async run({ flags, platform }) {
        const { registry } = await platform();
        const vehicles = (await registry.listVehicles(flags.fleet as string)).map((v) =>
          vehicleView(v)
        );
        return {
          json: { vehicles },
          text: listOrNone(
            vehicles.map((v) => [v.id, v.name, when(v.createdAt)]),
            ["ID", "NAME", "CREATED"],
            "No vehicles",
          ),
        };
      },
    },
    {
      name: "add",
      summary: "Register a vehicle and issue its one-time enrolment code",
      args: ["name"],
      flags: { fleet: FLEET_FLAG },
      async run({ args: [name], flags, platform }) {
        const { registry } = await platform();
        const { vehicle, enrolment } = await registry.registerVehicle(flags.fleet as string, name);
        return {
          json: { vehicle: vehicleView(vehicle), enrolment: enrolmentView(enrolment) },
          text:
            `Registered vehicle "${vehicle.name}" (${vehicle.id}) in fleet ${vehicle.fleetId}\n` +
            describeEnrolment(enrolment),
        };
      },
    },
    {
      name: "rename",
      summary: "Rename a vehicle",
      args: ["vehicleId", "name"],
      flags: { fleet: FLEET_FLAG },
      async run({ args: [vehicleId, name], flags, platform }) {
        const { registry } = await platform();
        const vehicle = vehicleView(
          await registry.renameVehicle(flags.fleet as string, vehicleId, name),
        );
        return { json: vehicle, text: `Renamed vehicle ${vehicle.id} to "${vehicle.name}"` };
      },
    },
    {
      name: "remove",
      summary: "Delete a vehicle with its cameras and credentials",
      args: ["vehicleId"],
      flags: { fleet: FLEET_FLAG },
      async run({ args: [vehicleId], flags, platform }) {
        const { registry } = await platform();
        const vehicle = await registry.vehicle(flags.fleet as string, vehicleId);
        await registry.deleteVehicle(vehicle.fleetId, vehicle.id);
        return {
          json: { id: vehicle.id, removed: true },
          text:
            `Removed vehicle "${vehicle.name}" (${vehicle.id}) with its cameras and credentials`,
        };
      },
    },
    {
      name: "enrol-code",
      summary: "Issue a new enrolment code, e.g. for a replaced on-board computer",
      args: ["vehicleId"],
      flags: { fleet: FLEET_FLAG },
      async run({ args: [vehicleId], flags, platform }) {
        const { registry } = await platform();
        const enrolment = await registry.issueCredential(flags.fleet as string, vehicleId);
        return { json: enrolmentView(enrolment), text: describeEnrolment(enrolment) };
      },
    },
    {
      name: "credentials",
      summary: "List a vehicle's device credentials",
      args: ["vehicleId"],
      flags: { fleet: FLEET_FLAG },
      async run({ args: [vehicleId], flags, platform }) {
        const { registry } = await platform();
        const credentials = (await registry.listCredentials(flags.fleet as string, vehicleId))
          .map((c) => credentialView(c));
        return {
          json: { credentials },
          text: listOrNone(
            credentials.map((c) => [
              c.id,
              c.state,
              when(c.createdAt),
              c.state === "awaiting-enrolment"
                ? `by ${when(c.enrolmentExpiresAt)}`
                : when(c.enrolledAt),
              when(c.revokedAt),
            ]),
            ["ID", "STATE", "CREATED", "ENROLLED", "REVOKED"],
            "No credentials",
          ),
        };
      },
    },
    {
      name: "revoke",
      summary: "Revoke a device credential (its tokens stop working at once)",
      args: ["vehicleId", "credentialId"],
      flags: { fleet: FLEET_FLAG },
      async run({ args: [vehicleId, credentialId], flags, platform }) {
        const { registry } = await platform();
        const credential = credentialView(
          await registry.revokeCredential(flags.fleet as string, vehicleId, credentialId),
        );
        return {
          json: credential,
          text: `Revoked credential ${credential.id} of vehicle ${credential.vehicleId}`,
        };
      },
    },
  ],
};

function describeEnrolment(enrolment: Enrolment): string {
  return [
    `Credential ${enrolment.credential.id} awaits enrolment until ${
      when(enrolment.credential.enrolmentExpiresAt)
    }`,
    `Enrolment code (shown once): ${enrolment.code}`,
  ].join("\n");
}
