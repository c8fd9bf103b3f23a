import type {
  Catalog,
  EventRecallOutcome,
  EventRule,
  EventSource,
  VehicleEvent,
} from "../catalog/mod.ts";
import { ValidationError } from "../errors/mod.ts";
import type { FleetRegistry } from "../fleet/mod.ts";
import type { Logger } from "../log/mod.ts";
import { recallMaxSeconds } from "../policy/mod.ts";
import type { Recalls } from "../recall/mod.ts";

/** Most bytes of JSON an event's metadata may take. */
export const EVENT_METADATA_MAX_BYTES = 4096;

/** Most rules a fleet may have. */
export const EVENT_RULES_MAX = 64;

/** Most events one listing returns. */
export const EVENT_LIST_MAX = 1000;

/** An event kind: lower case letters, digits, `.`, `_` and `-`, starting with a letter or digit. */
export const EVENT_KIND_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** What reporting an event takes. */
export interface EventReport {
  kind: string;
  atMs: number;
  metadata?: Record<string, unknown> | null;
  /** The reporter's own id of the event (a retry with the same id is the same event). */
  clientId?: string | null;
}

/**
 * Events of vehicles (a panic button, a harsh brake, an operator's note) and the fleet rules that
 * turn an event kind into recalls of a window around it on the cameras the rule names. A rule's
 * recalls are filed through {@linkcode Recalls}, so the fleet's quota and validation apply; what
 * could not be filed is kept on the event with the reason.
 *
 * @example
 * const events = new VehicleEvents(catalog, registry, recalls);
 * await events.setRules(fleetId, [{ kind: "panic", preSeconds: 30, postSeconds: 30, cameras: "all" }]);
 * const { event } = await events.report(fleetId, vehicleId, "vehicle", { kind: "panic", atMs });
 * event.recalls; // [{ cameraId, recallId }, …]
 */
export class VehicleEvents {
  constructor(
    private readonly catalog: Catalog,
    private readonly registry: FleetRegistry,
    private readonly recalls: Recalls,
    private readonly logger?: Logger,
  ) {}

  /**
   * Records an event of a vehicle and applies the fleet's rules to it. A report whose `clientId`
   * the vehicle already used returns the event recorded then (`created` false) and files nothing
   * again, unless the first report stopped before the rules were applied.
   */
  async report(
    fleetId: string,
    vehicleId: string,
    source: EventSource,
    report: EventReport,
    createdBy: string | null = null,
    now = new Date(),
  ): Promise<{ event: VehicleEvent; created: boolean }> {
    await this.registry.vehicle(fleetId, vehicleId);
    const metadata = report.metadata ?? null;
    checkEvent(report.kind, metadata);
    const recorded = await this.catalog.events.record({
      fleetId,
      vehicleId,
      kind: report.kind,
      atMs: report.atMs,
      metadata,
      source,
      clientId: report.clientId ?? null,
      createdBy,
    }, now);
    if (recorded.event.recalls !== null) return recorded;
    const recalls = await this.#applyRules(recorded.event, createdBy, now);
    await this.catalog.events.setRecalls(recorded.event.id, recalls);
    return { ...recorded, event: { ...recorded.event, recalls } };
  }

  /** A vehicle's events with `fromMs <= at < toMs`, of `kind` if given, oldest first. */
  async list(
    fleetId: string,
    vehicleId: string,
    range: { fromMs: number; toMs: number; kind?: string },
  ): Promise<VehicleEvent[]> {
    await this.registry.vehicle(fleetId, vehicleId);
    if (!(range.toMs > range.fromMs)) {
      throw new ValidationError(
        `Cannot list events from "${
          new Date(range.fromMs).toISOString()
        }": "to" must be after "from"`,
        [{ path: "to", message: "must be after from" }],
      );
    }
    return await this.catalog.events.list(fleetId, vehicleId, {
      ...range,
      limit: EVENT_LIST_MAX,
    });
  }

  /** The fleet's event rules. */
  async rules(fleetId: string): Promise<EventRule[]> {
    await this.registry.fleet(fleetId);
    return await this.catalog.eventRules.get(fleetId);
  }

