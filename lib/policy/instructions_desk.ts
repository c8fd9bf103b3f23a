import type { Broadcast } from "../broadcast/mod.ts";
import type { Catalog } from "../catalog/mod.ts";
import { NotFoundError } from "../errors/mod.ts";
import { buildInstructions, type InstructionsDocument } from "./instructions.ts";

/** The broadcast channel naming a fleet or vehicle whose instructions may have changed. */
export const INSTRUCTIONS_CHANNEL = "instructions";

/** A vehicle's long poll waiting for its instructions to change. */
interface Waiter {
  fleetId: string;
  wake: () => void;
}

/**
 * Vehicles' instructions: built from the catalog on request, and long polls that answer when
 * they change. Whatever changes them (a policy, a recall, fleet settings) calls
 * {@linkcode changed}, which reaches the long polls of every process through the broadcast. A
 * vehicle holds one long poll: a newer one ends the older at once.
 */
export class InstructionsDesk {
  readonly #catalog: Catalog;
  readonly #broadcast: Broadcast;
  readonly #waiters = new Map<string, Waiter>();
  readonly #unsubscribe: () => void;

  constructor(catalog: Catalog, broadcast: Broadcast) {
    this.#catalog = catalog;
    this.#broadcast = broadcast;
    this.#unsubscribe = broadcast.subscribe(
      INSTRUCTIONS_CHANNEL,
      (scopeId) => {
        for (const [vehicleId, waiter] of this.#waiters) {
          if (vehicleId === scopeId || waiter.fleetId === scopeId) waiter.wake();
        }
      },
      () => this.#waiters.forEach((waiter) => waiter.wake()),
    );
  }

  /** Tells every process that the instructions of a fleet's or a vehicle's vehicles changed. */
  changed(scopeId: string): void {
    this.#broadcast.publish(INSTRUCTIONS_CHANNEL, scopeId);
  }

  /** The vehicle's instructions now. */
  async document(fleetId: string, vehicleId: string): Promise<InstructionsDocument> {
    const [fleet, cameras, policies, recalls] = await Promise.all([
      this.#catalog.fleets.get(fleetId),
      this.#catalog.cameras.list(fleetId, vehicleId),
      this.#catalog.uploadPolicies.forVehicle(fleetId, vehicleId),
      this.#catalog.recalls.active(vehicleId),
    ]);
    if (!fleet) throw new NotFoundError(`Fleet "${fleetId}" not found`);
    return await buildInstructions(fleet, vehicleId, cameras, policies, recalls);
  }

  /**
   * The vehicle's instructions once their version differs from `known`, or undefined when they
   * had not changed after `waitMs` (or a newer long poll of the vehicle took over, or `signal`
   * aborted).
   */
  async wait(
    fleetId: string,
    vehicleId: string,
    known: string | undefined,
    waitMs: number,
    signal?: AbortSignal,
  ): Promise<InstructionsDocument | undefined> {
    this.#waiters.get(vehicleId)?.wake();
    let woken = Promise.withResolvers<"changed" | "over">();
    let over = false;
    const end = () => {
      over = true;
      woken.resolve("over");
    };
    // Subscribed before the first read, so a change between the read and the wait is not missed.
    const waiter: Waiter = { fleetId, wake: () => woken.resolve("changed") };
    this.#waiters.set(vehicleId, waiter);
    const timer = setTimeout(end, waitMs);
    signal?.addEventListener("abort", end, { once: true });
    try {
      for (;;) {
        const document = await this.document(fleetId, vehicleId);
        if (document.version !== known) return document;
        if (over) return undefined;
        if ((await woken.promise) === "over") return undefined;
        if (this.#waiters.get(vehicleId) !== waiter) return undefined;
        woken = Promise.withResolvers();
      }
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", end);
      if (this.#waiters.get(vehicleId) === waiter) this.#waiters.delete(vehicleId);
    }
  }

  /** Ends every long poll and stops listening. */
  close(): void {
    this.#unsubscribe();
    for (const waiter of this.#waiters.values()) waiter.wake();
    this.#waiters.clear();
  }
}
