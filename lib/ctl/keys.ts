import { parseDuration } from "../config/mod.ts";
import { ValidationError } from "../errors/mod.ts";
import type { CommandGroup } from "./command.ts";
import { listOrNone, when } from "./output.ts";

/** `keys list | rotate`: the ES256 keys that sign access and device tokens. */
export const keyCommands: CommandGroup = {
  name: "keys",
  summary: "JWT signing keys",
  commands: [
    {
      name: "list",
      summary: "List the signing keys: the active one and retired ones still verifying",
      async run({ platform }) {
        const keys = (await platform()).identity.keyring.describe().map(keyView);
        return keyTable(keys, ["RETIRED", (k) => k.retiredAt], "No signing keys");
      },
    },
    {
      name: "rotate",
      summary: "Create a new signing key and retire the active one",
      async run({ config, platform }) {
        const { keyring } = (await platform()).identity;
        const previous = keyring.describe().find((k) => k.active)?.kid ?? null;
        const kid = await keyring.rotate();
        const verifyFor = Math.max(config.accessTokenTtlMs, config.deviceTokenTtlMs);
        return {
          json: { kid, retired: previous },
          text: [
            `Signing key ${kid} is now active`,
            ...(previous
              ? [`Key ${previous} is retired; it verifies tokens for ${minutes(verifyFor)} more`]
              : []),
            "A running server signs with the new key after its hourly key reload or a restart",
          ].join("\n"),
        };
      },
    },
  ],
};

function keyView(key: { kid: string; createdAt: Date; retiredAt: Date | null; active: boolean }) {
  return {
    kid: key.kid,
    active: key.active,
    createdAt: key.createdAt.toISOString(),
    retiredAt: key.retiredAt?.toISOString() ?? null,
  };
}

type KeyView = ReturnType<typeof keyView>;

/** The keys as JSON and as a table whose last column is `last` (a date per key). */
function keyTable<K extends KeyView>(
  keys: K[],
  last: [header: string, value: (key: K) => string | null],
  none: string,
) {
  const rows = keys.map((k) => [k.kid, k.active ? "active" : "retired", when(k.createdAt)]);
  return {
    json: { keys },
    text: listOrNone(
      rows.map((row, i) => [...row, when(last[1](keys[i]))]),
      ["KID", "STATUS", "CREATED", last[0]],
      none,
    ),
  };
}

function minutes(ms: number): string {
  const min = Math.ceil(ms / 60_000);
  return min === 1 ? "1 minute" : `${min} minutes`;
}

/** `url-keys list | rotate`: the HMAC keys that sign media, playlist-link and live-link URLs. */
export const urlKeyCommands: CommandGroup = {
  name: "url-keys",
  summary: "Keys that sign media and link URLs",
  commands: [
    {
      name: "list",
      summary: "List the URL signing keys: the active one and retired ones still verifying",
      async run({ platform }) {
        const keys = (await platform()).identity.urls.keyring.describe().map((k) => ({
          ...keyView(k),
          verifyUntil: k.verifyUntil?.toISOString() ?? null,
        }));
        return keyTable(keys, ["VERIFIES UNTIL", (k) => k.verifyUntil], "No URL signing keys");
      },
    },
    {
      name: "rotate",
      summary: "Create a new URL signing key; the active one verifies for the overlap, then goes",
      flags: {
        overlap: {
          type: "string",
          value: "DURATION",
          help: "How long URLs signed by the current key keep working (default 30d, the " +
            "longest link; 0 ends them at once, for a leaked key)",
        },
      },
      async run({ flags, platform }) {
        const overlap = flags.overlap === undefined ? "30d" : String(flags.overlap);
        const overlapMs = parseDuration(overlap);
        if (overlapMs === undefined) {
          throw new ValidationError(`Cannot use overlap "${overlap}": not a duration such as 30d`);
        }
        const { keyring } = (await platform()).identity.urls;
        const previous = keyring.describe().find((k) => k.active)?.kid ?? null;
        const kid = await keyring.rotate(overlapMs);
        const until = new Date(Date.now() + overlapMs).toISOString();
        return {
          json: { kid, retired: previous, verifiesUntil: previous ? until : null },
          text: [
            `URL signing key ${kid} is now active`,
            ...(previous
              ? [`Key ${previous} is retired; its URLs keep working until ${until}`]
              : []),
            "A running server signs with the new key within a minute",
          ].join("\n"),
        };
      },
    },
  ],
};
