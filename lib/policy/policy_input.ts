import { UPLOAD_MODES } from "../catalog/mod.ts";
import { type FieldIssue, ValidationError } from "../errors/mod.ts";

/** The proxy heights and bitrates a policy may ask for, and the longest recall a fleet may allow. */
export const POLICY_LIMITS = Object.freeze({
  height: { min: 144, max: 1080 },
  bitrateKbps: { min: 32, max: 4000 },
  recallMaxSeconds: { min: 10, max: 7 * 86_400 },
});

function integerIn(
  issues: FieldIssue[],
  path: string,
  value: unknown,
  { min, max }: { min: number; max: number },
): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    issues.push({ path, message: `must be a whole number from ${min} to ${max}` });
  }
}

/**
 * Checks a policy as an operator sets it (the API's schema checks the same first; the pages rely
 * on this): the mode one of the three, the proxy's height and bitrate and the fleet's longest
 * recall whole numbers within {@linkcode POLICY_LIMITS}. Throws a ValidationError naming each field.
 */
export function checkPolicyInput(
  input: {
    mode: unknown;
    proxy?: { height: unknown; bitrateKbps: unknown };
    recallMaxSeconds?: unknown;
  },
): void {
  const issues: FieldIssue[] = [];
  if (!(UPLOAD_MODES as readonly unknown[]).includes(input.mode)) {
    issues.push({ path: "mode", message: `must be one of ${UPLOAD_MODES.join(", ")}` });
  }
  integerIn(issues, "proxy.height", input.proxy?.height, POLICY_LIMITS.height);
  integerIn(issues, "proxy.bitrateKbps", input.proxy?.bitrateKbps, POLICY_LIMITS.bitrateKbps);
  integerIn(issues, "recallMaxSeconds", input.recallMaxSeconds, POLICY_LIMITS.recallMaxSeconds);
  if (issues.length > 0) {
    const first = issues[0];
    throw new ValidationError(
      `Cannot set upload policy: "${first.path}" ${first.message}`,
      issues,
    );
  }
}