  /**
   * Replaces the fleet's event rules: one rule per kind, each window within the fleet's longest
   * recall (`recallMaxSeconds` of its upload policy).
   */
  async setRules(fleetId: string, rules: EventRule[], now = new Date()): Promise<EventRule[]> {
    await this.registry.fleet(fleetId);
    if (rules.length > EVENT_RULES_MAX) {
      throw new ValidationError(
        `Cannot set ${rules.length} event rules: a fleet has at most ${EVENT_RULES_MAX}`,
        [{ path: "", message: `at most ${EVENT_RULES_MAX} rules` }],
      );
    }
    const fleetPolicy = await this.catalog.uploadPolicies.get(fleetId, fleetId);
    const maxSeconds = recallMaxSeconds(fleetPolicy ? [fleetPolicy] : []);
    const seen = new Set<string>();
    const clean = rules.map((rule, i): EventRule => {
      if (!EVENT_KIND_PATTERN.test(rule.kind)) {
        throw new ValidationError(`Cannot set event rule for kind "${rule.kind}": bad kind`, [
          { path: `${i}.kind`, message: `must match ${EVENT_KIND_PATTERN.source}` },
        ]);
      }
      if (seen.has(rule.kind)) {
        throw new ValidationError(
          `Cannot set event rules: kind "${rule.kind}" has two rules; merge them into one`,
          [{ path: `${i}.kind`, message: "one rule per kind" }],
        );
      }
      seen.add(rule.kind);
      const window = rule.preSeconds + rule.postSeconds;
      if (!(window > 0) || window > maxSeconds) {
        throw new ValidationError(
          `Cannot set event rule for kind "${rule.kind}": its window of ${window} s must be ` +
            `more than 0 and at most the fleet's ${maxSeconds} s per recall`,
          [{ path: `${i}.postSeconds`, message: `pre + post in (0, ${maxSeconds}] s` }],
        );
      }
      const cameras = rule.cameras === "all" ? "all" : [...new Set(rule.cameras)];
      return {
        kind: rule.kind,
        preSeconds: rule.preSeconds,
        postSeconds: rule.postSeconds,
        cameras,
      };
    });
    await this.catalog.eventRules.put(fleetId, clean, now);
    return clean;
  }

  async #applyRules(
    event: VehicleEvent,
    createdBy: string | null,
    now: Date,
  ): Promise<EventRecallOutcome[]> {
    const rule = (await this.catalog.eventRules.get(event.fleetId)).find((r) =>
      r.kind === event.kind
    );
    if (!rule) return [];
    const cameras = await this.registry.listCameras(event.fleetId, event.vehicleId);
    const named = rule.cameras === "all"
      ? cameras
      : rule.cameras.flatMap((name) => cameras.filter((c) => c.name === name));
    const outcomes: EventRecallOutcome[] = [];
    for (const camera of named) {
      try {
        const recall = await this.recalls.file({
          fleetId: event.fleetId,
          vehicleId: event.vehicleId,
          cameraId: camera.id,
          fromMs: event.atMs - rule.preSeconds * 1000,
          toMs: event.atMs + rule.postSeconds * 1000,
          createdBy,
          origin: "event",
        }, now);
        outcomes.push({ cameraId: camera.id, recallId: recall.id });
      } catch (error) {
        // Over the quota, too long for a lowered recallMaxSeconds: kept on the event, not thrown,
        // so the event itself is recorded and the other cameras' recalls filed.
        const message = error instanceof Error ? error.message : String(error);
        this.logger?.warn("event rule could not file a recall", {
          eventId: event.id,
          cameraId: camera.id,
          error: message,
        });
        outcomes.push({ cameraId: camera.id, error: message });
      }
    }
    return outcomes;
  }
}

function checkEvent(kind: string, metadata: Record<string, unknown> | null): void {
  if (!EVENT_KIND_PATTERN.test(kind)) {
    throw new ValidationError(`Cannot accept event of kind "${kind}": bad kind`, [
      { path: "kind", message: `must match ${EVENT_KIND_PATTERN.source}` },
    ]);
  }
  if (metadata === null) return;
  const bytes = new TextEncoder().encode(JSON.stringify(metadata)).byteLength;
  if (bytes > EVENT_METADATA_MAX_BYTES) {
    throw new ValidationError(
      `Cannot accept event of kind "${kind}": its metadata takes ${bytes} bytes, more than ${EVENT_METADATA_MAX_BYTES}`,
      [{ path: "metadata", message: `at most ${EVENT_METADATA_MAX_BYTES} bytes of JSON` }],
    );
  }
}
