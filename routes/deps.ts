import type { Identity } from "../lib/auth/mod.ts";
import type { Catalog } from "../lib/catalog/mod.ts";
import type { Config } from "../lib/config/mod.ts";
import type { FleetRegistry } from "../lib/fleet/mod.ts";
import type { IndexerStats, Ingest } from "../lib/ingest/mod.ts";
import type { Playback } from "../lib/playback/mod.ts";
import type { ObjectStore } from "../lib/storage/mod.ts";
import type { Metrics, SecuredOptions } from "../lib/http/mod.ts";
import type { Logger } from "../lib/log/mod.ts";
import type { LiveService } from "../lib/live/mod.ts";
import type { InstructionsDesk, UploadPolicies } from "../lib/policy/mod.ts";
import type { Availability, Recalls } from "../lib/recall/mod.ts";
import type { FleetWebhooks, VehicleEvents } from "../lib/events/mod.ts";

/** A dependency's state for `/readyz`. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

/** What route modules are given: the wired services of one server. */
export interface RouteDeps {
  config: Config;
  catalog: Catalog;
  identity: Identity;
  registry: FleetRegistry;
  ingest: Ingest;
  store: ObjectStore;
  playback: Playback;
  metrics: Metrics;
  logger: Logger;
  readiness: ReadinessCheck[];
  /** The indexer's last-minute figures; absent where the indexer role does not run. */
  indexerStats?: () => IndexerStats;
  /** Live streaming; null when LIVE is off. */
  live: LiveService | null;
  /** Upload policies of fleets, vehicles and cameras. */
  policies: UploadPolicies;
  /** Recalls of full-quality ranges from vehicles. */
  recalls: Recalls;
  /** Where each moment of a camera's recording is (server, vehicle, nowhere). */
  availability: Availability;
  /** Vehicles' events and the fleets' rules that turn them into recalls. */
  events: VehicleEvents;
  /** Fleets' own recall webhooks. */
  fleetWebhooks: FleetWebhooks;
  /** Vehicles' instructions (heartbeat answers and long polls). */
  instructions: InstructionsDesk;
  /** Options every `secured(...)` route definition takes. */
  secure: SecuredOptions;
}
