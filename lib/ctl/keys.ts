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
        return {
          json: { keys },
          text: listOrNone(
            keys.map((k) => [
              k.kid,
              k.active ? "active" : "retired",
              when(k.createdAt),
              when(k.retiredAt),
            ]),
            ["KID", "STATUS", "CREATED", "RETIRED"],
            "No signing keys",
          ),
        };
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

function minutes(ms: number): string {
  const min = Math.ceil(ms / 60_000);
  return min === 1 ? "1 minute" : `${min} minutes`;
}
