import { type Command, type CommandGroup, optionLines, PROGRAM, usageOf } from "./command.ts";
import { table } from "./output.ts";

/** A top-level entry: a noun with verbs (`fleets`), or a command of its own (`config`). */
export type Entry = CommandGroup | Command;

/** Whether `entry` is a noun with verbs. */
export function isGroup(entry: Entry): entry is CommandGroup {
  return "commands" in entry;
}

/** The usage line of the CLI as a whole. */
export const ROOT_USAGE = `${PROGRAM} <command> [<verb>] [arguments] [--json] [--help]`;

/** `ctl --help`. */
export function rootHelp(entries: Entry[]): string {
  return [
    "Motorcade admin CLI: fleets, users, vehicles, cameras and signing keys, changed directly in",
    "the catalog named by DATA_DIR / CATALOG_URL (safe while the server runs).",
    "",
    `usage: ${ROOT_USAGE}`,
    "",
    "Commands:",
    indent(table([], entries.map((e) => [e.name, e.summary]))),
    "",
    `Run "${PROGRAM} <command> --help" for its verbs, flags and arguments.`,
    "Exit codes: 0 done, 1 refused (not found, conflict, invalid value), 2 usage error,",
    "3 configuration error.",
  ].join("\n");
}

/** The usage lines of every verb of `group`. */
export function groupUsage(group: CommandGroup): string {
  return group.commands.map((c) => usageOf(c, `${group.name} ${c.name}`)).join("\n       ");
}

/** `ctl fleets --help`. */
export function groupHelp(group: CommandGroup): string {
  return [
    group.summary,
    "",
    `usage: ${groupUsage(group)}`,
    "",
    "Verbs:",
    indent(table([], group.commands.map((c) => [c.name, c.summary]))),
    "",
    `Run "${PROGRAM} ${group.name} <verb> --help" for details.`,
  ].join("\n");
}

/** `ctl fleets add --help`. */
export function commandHelp(command: Command, words: string): string {
  return [
    command.summary,
    "",
    `usage: ${usageOf(command, words)}`,
    "",
    "Flags:",
    indent(table([], optionLines(command))),
  ].join("\n");
}

function indent(text: string): string {
  return text.split("\n").map((line) => "  " + line).join("\n");
}
