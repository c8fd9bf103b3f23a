/**
 * The recent heartbeats of each vehicle, kept in the catalog beside the last one
 * (`vehicleStatus`), so every API process, and one restarted, shows the same history on the
 * vehicle page. Bounded: `keepMs` of them (HEARTBEAT_HISTORY), and at most `atMost` per vehicle;
 * each heartbeat written deletes its vehicle's older ones, and a vehicle's go with it.
 */
import type { VehicleStatus, VehicleStatusRepository } from "../catalog/mod.ts";

/** Heartbeats a vehicle's history keeps at most (24 h of one every ~17 s). */
export const HEARTBEATS_PER_VEHICLE = 5_000;

/** Heartbeats the vehicle page lists by default. */
export const HEARTBEATS_SHOWN = 100;

/** How long heartbeats are kept by default: 24 h. */
export const HEARTBEAT_HISTORY_MS = 86_400_000;

/** A bounded history of heartbeats per vehicle, in the catalog. */
export class HeartbeatHistory {
  constructor(
    private readonly statuses: VehicleStatusRepository,
    /** How long heartbeats are kept; 0 keeps only the last (no history). */
    readonly keepMs = HEARTBEAT_HISTORY_MS,
    readonly atMost = HEARTBEATS_PER_VEHICLE,
  ) {}

  /** Stores a heartbeat of `vehicleId` received at `at` as its last, and in its history. */
  async record(vehicleId: string, status: Record<string, unknown>, at: Date): Promise<void> {
    const keep = this.keepMs > 0
      ? { since: new Date(at.getTime() - this.keepMs), atMost: this.atMost }
      : undefined;
    await this.statuses.report(vehicleId, status, at, keep);
  }

  /**
   * The heartbeats of `vehicleId` kept at `now`, newest first, at most `limit`; without a history
   * (keepMs 0), the last one if any.
   */
  async list(
    vehicleId: string,
    limit = HEARTBEATS_SHOWN,
    now = new Date(),
  ): Promise<VehicleStatus[]> {
    if (this.keepMs <= 0) {
      const last = await this.statuses.get(vehicleId);
      return last ? [last] : [];
    }
    return await this.statuses.history(vehicleId, new Date(now.getTime() - this.keepMs), limit);
  }
}
