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
  id: row.id,
  fleetId: row.fleet_id,
  vehicleId: row.vehicle_id,
  kind: row.kind,
  atMs: Number(row.at_ms),
  metadata: row.metadata === null ? null : JSON.parse(row.metadata),
  source: row.source as EventSource,
  clientId: row.client_id ?? null,
  createdBy: row.created_by ?? null,
  createdAt: toDate(row.created_at)!,
  recalls: row.recalls === null ? null : JSON.parse(row.recalls) as EventRecallOutcome[],
});

/** Vehicle events in PostgreSQL. */
export class PostgresVehicleEvents implements VehicleEventRepository {
  constructor(private readonly db: Database) {}

  async record(
    input: VehicleEventInput,
    now: Date,
  ): Promise<{ event: VehicleEvent; created: boolean }> {
    const id = newId("evt");
    const metadata = input.metadata === null ? null : JSON.stringify(input.metadata);
    const [added] = await this.db.query((sql) =>
      sql`INSERT INTO vehicle_events (id, fleet_id, vehicle_id, kind, at_ms, metadata, source,
          client_id, created_by, created_at)
        VALUES (${id}, ${input.fleetId}, ${input.vehicleId}, ${input.kind}, ${input.atMs},
          ${metadata}, ${input.source}, ${input.clientId}, ${input.createdBy}, ${now.getTime()})
        ON CONFLICT DO NOTHING RETURNING *`
    );
    if (added) return { event: eventOf(added), created: true };
    const [row] = await this.db.query((sql) =>
      sql`SELECT * FROM vehicle_events
        WHERE vehicle_id = ${input.vehicleId} AND client_id = ${input.clientId}`
    );
    return { event: eventOf(row), created: false };
  }

  async get(fleetId: string, id: string): Promise<VehicleEvent | undefined> {
    const [row] = await this.db.query((sql) =>
      sql`SELECT * FROM vehicle_events WHERE fleet_id = ${fleetId} AND id = ${id}`
    );
    return row ? eventOf(row) : undefined;
  }

  async list(
    fleetId: string,
    vehicleId: string,
    range: { fromMs: number; toMs: number; kind?: string; limit: number },
  ): Promise<VehicleEvent[]> {
    const kind = range.kind ?? null;
    const rows = await this.db.query((sql) =>
      sql`SELECT * FROM vehicle_events WHERE vehicle_id = ${vehicleId} AND fleet_id = ${fleetId}
        AND at_ms >= ${range.fromMs} AND at_ms < ${range.toMs}
        AND (${kind}::text IS NULL OR kind = ${kind})
        ORDER BY at_ms, id LIMIT ${range.limit}`
    );
    return rows.map(eventOf);
  }

  async setRecalls(id: string, recalls: EventRecallOutcome[]): Promise<void> {
    await this.db.query((sql) =>
      sql`UPDATE vehicle_events SET recalls = ${JSON.stringify(recalls)} WHERE id = ${id}`
    );
  }
}

/** Fleets' event rules in PostgreSQL. */
export class PostgresEventRules implements EventRuleRepository {
  constructor(private readonly db: Database) {}

  async get(fleetId: string): Promise<EventRule[]> {
    const [row] = await this.db.query((sql) =>
      sql`SELECT rules FROM event_rules WHERE fleet_id = ${fleetId}`
    );
    return row ? JSON.parse(row.rules) as EventRule[] : [];
  }

  async put(fleetId: string, rules: EventRule[], now: Date): Promise<void> {
    await this.db.query((sql) =>
      sql`INSERT INTO event_rules (fleet_id, rules, updated_at)
        VALUES (${fleetId}, ${JSON.stringify(rules)}, ${now.getTime()})
        ON CONFLICT (fleet_id) DO UPDATE SET rules = excluded.rules,
          updated_at = excluded.updated_at`
    );
  }
}

const webhookOf = (row: Row): FleetWebhook => ({
  fleetId: row.fleet_id,
  url: row.url,
  secret: row.secret,
  updatedAt: toDate(row.updated_at)!,
});

/** Fleets' webhooks in PostgreSQL. */
export class PostgresFleetWebhooks implements FleetWebhookRepository {
  constructor(private readonly db: Database) {}

  async get(fleetId: string): Promise<FleetWebhook | undefined> {
    const [row] = await this.db.query((sql) =>
      sql`SELECT * FROM fleet_webhooks WHERE fleet_id = ${fleetId}`
    );
    return row ? webhookOf(row) : undefined;
  }

  async put(webhook: Omit<FleetWebhook, "updatedAt">, now: Date): Promise<FleetWebhook> {
    await this.db.query((sql) =>
      sql`INSERT INTO fleet_webhooks (fleet_id, url, secret, updated_at)
        VALUES (${webhook.fleetId}, ${webhook.url}, ${webhook.secret}, ${now.getTime()})
        ON CONFLICT (fleet_id) DO UPDATE SET url = excluded.url, secret = excluded.secret,
          updated_at = excluded.updated_at`
    );
    return { ...webhook, updatedAt: now };
  }

  async delete(fleetId: string): Promise<boolean> {
    const result = await this.db.query((sql) =>
      sql`DELETE FROM fleet_webhooks WHERE fleet_id = ${fleetId}`
    );
    return result.count > 0;
  }
}
