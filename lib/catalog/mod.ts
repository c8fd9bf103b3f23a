/**
 * The catalog: fleets, users, vehicles, cameras and credentials behind repository interfaces.
 * `openCatalog` picks the implementation from a URL.
 */
import type { WriteFailureSink } from "../disk/mod.ts";
import { PostgresCatalog } from "./postgres/postgres_catalog.ts";
import { SqliteCatalog } from "./sqlite/sqlite_catalog.ts";
import type { Catalog } from "./types.ts";

export * from "./types.ts";
export * from "./policy_types.ts";
export * from "./event_types.ts";
export { ID_PATTERN, newId } from "./ids.ts";
/** The PostgreSQL pool with the catalog's error mapping (for LISTEN/NOTIFY beside the catalog). */
export { Database as PostgresDatabase } from "./postgres/database.ts";

/**
 * Opens the catalog named by `url` (`sqlite:<file>` or `postgres://…`) and applies pending
 * migrations. A write storage refuses (a full disk) fails with InsufficientStorageError (507)
 * and, for SQLite, is told to `options.disk`; PostgreSQL down or unreachable fails with
 * UnavailableError (503), both with Retry-After.
 *
 * @example const catalog = await openCatalog("sqlite:./data/catalog.db");
 */
export function openCatalog(
  url: string,
  options: { disk?: WriteFailureSink } = {},
): Promise<Catalog> {
  if (url.startsWith("sqlite:")) {
    return Promise.resolve(new SqliteCatalog(url.slice("sqlite:".length), options.disk));
  }
  if (/^postgres(ql)?:\/\//.test(url)) return PostgresCatalog.open(url);
  throw new TypeError(`Cannot open catalog "${url}": unsupported scheme`);
}
