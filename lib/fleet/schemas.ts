import { z } from "@hono/zod-openapi";
import { ID_PATTERN } from "../catalog/mod.ts";
import { ValidationError } from "../errors/mod.ts";
import { parseLadder } from "../live/ladder.ts";
import { isCommonPassword, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from "./password_policy.ts";

/** An entity id (`veh_…`); anything else never reaches a query. */
export const IdSchema = z.string().regex(ID_PATTERN, "must be a Motorcade id such as veh_…");
/** A fleet's display name. */
export const FleetNameSchema = z.string().trim().min(1).max(100);
/** A vehicle's name within its fleet: a plate, a fleet number. */
export const VehicleNameSchema = z.string().trim().regex(
  /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/,
  "must be 1-64 letters, digits, spaces, dots, dashes or underscores",
);
/** A camera's name within its vehicle, used in URLs: `front`, `cabin-2`. */
export const CameraNameSchema = z.string().regex(
  /^[a-z0-9][a-z0-9_-]{0,31}$/,
  "must be 1-32 lowercase letters, digits, dashes or underscores",
);
/** What operators call a camera (`Door, rear`): any 1-64 printable characters, trimmed. */
export const CameraLabelSchema = z.string().trim().min(
  1,
  "must not be empty (give null to clear it)",
)
  .max(64, "must be at most 64 characters").regex(
    /^[^\p{Cc}]*$/u,
    "must not contain control characters",
  );
/** An email address, compared case-insensitively. */
export const EmailSchema = z.string().trim().toLowerCase().max(254).regex(
  /^[^@\s]+@[^@\s]+$/,
  "must be an email address",
);
/** A new password: 10 to 256 characters and not a common password (see password_policy.ts). */
export const PasswordSchema = z.string()
  .min(PASSWORD_MIN_LENGTH, `must be at least ${PASSWORD_MIN_LENGTH} characters`)
  .max(PASSWORD_MAX_LENGTH, `must be at most ${PASSWORD_MAX_LENGTH} characters`)
  .refine(
    (password) => !isCommonPassword(password),
    "is one of the most common passwords (zxcvbn's list of 49,233); choose another",
  )
  .openapi({
    description:
      `At least ${PASSWORD_MIN_LENGTH} characters, and not on zxcvbn's list of common passwords`,
    example: "correct-horse-battery",
  });
/** Days a fleet keeps its recordings: 1 to 3650 (ten years), or null to keep them forever. */
export const RetentionDaysSchema = z.number({ error: "must be a whole number of days, or null" })
  .int("must be a whole number of days, or null")
  .min(1, "must be at least 1 day, or null to keep recordings forever")
  .max(3650, "must be at most 3650 days (ten years)")
  .nullable();
/** An IANA time zone Intl knows, e.g. `Europe/Berlin`; null: UTC. */
export const TimeZoneSchema = z.string().max(64).refine((zone) => {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}, 'must be an IANA time zone such as "Europe/Berlin"').nullable();
/** A fleet's default segment length: 0.5 to 30 seconds (the agent's own bounds), or null. */
export const SegmentSecondsSchema = z.number({ error: "must be a number of seconds, or null" })
  .min(0.5, "must be at least 0.5 seconds")
  .max(30, "must be at most 30 seconds")
  .nullable();
/** A live quality ladder in LIVE_LADDER syntax (`auto` or three rungs lowest first); null: the server's. */
export const LiveLadderSchema = z.string().max(100).superRefine((ladder, ctx) => {
  try {
    parseLadder(ladder);
  } catch (error) {
    ctx.addIssue({
      code: "custom",
      message: `${(error as Error).message} (e.g. "auto" or "240:200k,540:680k,720:1040k")`,
    });
  }
}).nullable();
/** Roles a fleet user can hold. */
export const FleetRoleSchema = z.enum(["admin", "operator", "viewer"]);

/** Parses `value` with `schema`, throwing a ValidationError that names `field`. */
export function parseField<T>(schema: z.ZodType<T>, value: unknown, field: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const message = result.error.issues[0]?.message ?? "is invalid";
  throw new ValidationError(`Field "${field}": ${message}`, [{ path: field, message }]);
}
