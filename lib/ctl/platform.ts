import { Identity } from "../auth/mod.ts";
import { type Catalog, openCatalog } from "../catalog/mod.ts";
import { type Config, ConfigError, redactUrl } from "../config/mod.ts";
import { FleetRegistry } from "../fleet/mod.ts";

/**
 * What the CLI works on: the catalog named by the configuration, the identity service (for the
 * keyring and enrolment codes) and the fleet registry, whose rules the API goes through too.
 */
export interface AdminPlatform {
  catalog: Catalog;
  identity: Identity;
  registry: FleetRegistry;
  close(): Promise<void>;
}

/**
 * Opens the catalog of `config` without serving anything. A catalog that cannot be opened is a
 * configuration problem (a folder that cannot be written, a file that is not a database).
 */
export async function openAdminPlatform(config: Config): Promise<AdminPlatform> {
  let catalog: Catalog;
  try {
    catalog = await openCatalog(config.catalogUrl);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError([
      `CATALOG_URL "${redactUrl(config.catalogUrl)}" cannot be opened: ${reason}`,
    ]);
  }
  try {
    const identity = await Identity.open(catalog, config);
    return {
      catalog,
      identity,
      registry: new FleetRegistry(catalog, identity),
      close: () => catalog.close(),
    };
  } catch (error) {
    await catalog.close();
    throw error;
  }
}
