/**
 * The admin CLI (`deno task ctl`): fleets, users, vehicles, cameras, signing keys and the
 * configuration, worked on directly in the catalog through the same registry as the API.
 */
import { ConfigError, loadConfig } from "../config/mod.ts";
import { MotorcadeError } from "../errors/mod.ts";
import { cameraCommands } from "./cameras.ts";
import {
  type Command,
  type CtlIo,
  type Output,
  parseCommand,
  PROGRAM,
  UsageError,
  usageOf,
} from "./command.ts";
import { configCommand } from "./config.ts";
import { fleetCommands } from "./fleets.ts";
import {
  commandHelp,
  type Entry,
  groupHelp,
  groupUsage,
  isGroup,
  ROOT_USAGE,
  rootHelp,
} from "./help.ts";
import { keyCommands, urlKeyCommands } from "./keys.ts";
import { type AdminPlatform, openAdminPlatform } from "./platform.ts";
import { userCommands } from "./users.ts";
import { vehicleCommands } from "./vehicles.ts";

export type { CtlIo } from "./command.ts";

/** Exit codes of the CLI. */
export const EXIT = { ok: 0, refused: 1, usage: 2, config: 3 } as const;

const ENTRIES: Entry[] = [
  fleetCommands,
  userCommands,
  vehicleCommands,
  cameraCommands,
  keyCommands,
  urlKeyCommands,
  configCommand,
];

const HELP = new Set(["--help", "-h", "help"]);

/** A resolved invocation: help text to print, or a command to run with its remaining arguments. */
type Resolved =
  | { help: string }
  | { command: Command; words: string; argv: string[] };

/**
 * Runs the CLI with `args` (without the program name) and returns the exit code: 0 done, 1 a
 * domain error (not found, conflict, invalid value), 2 a usage error, 3 a configuration error.
 *
 * @example Deno.exit(await runCtl(Deno.args, { stdout, stderr, env: Deno.env.toObject() }));
 */
export async function runCtl(args: string[], io: CtlIo): Promise<number> {
  const end = args.indexOf("--");
  const json = (end < 0 ? args : args.slice(0, end)).includes("--json");
  let platform: Promise<AdminPlatform> | undefined;
  let usage = ROOT_USAGE;
  let help = `${PROGRAM} --help`;
  try {
    const resolved = resolve(args);
    if ("help" in resolved) {
      await io.stdout.write(resolved.help + "\n");
      return EXIT.ok;
    }
    const { command, words, argv } = resolved;
    usage = usageOf(command, words);
    help = `${PROGRAM} ${words} --help`;
    const parsed = parseCommand(command, argv);
    if (parsed.help) {
      await io.stdout.write(commandHelp(command, words) + "\n");
      return EXIT.ok;
    }
    const config = loadConfig(io.env);
    const output = await command.run({
      args: parsed.args,
      flags: parsed.flags,
      config,
      io,
      platform: () => platform ??= openAdminPlatform(config),
    });
    await io.stdout.write(render(output, json) + "\n");
    return EXIT.ok;
  } catch (error) {
    const { exit, text } = failure(error, json, usage, help);
    await io.stderr.write(text);
    return exit;
  } finally {
    if (platform) await (await platform.catch(() => undefined))?.close();
  }
}

/** Finds the command `args` names, or the help it asks for. */
function resolve(args: string[]): Resolved {
  const [noun, verb, ...rest] = args;
  if (noun === undefined) throw new UsageError("Missing command");
  if (HELP.has(noun)) return { help: rootHelp(ENTRIES) };
  const entry = ENTRIES.find((e) => e.name === noun);
  if (!entry) {
    const message = noun.startsWith("-")
      ? `Expected a command before flag "${noun}"`
      : `Unknown command "${noun}"`;
    throw new UsageError(`${message}: expected ${names(ENTRIES)}`);
  }
  if (!isGroup(entry)) return { command: entry, words: entry.name, argv: args.slice(1) };
  if (verb !== undefined && HELP.has(verb)) return { help: groupHelp(entry) };
  const usage = groupUsage(entry);
  const help = `${PROGRAM} ${noun} --help`;
  if (verb === undefined || verb.startsWith("-")) {
    throw new UsageError(
      `Missing verb after "${noun}": expected ${names(entry.commands)}`,
      usage,
      help,
    );
  }
  const command = entry.commands.find((c) => c.name === verb);
  if (!command) {
    throw new UsageError(
      `Unknown verb "${noun} ${verb}": expected ${names(entry.commands)}`,
      usage,
      help,
    );
  }
  return { command, words: `${noun} ${verb}`, argv: rest };
}

function names(entries: Array<{ name: string }>): string {
  const all = entries.map((e) => e.name);
  return all.length > 1 ? `${all.slice(0, -1).join(", ")} or ${all.at(-1)}` : all.join("");
}

/** The exit code of `error` and what to tell the operator: a sentence, or a JSON problem. */
function failure(
  error: unknown,
  json: boolean,
  usage: string,
  help: string,
): { exit: number; text: string } {
  const say = (exit: number, problem: Record<string, unknown>, text: string) => ({
    exit,
    text: json ? JSON.stringify(problem) + "\n" : text,
  });
  if (error instanceof UsageError) {
    const lines = error.usage ?? usage;
    return say(
      EXIT.usage,
      { code: "usage_error", message: error.message, usage: lines },
      `error: ${error.message}\nusage: ${lines}\nRun "${error.help ?? help}" for more.\n`,
    );
  }
  if (error instanceof ConfigError) {
    return say(
      EXIT.config,
      { code: "invalid_configuration", message: "Invalid configuration", problems: error.problems },
      `error: ${error.message}\n`,
    );
  }
  if (error instanceof MotorcadeError) {
    return say(
      EXIT.refused,
      { code: error.code, message: error.message, ...error.details },
      `error: ${error.message}\n`,
    );
  }
  // Not a condition the CLI expects: keep the stack, it is a bug to report.
  const stack = error instanceof Error ? error.stack ?? error.message : String(error);
  return say(EXIT.refused, { code: "internal_error", message: String(error) }, `error: ${stack}\n`);
}

function render(output: Output, json: boolean): string {
  return json ? JSON.stringify(output.json, null, 2) : output.text;
}
