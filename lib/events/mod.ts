/**
 * Vehicle events (issue 12): what a vehicle (a panic button, its telematics) or an operator
 * reports happened, listed per vehicle and time, and the fleet's rules that turn an event kind
 * into recalls of a window around it (pre-roll and post-roll) on the cameras they name; and the
 * fleet's own webhook told of each finished recall.
 *
 * @example
 * const events = new VehicleEvents(catalog, registry, recalls);
 * const { secret } = await new FleetWebhooks(catalog, registry).set(fleetId, "https://ops.example/m");
 * await events.setRules(fleetId, [{ kind: "panic", preSeconds: 30, postSeconds: 60, cameras: "all" }]);
 * const { event, created } = await events.report(fleetId, vehicleId, "vehicle", {
 *   kind: "panic",
 *   atMs: Date.now(),
 *   clientId: "e-1733558400000-1", // a retry with the same id is the same event
 * });
 */
export { FleetWebhooks } from "./fleet_webhooks.ts";
export {
  EVENT_KIND_PATTERN,
  EVENT_LIST_MAX,
  EVENT_METADATA_MAX_BYTES,
  EVENT_RULES_MAX,
  type EventReport,
  VehicleEvents,
} from "./vehicle_events.ts";
