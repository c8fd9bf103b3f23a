/**
 * The recent heartbeats of each vehicle, newest first, as this server process received them since
 * it started: the catalog keeps only the last one (`vehicleStatus`), the vehicle page shows the
 * history. Bounded: `perVehicle` heartbeats for at most `vehicles` vehicles (the vehicle heard
 * from longest ago is forgotten first).
 */
import type { VehicleStatus } from "../catalog/mod.ts";

/** Heartbeats kept per vehicle by default. */
export const HEARTBEATS_PER_VEHICLE = 100;

/** A bounded, in-memory history of heartbeats per vehicle. */
export class HeartbeatHistory {
  readonly #byVehicle = new Map<string, VehicleStatus[]>();

  constructor(
    readonly perVehicle = HEARTBEATS_PER_VEHICLE,
    readonly vehicles = 10_000,
  ) {}

  /** Remembers a heartbeat of `vehicleId` received at `at`. */
  record(vehicleId: string, status: Record<string, unknown>, at: Date): void {
    const list = this.#byVehicle.get(vehicleId) ?? [];
    this.#byVehicle.delete(vehicleId); // re-inserted last: the map's order is by last report
    list.unshift({ vehicleId, status, reportedAt: at });
    if (list.length > this.perVehicle) list.length = this.perVehicle;
    this.#byVehicle.set(vehicleId, list);
    if (this.#byVehicle.size > this.vehicles) {
      this.#byVehicle.delete(this.#byVehicle.keys().next().value!);
    }
  }

  /** The heartbeats of `vehicleId` this process kept, newest first. */
  list(vehicleId: string): VehicleStatus[] {
    return [...(this.#byVehicle.get(vehicleId) ?? [])];
  }

  /** Forgets a vehicle (removed). */
  forget(vehicleId: string): void {
    this.#byVehicle.delete(vehicleId);
  }
}
