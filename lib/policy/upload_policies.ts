import type { Catalog, ProxySettings, UploadMode, UploadPolicy } from "../catalog/mod.ts";
import { NotFoundError } from "../errors/mod.ts";
import type { FleetRegistry } from "../fleet/mod.ts";
import type { InstructionsDesk } from "./instructions_desk.ts";
import { checkPolicyInput } from "./policy_input.ts";
import {
  DEFAULT_PROXY,
  DEFAULT_RECALL_MAX_SECONDS,
  type EffectivePolicy,
  effectivePolicy,
  recallMaxSeconds,
} from "./policy.ts";

/** A policy as an operator sets it; a proxy not given is the default one. */
export interface PolicyInput {
  mode: UploadMode;
  proxy?: ProxySettings;
}

/** A fleet's policy as an operator sets it: also the longest recall it allows. */
export interface FleetPolicyInput extends PolicyInput {
  recallMaxSeconds?: number;
}

/** What a scope answers: the policy in force there, where it comes from, and the one set there. */
export interface PolicyAnswer {
  effective: EffectivePolicy;
  /** The policy set on this very scope; null when it inherits. */
  own: UploadPolicy | null;
}

/**
 * Upload policies of fleets, vehicles and cameras: set, removed and resolved through their fleet;
 * every change tells the vehicles concerned (their instructions change).
 */
export class UploadPolicies {
  constructor(
    private readonly catalog: Catalog,
    private readonly registry: FleetRegistry,
    private readonly desk: InstructionsDesk,
  ) {}

  /** The fleet's default policy and the longest recall it allows. */
  async fleet(fleetId: string): Promise<PolicyAnswer & { recallMaxSeconds: number }> {
    await this.registry.fleet(fleetId);
    const own = await this.catalog.uploadPolicies.get(fleetId, fleetId) ?? null;
    return {
      effective: effectivePolicy(own ? [own] : [], "", null),
      own,
      recallMaxSeconds: recallMaxSeconds(own ? [own] : []),
    };
  }

  /** Sets the fleet's default policy. */
  async setFleet(
    fleetId: string,
    input: FleetPolicyInput,
  ): Promise<PolicyAnswer & { recallMaxSeconds: number }> {
    await this.registry.fleet(fleetId);
    checkPolicyInput(input);
    await this.catalog.uploadPolicies.put({
      scope: "fleet",
      fleetId,
      vehicleId: null,
      cameraId: null,
      mode: input.mode,
      proxy: input.proxy ?? { ...DEFAULT_PROXY },
      recallMaxSeconds: input.recallMaxSeconds ?? DEFAULT_RECALL_MAX_SECONDS,
    }, new Date());
    this.desk.changed(fleetId);
    return await this.fleet(fleetId);
  }

  /** The policy in force for the vehicle's cameras that set none. */
  async vehicle(fleetId: string, vehicleId: string): Promise<PolicyAnswer> {
    await this.registry.vehicle(fleetId, vehicleId);
    const policies = await this.catalog.uploadPolicies.forVehicle(fleetId, vehicleId);
    return {
      effective: effectivePolicy(policies, vehicleId, null),
      own: policies.find((p) => p.scope === "vehicle") ?? null,
    };
  }

  /** Sets the vehicle's policy, over its fleet's. */
  async setVehicle(fleetId: string, vehicleId: string, input: PolicyInput): Promise<PolicyAnswer> {
    await this.registry.vehicle(fleetId, vehicleId);
    await this.#put(fleetId, vehicleId, null, input);
    return await this.vehicle(fleetId, vehicleId);
  }

  /** Removes the vehicle's own policy: it follows its fleet's again. */
  async clearVehicle(fleetId: string, vehicleId: string): Promise<PolicyAnswer> {
    await this.registry.vehicle(fleetId, vehicleId);
    await this.#delete(fleetId, vehicleId, vehicleId);
    return await this.vehicle(fleetId, vehicleId);
  }

  /** The policy in force for one camera. */
  async camera(fleetId: string, vehicleId: string, cameraId: string): Promise<PolicyAnswer> {
    await this.registry.camera(fleetId, vehicleId, cameraId);
    const policies = await this.catalog.uploadPolicies.forVehicle(fleetId, vehicleId);
    return {
      effective: effectivePolicy(policies, vehicleId, cameraId),
      own: policies.find((p) => p.scope === "camera" && p.cameraId === cameraId) ?? null,
    };
  }

  /** Sets one camera's policy, over its vehicle's and fleet's. */
  async setCamera(
    fleetId: string,
    vehicleId: string,
    cameraId: string,
    input: PolicyInput,
  ): Promise<PolicyAnswer> {
    await this.registry.camera(fleetId, vehicleId, cameraId);
    await this.#put(fleetId, vehicleId, cameraId, input);
    return await this.camera(fleetId, vehicleId, cameraId);
  }

  /** Removes the camera's own policy: it follows its vehicle's (or fleet's) again. */
  async clearCamera(fleetId: string, vehicleId: string, cameraId: string): Promise<PolicyAnswer> {
    await this.registry.camera(fleetId, vehicleId, cameraId);
    await this.#delete(fleetId, cameraId, vehicleId);
    return await this.camera(fleetId, vehicleId, cameraId);
  }

  async #put(fleetId: string, vehicleId: string, cameraId: string | null, input: PolicyInput) {
    checkPolicyInput(input);
    await this.catalog.uploadPolicies.put({
      scope: cameraId ? "camera" : "vehicle",
      fleetId,
      vehicleId,
      cameraId,
      mode: input.mode,
      proxy: input.proxy ?? { ...DEFAULT_PROXY },
      recallMaxSeconds: null,
    }, new Date());
    this.desk.changed(vehicleId);
  }

  async #delete(fleetId: string, scopeId: string, vehicleId: string) {
    if (!await this.catalog.uploadPolicies.delete(fleetId, scopeId)) {
      throw new NotFoundError(`Cannot remove the upload policy of "${scopeId}": none is set`);
    }
    this.desk.changed(vehicleId);
  }
}
