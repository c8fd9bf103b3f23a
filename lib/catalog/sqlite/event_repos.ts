import type {
  EventRecallOutcome,
  EventRule,
  EventRuleRepository,
  EventSource,
  FleetWebhook,
  FleetWebhookRepository,
  VehicleEvent,
  VehicleEventInput,
  VehicleEventRepository,
} from "../event_types.ts";
import { newId } from "../ids.ts";
import { type Database, type Row, toDate } from "./database.ts";

const eventOf = (row: Row): VehicleEvent => ({
  id: String(row.id),
  fleetId: String(row.fleet_id),
  vehicleId: String(row.vehicle_id),
  kind: String(row.kind),
  atMs: Number(row.at_ms),
  metadata: row.metadata === null ? null : JSON.parse(String(row.metadata)),
  source: String(row.source) as EventSource,
  clientId: row.client_id === null ? null : String(row.client_id),
  createdBy: row.created_by === null ? null : String(row.created_by),
  createdAt: toDate(row.created_at)!,
  recalls: row.recalls === null ? null : JSON.parse(String(row.recalls)) as EventRecallOutcome[],
});

/** Vehicle events in SQLite. */
export class SqliteVehicleEvents implements VehicleEventRepository {
  constructor(private readonly db: Database) {}

  record(input: VehicleEventInput, now: Date): Promise<{ event: VehicleEvent; created: boolean }> {
    return Promise.resolve(this.db.transaction(() => {
      const id = newId("evt");
      const added = this.db.run(
        `INSERT INTO vehicle_events (id, fleet_id, vehicle_id, kind, at_ms, metadata, source,
           client_id, created_by, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
        id,
        input.fleetId,
        input.vehicleId,
        input.kind,
        input.atMs,
        input.metadata === null ? null : JSON.stringify(input.metadata),
        input.source,
        input.clientId,
        input.createdBy,
        now.getTime(),
      );
      const row = added
        ? this.db.get("SELECT * FROM vehicle_events WHERE id = ?", id)
        : this.db.get(
          "SELECT * FROM vehicle_events WHERE vehicle_id = ? AND client_id = ?",
          input.vehicleId,
          input.clientId,
        );
      return { event: eventOf(row!), created: added > 0 };
    }));
  }

  get(fleetId: string, id: string): Promise<VehicleEvent | undefined> {
    const row = this.db.get(
      "SELECT * FROM vehicle_events WHERE fleet_id = ? AND id = ?",
      fleetId,
      id,
    );
    return Promise.resolve(row ? eventOf(row) : undefined);
  }

  list(
    fleetId: string,
    vehicleId: string,
    range: { fromMs: number; toMs: number; kind?: string; limit: number },
  ): Promise<VehicleEvent[]> {
    const rows = this.db.all(
      `SELECT * FROM vehicle_events WHERE vehicle_id = ? AND fleet_id = ?
         AND at_ms >= ? AND at_ms < ? AND (? IS NULL OR kind = ?)
       ORDER BY at_ms, id LIMIT ?`,
      vehicleId,
      fleetId,
      range.fromMs,
      range.toMs,
      range.kind ?? null,
      range.kind ?? null,
      range.limit,
    );
    return Promise.resolve(rows.map(eventOf));
  }

  setRecalls(id: string, recalls: EventRecallOutcome[]): Promise<void> {
    this.db.run("UPDATE vehicle_events SET recalls = ? WHERE id = ?", JSON.stringify(recalls), id);
    return Promise.resolve();
  }
}

/** Fleets' event rules in SQLite. */
export class SqliteEventRules implements EventRuleRepository {
  constructor(private readonly db: Database) {}

  get(fleetId: string): Promise<EventRule[]> {
    const row = this.db.get("SELECT rules FROM event_rules WHERE fleet_id = ?", fleetId);
    return Promise.resolve(row ? JSON.parse(String(row.rules)) as EventRule[] : []);
  }

  put(fleetId: string, rules: EventRule[], now: Date): Promise<void> {
    this.db.run(
      `INSERT INTO event_rules (fleet_id, rules, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (fleet_id) DO UPDATE SET rules = excluded.rules, updated_at = excluded.updated_at`,
      fleetId,
      JSON.stringify(rules),
      now.getTime(),
    );
    return Promise.resolve();
  }
}

const webhookOf = (row: Row): FleetWebhook => ({
  fleetId: String(row.fleet_id),
  url: String(row.url),
  secret: String(row.secret),
  updatedAt: toDate(row.updated_at)!,
});

/** Fleets' webhooks in SQLite. */
export class SqliteFleetWebhooks implements FleetWebhookRepository {
  constructor(private readonly db: Database) {}

  get(fleetId: string): Promise<FleetWebhook | undefined> {
    const row = this.db.get("SELECT * FROM fleet_webhooks WHERE fleet_id = ?", fleetId);
    return Promise.resolve(row ? webhookOf(row) : undefined);
  }

  put(webhook: Omit<FleetWebhook, "updatedAt">, now: Date): Promise<FleetWebhook> {
    this.db.run(
      `INSERT INTO fleet_webhooks (fleet_id, url, secret, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (fleet_id) DO UPDATE SET url = excluded.url, secret = excluded.secret,
         updated_at = excluded.updated_at`,
      webhook.fleetId,
      webhook.url,
      webhook.secret,
      now.getTime(),
    );
    return Promise.resolve({ ...webhook, updatedAt: now });
  }

  delete(fleetId: string): Promise<boolean> {
    return Promise.resolve(
      this.db.run("DELETE FROM fleet_webhooks WHERE fleet_id = ?", fleetId) > 0,
    );
  }
}
