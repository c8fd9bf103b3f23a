import { type Config, CONFIG_VARIABLES, type ConfigSource } from "../config/mod.ts";
import type { Command } from "./command.ts";
import { table } from "./output.ts";

/** Variables whose values are never printed. */
const SECRETS = new Set([
  "METRICS_TOKEN",
  "MOTORCADE_ADMIN_PASSWORD",
  "JANUS_API_SECRET",
  "JANUS_ADMIN_SECRET",
  "TURN_SECRET",
]);

/** `config`: every variable with its current value and where it came from. */
export const configCommand: Command = {
  name: "config",
  summary: "Show the configuration with current values (secrets masked)",
  run({ config, io }) {
    const fromFile = readConfigFile(io.env);
    const variables = CONFIG_VARIABLES.map((variable) => {
      const fromEnv = io.env[variable.name]?.trim() || undefined;
      const raw = fromEnv ?? fromFile[variable.name];
      const source = fromEnv !== undefined ? "env" : raw !== undefined ? "file" : "default";
      const value = raw ?? derivedDefault(variable.name, config) ?? null;
      return {
        name: variable.name,
        value: value === null ? null : SECRETS.has(variable.name) ? "********" : maskUrl(value),
        source,
        default: variable.default,
        meaning: variable.meaning,
      };
    });
    return Promise.resolve({
      json: { variables },
      text: table(
        ["VARIABLE", "VALUE", "SOURCE", "MEANING"],
        variables.map((v) => [v.name, v.value ?? "—", v.source, v.meaning]),
      ),
    });
  },
};

/** The value a variable takes when unset, as the loaded configuration resolved it. */
function derivedDefault(name: string, config: Config): string | undefined {
  switch (name) {
    case "PUBLIC_URL":
      return config.publicUrl;
    case "CATALOG_URL":
      return config.catalogUrl;
    default: {
      const fallback = CONFIG_VARIABLES.find((v) => v.name === name)?.default;
      return fallback === "—" ? undefined : fallback;
    }
  }
}

/** The variables set in the `MOTORCADE_CONFIG` file (already validated by `loadConfig`). */
function readConfigFile(env: ConfigSource): Record<string, string> {
  const file = env["MOTORCADE_CONFIG"]?.trim();
  if (!file) return {};
  const parsed = JSON.parse(Deno.readTextFileSync(file)) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(parsed).map(([name, value]) => [name, String(value)]));
}

/** Hides the password of a URL such as `postgres://user:secret@host/db`. */
function maskUrl(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]+):[^@/]+@/i, "$1:********@");
}
