import type { EventBus } from "../bus/mod.ts";
import {
  type Catalog,
  FINISHED_RECALL_STATES,
  type Recall,
  type RecallProgress,
} from "../catalog/mod.ts";
import { ConflictError, NotFoundError, ValidationError } from "../errors/mod.ts";
import type { FleetRegistry } from "../fleet/mod.ts";
import type { Logger } from "../log/mod.ts";
import { type InstructionsDesk, MAX_ACTIVE_RECALLS, recallMaxSeconds } from "../policy/mod.ts";
import { type RecallReport, recallStateOf } from "./recall_state.ts";

/** The bus topic of recall events (`recall.finished`), keyed by camera id. */
export const RECALLS_TOPIC = "recalls";

/** The event published when a recall reaches a finished state. */
export interface RecallFinishedEvent {
  type: "recall.finished";
  recall: Recall;
}

/** What filing a recall takes. */
export interface RecallRequest {
  fleetId: string;
  vehicleId: string;
  cameraId: string;
  fromMs: number;
  toMs: number;
  /** The user filing it; null for an event rule. */
  createdBy: string | null;
  origin?: Recall["origin"];
}

/**
 * Recalls of full-quality ranges from vehicles: filed within the fleet's quota, carried to the
 * vehicle by its instructions, advanced by its heartbeats' reports, cancelled by operators. Each
 * one that finishes is published on the bus ({@linkcode RECALLS_TOPIC}).
 */
export class Recalls {
  constructor(
    private readonly catalog: Catalog,
    private readonly registry: FleetRegistry,
    private readonly desk: InstructionsDesk,
    private readonly bus: EventBus,
    private readonly logger?: Logger,
  ) {}

  /** Files a recall; refuses an empty range, one over the fleet's quota, or a 33rd active one. */
  async file(request: RecallRequest, now = new Date()): Promise<Recall> {
    const { fleetId, vehicleId, cameraId, fromMs, toMs } = request;
    await this.registry.camera(fleetId, vehicleId, cameraId);
    const range = `${new Date(fromMs).toISOString()}/${new Date(toMs).toISOString()}`;
    if (!(toMs > fromMs)) {
      throw new ValidationError(`Cannot recall "${range}": "to" must be after "from"`, [
        { path: "to", message: "must be after from" },
      ]);
    }
    const policies = await this.catalog.uploadPolicies.forVehicle(fleetId, vehicleId);
    const maxSeconds = recallMaxSeconds(policies);
    if (toMs - fromMs > maxSeconds * 1000) {
      throw new ValidationError(
        `Cannot recall "${range}": it is longer than the fleet's ${maxSeconds} s per recall`,
        [{ path: "to", message: `at most ${maxSeconds} s after from` }],
      );
    }
    const recall = await this.catalog.recalls.create(
      { ...request, origin: request.origin ?? "operator" },
      MAX_ACTIVE_RECALLS,
      now,
    );
    if (!recall) {
      throw new ConflictError(
        `Cannot recall "${range}": vehicle "${vehicleId}" already has ${MAX_ACTIVE_RECALLS} ` +
          "recalls under way; cancel one or wait for one to finish",
      );
    }
    this.desk.changed(vehicleId);
    return recall;
  }

  /** A camera's recalls, newest first. */
  async list(fleetId: string, vehicleId: string, cameraId: string, limit = 100): Promise<Recall[]> {
    await this.registry.camera(fleetId, vehicleId, cameraId);
    return await this.catalog.recalls.list(fleetId, cameraId, limit);
  }

  /** One recall of the fleet. */
  async get(fleetId: string, recallId: string): Promise<Recall> {
    const recall = await this.catalog.recalls.get(fleetId, recallId);
    if (!recall) throw new NotFoundError(`Recall "${recallId}" not found`);
    return recall;
  }

  /** Cancels an active recall: the vehicle drops it with its next instructions. */
  async cancel(fleetId: string, recallId: string, now = new Date()): Promise<Recall> {
    const recall = await this.get(fleetId, recallId);
    const cancelled = await this.catalog.recalls.advance(recall.id, "cancelled", null, now);
    if (!cancelled) {
      const state = (await this.get(fleetId, recallId)).state;
      throw new ConflictError(`Cannot cancel recall "${recallId}": it is already ${state}`);
    }
    this.desk.changed(recall.vehicleId);
    await this.#finished(cancelled);
    return cancelled;
  }

  /**
   * Applies a vehicle's reports on its recalls (from a heartbeat): each active recall it names
   * moves on; reports of recalls it does not have (finished, cancelled, another vehicle's) are
   * ignored. Returns the recalls that changed.
   */
  async report(vehicleId: string, reports: readonly RecallReport[], now = new Date()) {
    if (reports.length === 0) return [];
    const active = new Map(
      (await this.catalog.recalls.active(vehicleId)).map((recall) => [recall.id, recall]),
    );
    const changed: Recall[] = [];
    for (const report of reports) {
      const recall = active.get(report.id);
      if (!recall) continue;
      const { state, progress } = recallStateOf(report);
      if (state === recall.state && sameProgress(progress, recall.progress)) continue;
      const after = await this.catalog.recalls.advance(recall.id, state, progress, now);
      if (!after) continue;
      changed.push(after);
      if (FINISHED_RECALL_STATES.includes(after.state)) await this.#finished(after);
    }
    return changed;
  }

  async #finished(recall: Recall): Promise<void> {
    const event: RecallFinishedEvent = { type: "recall.finished", recall };
    try {
      await this.bus.publish(RECALLS_TOPIC, recall.cameraId, event);
    } catch (error) {
      // The recall's state is in the catalog either way; the event is a notification.
      this.logger?.warn("could not publish recall.finished", { recallId: recall.id, error });
    }
  }
}

function sameProgress(a: RecallProgress, b: RecallProgress | null): boolean {
  return b !== null && JSON.stringify(a) === JSON.stringify(b);
}
