/**
 * The catalog's entities and repositories of vehicle events (issue 12): what a vehicle or an
 * operator reports happened (a panic button, a harsh brake), the fleet's rules that turn an event
 * kind into recalls around it, and the fleet's webhook told when a recall finishes.
 */

/** Who reported an event: the vehicle (its telematics, a panic button) or an operator. */
export type EventSource = "vehicle" | "operator";

/** What became of one camera of an event rule: the recall filed, or why none could be. */
export type EventRecallOutcome =
  | { cameraId: string; recallId: string }
  | { cameraId: string; error: string };

/** Something that happened to a vehicle at a moment, as reported. */
export interface VehicleEvent {
  /** `evt_…`, the server's id. */
  id: string;
  fleetId: string;
  vehicleId: string;
  /** The event's kind (`panic`, `harsh-brake`): what fleet rules match on. */
  kind: string;
  atMs: number;
  /** What the reporter added (at most 4 KiB of JSON); null: nothing. */
  metadata: Record<string, unknown> | null;
  source: EventSource;
  /** The reporter's own id of the event, which makes a retried report idempotent; null: none. */
  clientId: string | null;
  /** The operator who reported it; null for the vehicle's. */
  createdBy: string | null;
  createdAt: Date;
  /** The recalls the fleet's rules made of it; null until its rules were applied. */
  recalls: EventRecallOutcome[] | null;
}

/** What recording an event's input takes. */
export type VehicleEventInput = Omit<VehicleEvent, "id" | "createdAt" | "recalls">;

/** Vehicles' events, always through their fleet. */
export interface VehicleEventRepository {
  /**
   * Records an event, or, when the vehicle already has one with the same `clientId`, returns
   * that one (`created` false) untouched.
   */
  record(input: VehicleEventInput, now: Date): Promise<{ event: VehicleEvent; created: boolean }>;
  get(fleetId: string, id: string): Promise<VehicleEvent | undefined>;
  /** A vehicle's events with `fromMs <= at < toMs` (of `kind` if given), oldest first. */
  list(
    fleetId: string,
    vehicleId: string,
    range: { fromMs: number; toMs: number; kind?: string; limit: number },
  ): Promise<VehicleEvent[]>;
  /** Keeps what the fleet's rules made of the event. */
  setRecalls(id: string, recalls: EventRecallOutcome[]): Promise<void>;
}

/** A fleet rule: an event of `kind` recalls `preSeconds` before it to `postSeconds` after it. */
export interface EventRule {
  kind: string;
  preSeconds: number;
  postSeconds: number;
  /** The camera names it recalls on each vehicle, or every camera. */
  cameras: string[] | "all";
}

/** Fleets' event rules, one list per fleet. */
export interface EventRuleRepository {
  /** The fleet's rules; empty when none were set. */
  get(fleetId: string): Promise<EventRule[]>;
  /** Replaces the fleet's rules. */
  put(fleetId: string, rules: EventRule[], now: Date): Promise<void>;
}

/** Where a fleet's recall notifications are posted, and the secret that signs them. */
export interface FleetWebhook {
  fleetId: string;
  url: string;
  secret: string;
  updatedAt: Date;
}

/** Fleets' webhooks, at most one per fleet. */
export interface FleetWebhookRepository {
  get(fleetId: string): Promise<FleetWebhook | undefined>;
  put(webhook: Omit<FleetWebhook, "updatedAt">, now: Date): Promise<FleetWebhook>;
  /** False when the fleet had none. */
  delete(fleetId: string): Promise<boolean>;
}
