import { parseArgs } from "node:util";
import type { Config, ConfigSource } from "../config/mod.ts";
import type { AdminPlatform } from "./platform.ts";

/** How the CLI is invoked; the start of every usage line. */
export const PROGRAM = "deno task ctl";

/** Streams and environment of one CLI run; the entry point passes the process's own. */
export interface CtlIo {
  stdout: { write(text: string): void | Promise<void> };
  stderr: { write(text: string): void | Promise<void> };
  /** Read only by `--password-stdin`. */
  stdin?: ReadableStream<Uint8Array>;
  env: ConfigSource;
}

/**
 * A mistake on the command line (exit code 2). The dispatcher adds the usage line and the help
 * command of the command it concerns, unless given here.
 */
export class UsageError extends Error {
  constructor(message: string, public usage?: string, public help?: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** A flag a command accepts besides `--json` and `--help`. */
export interface FlagSpec {
  type: "string" | "boolean";
  /** Placeholder of the value in usage lines, e.g. `ID`. */
  value?: string;
  required?: boolean;
  help: string;
}

/** What a command produced: the `--json` document and the text for people. */
export interface Output {
  json: unknown;
  text: string;
}

/** A parsed invocation, handed to {@linkcode Command.run}. */
export interface CommandInput {
  /** Positional arguments, as many as the command declares. */
  args: string[];
  flags: Record<string, string | boolean | undefined>;
  config: Config;
  io: CtlIo;
  /** Opens the catalog, identity and registry on first call; the dispatcher closes them. */
  platform(): Promise<AdminPlatform>;
}

/** One verb of the CLI, such as `fleets add`. */
export interface Command {
  name: string;
  summary: string;
  /** Names of the positional arguments, in order. */
  args?: string[];
  flags?: Record<string, FlagSpec>;
  /** Replaces the generated flags-and-arguments part of the usage line. */
  synopsis?: string;
  run(input: CommandInput): Promise<Output>;
}

/** A noun of the CLI, such as `fleets`, with its verbs. */
export interface CommandGroup {
  name: string;
  summary: string;
  commands: Command[];
}

const COMMON_FLAGS: Record<string, FlagSpec & { short?: string }> = {
  json: { type: "boolean", help: "Print JSON instead of text" },
  help: { type: "boolean", short: "h", help: "Show this help" },
};

/** The usage line of `command`, invoked as `words` (e.g. `fleets add`). */
export function usageOf(command: Command, words: string): string {
  const flags = Object.entries(command.flags ?? {});
  const generated = [
    ...flags.filter(([, f]) => f.required).map(([name, f]) => flagWithValue(name, f)),
    ...(command.args ?? []).map((arg) => `<${arg}>`),
    ...flags.filter(([, f]) => !f.required).map(([name, f]) => `[${flagWithValue(name, f)}]`),
  ].join(" ");
  return [PROGRAM, words, command.synopsis ?? generated, "[--json]"].filter(Boolean).join(" ");
}

/** The option lines of `--help`. */
export function optionLines(command: Command): string[][] {
  return Object.entries({ ...command.flags, ...COMMON_FLAGS }).map(([name, flag]) => [
    ("short" in flag && flag.short ? `-${flag.short}, ` : "") + flagWithValue(name, flag),
    flag.help + (flag.required ? " (required)" : ""),
  ]);
}

function flagWithValue(name: string, flag: FlagSpec): string {
  return flag.type === "string" ? `--${name} ${flag.value ?? "VALUE"}` : `--${name}`;
}

/** The result of parsing a command's arguments: either a help request or an input. */
export type Parsed =
  | { help: true }
  | { help: false; args: string[]; flags: Record<string, string | boolean | undefined> };

/**
 * Parses `argv` (everything after the command words) against `command`, strictly: unknown flags,
 * missing values, missing required flags and a wrong number of arguments are usage errors.
 */
export function parseCommand(command: Command, argv: string[]): Parsed {
  const specs = { ...command.flags, ...COMMON_FLAGS };
  const options = Object.fromEntries(
    Object.entries(specs).map(([name, flag]) => [
      name,
      "short" in flag && flag.short ? { type: flag.type, short: flag.short } : { type: flag.type },
    ]),
  );
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(describeParseError(error));
  }
  const flags = parsed.values as Record<string, string | boolean | undefined>;
  if (flags.help) return { help: true };

  const missingFlags = Object.entries(command.flags ?? {})
    .filter(([name, flag]) => flag.required && flags[name] === undefined)
    .map(([name, flag]) => flagWithValue(name, flag));
  if (missingFlags.length) {
    throw new UsageError(
      `Missing flag${missingFlags.length > 1 ? "s" : ""} ${missingFlags.join(", ")}`,
    );
  }
  const names = command.args ?? [];
  const args = parsed.positionals;
  if (args.length < names.length) {
    const missing = names.slice(args.length).map((name) => `<${name}>`);
    throw new UsageError(`Missing argument${missing.length > 1 ? "s" : ""} ${missing.join(" ")}`);
  }
  if (args.length > names.length) {
    throw new UsageError(`Unexpected argument "${args[names.length]}"`);
  }
  return { help: false, args, flags };
}

/** Turns node:util's parse errors into a short sentence naming the flag. */
function describeParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string }).code;
  const flag = message.match(/'(-[^' ]+)/)?.[1];
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && flag) return `Unknown flag "${flag}"`;
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && flag) {
    return message.includes("does not take an argument")
      ? `Flag "${flag}" takes no value`
      : `Flag "${flag}" needs a value`;
  }
  return message.split("\n")[0];
}
