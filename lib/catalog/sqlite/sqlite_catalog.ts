import { dirname } from "node:path";
import { writeFailureOf, type WriteFailureSink } from "../../disk/mod.ts";
import type { Catalog } from "../types.ts";
import {
  SqliteCredentials,
  SqlitePasswordResets,
  SqliteSessions,
  SqliteSigningKeys,
} from "./auth_repos.ts";
import { Database } from "./database.ts";
import { SqliteCameras, SqliteFleets, SqliteUsers, SqliteVehicles } from "./fleet_repos.ts";
import { SqliteLinks, SqliteUrlSigningKeys } from "./link_repos.ts";
import { SqliteRetention } from "./retention_repos.ts";
import { SqliteInventory, SqliteRecalls, SqliteUploadPolicies } from "./policy_repos.ts";
import { SqliteEventRules, SqliteFleetWebhooks, SqliteVehicleEvents } from "./event_repos.ts";
import { SqliteRetimes } from "./retime_repos.ts";
import {
  SqliteRecordings,
  SqliteSecrets,
  SqliteUsage,
  SqliteVehicleStatus,
} from "./recording_repos.ts";

/** The embedded catalog: one SQLite file in WAL mode, migrated when opened. */
export class SqliteCatalog implements Catalog {
  readonly kind = "sqlite";
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

  /**
   * Opens (creating if needed) the catalog file at `path`, or `:memory:`; writes storage refuses
   * become InsufficientStorageError and are told to `disk`.
   */
  constructor(path: string, disk?: WriteFailureSink) {
    if (path !== ":memory:") Deno.mkdirSync(dirname(path), { recursive: true });
    try {
      this.#db = new Database(path, disk);
      this.#db.migrate();
    } catch (error) {
      const reason = writeFailureOf(error);
      if (!reason) throw error;
      throw new Error(
        `Cannot open the catalog "${path}": ${reason}; free some space and start again ` +
          "(with MIN_FREE_BYTES above 0 a ballast file keeps room for this)",
        { cause: error },
      );
    }
    this.fleets = new SqliteFleets(this.#db);
    this.users = new SqliteUsers(this.#db);
    this.vehicles = new SqliteVehicles(this.#db);
    this.cameras = new SqliteCameras(this.#db);
    this.credentials = new SqliteCredentials(this.#db);
    this.sessions = new SqliteSessions(this.#db);
    this.passwordResets = new SqlitePasswordResets(this.#db);
    this.signingKeys = new SqliteSigningKeys(this.#db);
    this.recordings = new SqliteRecordings(this.#db);
    this.vehicleStatus = new SqliteVehicleStatus(this.#db);
    this.secrets = new SqliteSecrets(this.#db);
    this.links = new SqliteLinks(this.#db);
    this.urlSigningKeys = new SqliteUrlSigningKeys(this.#db);
    this.retimes = new SqliteRetimes(this.#db);
    this.uploadPolicies = new SqliteUploadPolicies(this.#db);
    this.recalls = new SqliteRecalls(this.#db);
    this.inventory = new SqliteInventory(this.#db);
    this.events = new SqliteVehicleEvents(this.#db);
    this.eventRules = new SqliteEventRules(this.#db);
    this.webhooks = new SqliteFleetWebhooks(this.#db);
    this.usage = new SqliteUsage(this.#db);
    this.retention = new SqliteRetention(this.#db);
  }

  ping(): Promise<void> {
    this.#db.get("SELECT 1");
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#db.close();
    return Promise.resolve();
  }
}
