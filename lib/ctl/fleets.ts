import { fleetView } from "../../routes/api/v1/views.ts";
import type { CommandGroup } from "./command.ts";
import { listOrNone, when } from "./output.ts";

/** `fleets list | add | rename | retention | remove`. */
export const fleetCommands: CommandGroup = {
  name: "fleets",
  summary: "Fleets (tenants)",
  commands: [
    {
      name: "list",
      summary: "List every fleet",
      async run({ platform }) {
        const fleets = (await (await platform()).registry.listFleets()).map(fleetView);
        return {
          json: { fleets },
          text: listOrNone(
            fleets.map((f) => [f.id, f.name, when(f.createdAt)]),
            ["ID", "NAME", "CREATED"],
            "No fleets",
          ),
        };
      },
    },
    {
      name: "add",
      summary: "Create a fleet",
      args: ["name"],
      async run({ args: [name], platform }) {
        const fleet = fleetView(await (await platform()).registry.createFleet(name));
        return { json: fleet, text: `Created fleet "${fleet.name}" (${fleet.id})` };
      },
    },
    {
      name: "rename",
      summary: "Rename a fleet",
      args: ["fleetId", "name"],
      async run({ args: [fleetId, name], platform }) {
        const fleet = fleetView(await (await platform()).registry.renameFleet(fleetId, name));
        return { json: fleet, text: `Renamed fleet ${fleet.id} to "${fleet.name}"` };
      },
    },
    {
      name: "retention",
      summary: "Show how long a fleet keeps recordings and what the sweep would delete now",
      args: ["fleetId"],
      flags: {
        days: {
          type: "string",
          value: "N|forever",
          help: "First keep recordings N days (1 to 3650), or forever",
        },
      },
      async run({ args: [fleetId], flags, platform }) {
        const { registry } = await platform();
        const days = flags.days;
        if (typeof days === "string") {
          // Anything but a count or "forever" is refused by the registry, naming the field.
          const retentionDays = days === "forever"
            ? null
            : /^\d+$/.test(days)
            ? Number(days)
            : days;
          await registry.updateFleet(fleetId, { retentionDays: retentionDays as number | null });
        }
        const { retentionDays, cutoff, expired } = await registry.retention(fleetId);
        return {
          json: { retentionDays, cutoff: cutoff && cutoff.toISOString(), expired },
          text: retentionDays === null
            ? `Fleet ${fleetId} keeps recordings forever`
            : `Fleet ${fleetId} keeps recordings ${retentionDays} days: ${expired.segments} ` +
              `segments (${expired.bytes} bytes) ended before ${when(cutoff)} and ` +
              `${expired.recordings} recordings go at the next sweep`,
        };
      },
    },
    {
      name: "remove",
      summary: "Delete a fleet that has no users or vehicles left",
      args: ["fleetId"],
      async run({ args: [fleetId], platform }) {
        const { registry } = await platform();
        const fleet = await registry.fleet(fleetId);
        await registry.deleteFleet(fleet.id);
        return {
          json: { id: fleet.id, removed: true },
          text: `Removed fleet "${fleet.name}" (${fleet.id})`,
        };
      },
    },
  ],
};
