/**
 * Recalls (issue 12): an operator (or an event rule) asks a vehicle for the full-quality
 * recording of a camera's time range; the vehicle uploads it ahead of its other traffic and
 * reports progress; the recall ends complete, partial, expired or cancelled. Also where each
 * moment of a recording is (server, vehicle, nowhere) from the catalog and the vehicle's inventory.
 *
 * @example
 * const recalls = new Recalls(catalog, registry, desk, bus);
 * const recall = await recalls.file({ fleetId, vehicleId, cameraId, fromMs, toMs, createdBy });
 * await recalls.report(vehicleId, heartbeat.recalls ?? []); // from each heartbeat
 */
export {
  Availability,
  AVAILABILITY_MAX_MS,
  type AvailabilitySpan,
  availabilitySpans,
  mergeRanges,
  RANGE_JOIN_MS,
  type RenditionAvailability,
  type Whereabouts,
} from "./availability.ts";
export { type RecallReport, recallStateOf } from "./recall_state.ts";
export { recallView } from "./view.ts";
export {
  RecallWebhook,
  type RecallWebhookOptions,
  WEBHOOK_SIGNATURE_HEADER,
  webhookSignature,
} from "./webhook.ts";
export { type RecallFinishedEvent, type RecallRequest, Recalls, RECALLS_TOPIC } from "./recalls.ts";
