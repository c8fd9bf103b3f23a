import type { Catalog } from "../types.ts";
import {
  PostgresCredentials,
  PostgresPasswordResets,
  PostgresSessions,
  PostgresSigningKeys,
} from "./auth_repos.ts";
import { Database, describe } from "./database.ts";
import { PostgresCameras, PostgresFleets, PostgresUsers, PostgresVehicles } from "./fleet_repos.ts";
import { PostgresLinks, PostgresUrlSigningKeys } from "./link_repos.ts";
import { PostgresRetention } from "./retention_repos.ts";
import { PostgresInventory, PostgresRecalls, PostgresUploadPolicies } from "./policy_repos.ts";
import { PostgresEventRules, PostgresFleetWebhooks, PostgresVehicleEvents } from "./event_repos.ts";
import { PostgresRetimes } from "./retime_repos.ts";
import {
  PostgresRecordings,
  PostgresSecrets,
  PostgresUsage,
  PostgresVehicleStatus,
} from "./recording_repos.ts";

/**
 * The catalog on PostgreSQL: the same repositories and migrations as the SQLite one, shared by
 * any number of processes (constraints and transactions keep them consistent).
 */
export class PostgresCatalog implements Catalog {
  readonly kind = "postgres";
  readonly fleets;
  readonly users;
  readonly vehicles;
  readonly cameras;
  readonly credentials;
  readonly sessions;
  readonly passwordResets;
  readonly signingKeys;
  readonly recordings;
  readonly vehicleStatus;
  readonly secrets;
  readonly links;
  readonly urlSigningKeys;
  readonly retention;
  readonly retimes;
  readonly uploadPolicies;
  readonly recalls;
  readonly inventory;
  readonly events;
  readonly eventRules;
  readonly webhooks;
  readonly usage;
  readonly #db: Database;

  private constructor(db: Database) {
    this.#db = db;
    this.fleets = new PostgresFleets(db);
    this.users = new PostgresUsers(db);
    this.vehicles = new PostgresVehicles(db);
    this.cameras = new PostgresCameras(db);
    this.credentials = new PostgresCredentials(db);
    this.sessions = new PostgresSessions(db);
    this.passwordResets = new PostgresPasswordResets(db);
    this.signingKeys = new PostgresSigningKeys(db);
    this.recordings = new PostgresRecordings(db);
    this.vehicleStatus = new PostgresVehicleStatus(db);
    this.secrets = new PostgresSecrets(db);
    this.links = new PostgresLinks(db);
    this.urlSigningKeys = new PostgresUrlSigningKeys(db);
    this.retention = new PostgresRetention(db);
    this.retimes = new PostgresRetimes(db);
    this.uploadPolicies = new PostgresUploadPolicies(db);
    this.recalls = new PostgresRecalls(db);
    this.inventory = new PostgresInventory(db);
    this.events = new PostgresVehicleEvents(db);
    this.eventRules = new PostgresEventRules(db);
    this.webhooks = new PostgresFleetWebhooks(db);
    this.usage = new PostgresUsage(db);
  }

  /**
   * Connects to the database at `url` (`postgres://…`; what it leaves out comes from the `PG*`
   * variables) and applies pending migrations. Fails naming the database, never its password.
   */
  static async open(url: string, options: { max?: number } = {}): Promise<PostgresCatalog> {
    const db = new Database(url, options);
    try {
      await db.migrate();
    } catch (error) {
      await db.close().catch(() => {});
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`Cannot open the catalog "${describe(url)}": ${reason}`, { cause: error });
    }
    return new PostgresCatalog(db);
  }

  async ping(): Promise<void> {
    await this.#db.query((sql) => sql`SELECT 1`);
  }

  close(): Promise<void> {
    return this.#db.close();
  }
}
