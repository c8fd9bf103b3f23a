import { cameraView } from "../../routes/api/v1/views.ts";
import type { CommandGroup, FlagSpec } from "./command.ts";
import { listOrNone, when } from "./output.ts";
import { FLEET_FLAG } from "./vehicles.ts";

const VEHICLE_FLAG: FlagSpec = {
  type: "string",
  value: "ID",
  required: true,
  help: "The vehicle the camera is mounted in",
};

/** `cameras list | add | remove`. */
export const cameraCommands: CommandGroup = {
  name: "cameras",
  summary: "Cameras of a vehicle",
  commands: [
    {
      name: "list",
      summary: "List the cameras of a vehicle",
      flags: { fleet: FLEET_FLAG, vehicle: VEHICLE_FLAG },
      async run({ flags, platform }) {
        const { registry } = await platform();
        const cameras = (await registry.listCameras(flags.fleet as string, flags.vehicle as string))
          .map(cameraView);
        return {
          json: { cameras },
          text: listOrNone(
            cameras.map((c) => [c.id, c.name, when(c.createdAt)]),
            ["ID", "NAME", "CREATED"],
            "No cameras",
          ),
        };
      },
    },
    {
      name: "add",
      summary: "Add a camera to a vehicle (name: lowercase, e.g. front, cabin-2)",
      args: ["name"],
      flags: { fleet: FLEET_FLAG, vehicle: VEHICLE_FLAG },
      async run({ args: [name], flags, platform }) {
        const { registry } = await platform();
        const camera = cameraView(
          await registry.addCamera(flags.fleet as string, flags.vehicle as string, name),
        );
        return {
          json: camera,
          text: `Added camera "${camera.name}" (${camera.id}) to vehicle ${camera.vehicleId}`,
        };
      },
    },
    {
      name: "remove",
      summary: "Remove a camera from a vehicle",
      args: ["cameraId"],
      flags: { fleet: FLEET_FLAG, vehicle: VEHICLE_FLAG },
      async run({ args: [cameraId], flags, platform }) {
        const { registry } = await platform();
        const fleetId = flags.fleet as string;
        const camera = await registry.camera(fleetId, flags.vehicle as string, cameraId);
        await registry.deleteCamera(fleetId, camera.vehicleId, camera.id);
        return {
          json: { id: camera.id, removed: true },
          text: `Removed camera "${camera.name}" (${camera.id})`,
        };
      },
    },
  ],
};
