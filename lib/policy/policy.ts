import type { PolicyScope, ProxySettings, UploadMode, UploadPolicy } from "../catalog/mod.ts";

/** The proxy rendition when a policy names none: 320 lines at 150 kbit/s. */
export const DEFAULT_PROXY: Readonly<ProxySettings> = Object.freeze({
  height: 320,
  bitrateKbps: 150,
});

/** Longest recall a fleet allows unless its policy says otherwise: one hour. */
export const DEFAULT_RECALL_MAX_SECONDS = 3600;

/** How many unfinished recalls a vehicle may have at once. */
export const MAX_ACTIVE_RECALLS = 32;

/** A camera's policy as the vehicle applies it, and which scope it comes from. */
export interface EffectivePolicy {
  mode: UploadMode;
  proxy: ProxySettings;
  /** Where it is set: the camera, its vehicle, its fleet, or nowhere (`default`: continuous). */
  source: PolicyScope | "default";
}

/** Today's behaviour, for a fleet that set no policy. */
export const DEFAULT_POLICY: Readonly<EffectivePolicy> = Object.freeze({
  mode: "continuous",
  proxy: DEFAULT_PROXY,
  source: "default",
});

/**
 * The policy that applies to a camera (or, with `cameraId` null, to a vehicle's cameras that set
 * none), from the policies set on its fleet, vehicle and cameras: the narrowest scope wins.
 */
export function effectivePolicy(
  policies: readonly UploadPolicy[],
  vehicleId: string,
  cameraId: string | null,
): EffectivePolicy {
  const found =
    (cameraId && policies.find((p) => p.scope === "camera" && p.cameraId === cameraId)) ||
    policies.find((p) => p.scope === "vehicle" && p.vehicleId === vehicleId) ||
    policies.find((p) => p.scope === "fleet");
  if (!found) return { ...DEFAULT_POLICY, proxy: { ...DEFAULT_PROXY } };
  return { mode: found.mode, proxy: { ...found.proxy }, source: found.scope };
}

/** The longest recall, in seconds, the fleet's policy allows. */
export function recallMaxSeconds(policies: readonly UploadPolicy[]): number {
  return policies.find((p) => p.scope === "fleet")?.recallMaxSeconds ??
    DEFAULT_RECALL_MAX_SECONDS;
}
