/**
 * Upload policies (issue 12): how each camera's recordings reach the server (`continuous`,
 * `proxy`, `on-request`), set on a fleet and overridden per vehicle and camera, and the
 * instructions document that carries them, with the recalls, to each vehicle.
 *
 * @example
 * const desk = new InstructionsDesk(catalog, broadcast);
 * const policies = new UploadPolicies(catalog, registry, desk);
 * await policies.setCamera(fleetId, vehicleId, cameraId, { mode: "on-request" });
 * const next = await desk.wait(fleetId, vehicleId, knownVersion, 30_000); // a long poll
 */
export {
  DEFAULT_POLICY,
  DEFAULT_PROXY,
  DEFAULT_RECALL_MAX_SECONDS,
  type EffectivePolicy,
  effectivePolicy,
  MAX_ACTIVE_RECALLS,
  recallMaxSeconds,
} from "./policy.ts";
export {
  buildInstructions,
  type CameraInstruction,
  type InstructionsDocument,
} from "./instructions.ts";
export { checkPolicyInput, POLICY_LIMITS } from "./policy_input.ts";
export { INSTRUCTIONS_CHANNEL, InstructionsDesk } from "./instructions_desk.ts";
export {
  type FleetPolicyInput,
  type PolicyAnswer,
  type PolicyInput,
  UploadPolicies,
} from "./upload_policies.ts";
