import type { Role } from "../catalog/mod.ts";
import { ValidationError } from "../errors/mod.ts";
import { userView } from "../../routes/api/v1/views.ts";
import { type CommandGroup, type CommandInput, UsageError } from "./command.ts";
import { listOrNone, when } from "./output.ts";
import { generatePassword, readLine } from "./password.ts";

const PASSWORD_STDIN = {
  type: "boolean",
  help: "Read the password from the first line of stdin (otherwise one is generated)",
} as const;

/** `users list | add | set-role | disable | enable | reset-password | remove`. */
export const userCommands: CommandGroup = {
  name: "users",
  summary: "People who sign in: platform owners and fleet users",
  commands: [
    {
      name: "list",
      summary: "List the users of a fleet, or every user",
      flags: { fleet: { type: "string", value: "ID", help: "Only the users of this fleet" } },
      async run({ flags, platform }) {
        const fleetId = flags.fleet as string | undefined;
        const users = (await (await platform()).registry.listUsers(fleetId ?? null)).map(userView);
        return {
          json: { users },
          text: listOrNone(
            users.map((u) => [
              u.id,
              u.email,
              u.role,
              u.fleetId ?? "—",
              u.disabled ? "disabled" : "enabled",
              when(u.createdAt),
            ]),
            ["ID", "EMAIL", "ROLE", "FLEET", "STATUS", "CREATED"],
            "No users",
          ),
        };
      },
    },
    {
      name: "add",
      summary: "Add a user to a fleet, or a platform owner",
      flags: {
        email: { type: "string", value: "EMAIL", required: true, help: "Sign-in email" },
        role: { type: "string", value: "ROLE", help: "admin, operator or viewer (with --fleet)" },
        fleet: { type: "string", value: "ID", help: "The fleet the role applies to" },
        owner: { type: "boolean", help: "A platform owner, in no fleet" },
        "password-stdin": PASSWORD_STDIN,
      },
      synopsis:
        "--email EMAIL (--role admin|operator|viewer --fleet ID | --owner) [--password-stdin]",
      async run(input) {
        const { flags } = input;
        const owner = flags.owner === true;
        if (owner && (flags.role !== undefined || flags.fleet !== undefined)) {
          throw new UsageError("Flag --owner cannot be combined with --role or --fleet");
        }
        if (!owner && flags.role === undefined) {
          throw new UsageError("Missing flag --role ROLE (or --owner for a platform owner)");
        }
        if (!owner && flags.fleet === undefined) throw new UsageError("Missing flag --fleet ID");
        const { password, generated } = await newPassword(input);
        const user = userView(
          await (await input.platform()).registry.createUser({
            email: flags.email as string,
            role: owner ? "owner" : flags.role as Role,
            fleetId: owner ? null : flags.fleet as string,
            password,
          }),
        );
        const text = owner
          ? `Added platform owner ${user.email} (${user.id})`
          : `Added ${user.role} ${user.email} (${user.id}) to fleet ${user.fleetId}`;
        return {
          json: { user, password: generated ? password : null },
          text: text + (generated ? `\nPassword (shown once): ${password}` : ""),
        };
      },
    },
    {
      name: "set-role",
      summary: "Change a fleet user's role (signs them out)",
      args: ["userId", "role"],
      async run({ args: [userId, role], platform }) {
        const { registry } = await platform();
        const current = await registry.user(null, userId);
        if (current.role === "owner") {
          throw new ValidationError(
            `User "${userId}" is a platform owner: the role cannot change`,
            [
              { path: "role", message: "owners keep their role" },
            ],
          );
        }
        const user = userView(await registry.updateUser(null, userId, { role: role as Role }));
        return {
          json: user,
          text: `User ${user.email} (${user.id}) is now ${user.role}; ${SIGNED_OUT}`,
        };
      },
    },
    {
      name: "disable",
      summary: "Stop a user from signing in (signs them out)",
      args: ["userId"],
      async run({ args: [userId], platform }) {
        const user = userView(
          await (await platform()).registry.updateUser(null, userId, { disabled: true }),
        );
        return { json: user, text: `Disabled ${describe(user)}; ${SIGNED_OUT}` };
      },
    },
    {
      name: "enable",
      summary: "Let a disabled user sign in again",
      args: ["userId"],
      async run({ args: [userId], platform }) {
        const user = userView(
          await (await platform()).registry.updateUser(null, userId, { disabled: false }),
        );
        return { json: user, text: `Enabled ${describe(user)}` };
      },
    },
    {
      name: "reset-password",
      summary: "Set a new password (signs the user out)",
      args: ["userId"],
      flags: { "password-stdin": PASSWORD_STDIN },
      async run(input) {
        const [userId] = input.args;
        const { registry } = await input.platform();
        await registry.user(null, userId);
        const { password, generated } = await newPassword(input);
        const user = userView(await registry.updateUser(null, userId, { password }));
        return {
          json: { user, password: generated ? password : null },
          text: `New password set for ${describe(user)}; ${SIGNED_OUT}` +
            (generated ? `\nPassword (shown once): ${password}` : ""),
        };
      },
    },
    {
      name: "remove",
      summary: "Delete a user and their sessions",
      args: ["userId"],
      async run({ args: [userId], platform }) {
        const { registry } = await platform();
        const user = userView(await registry.user(null, userId));
        await registry.deleteUser(null, user.id);
        return { json: { id: user.id, removed: true }, text: `Removed ${describe(user)}` };
      },
    },
  ],
};

const SIGNED_OUT = "their sessions were ended";

function describe(user: { id: string; email: string }): string {
  return `user ${user.email} (${user.id})`;
}

async function newPassword(input: CommandInput): Promise<{ password: string; generated: boolean }> {
  if (input.flags["password-stdin"] !== true) {
    return { password: generatePassword(), generated: true };
  }
  const password = await readLine(input.io.stdin);
  if (password === undefined) {
    throw new UsageError("Flag --password-stdin was given but stdin is empty");
  }
  return { password, generated: false };
}
