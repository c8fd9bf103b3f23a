/**
 * The catalog: fleets, users, vehicles, cameras and credentials behind repository interfaces.
 * `openCatalog` picks the implementation from a URL.
 */
import type { WriteFailureSink } from "../disk/mod.ts";
import { SqliteCatalog } from "./sqlite/sqlite_catalog.ts";
import type { Catalog } from "./types.ts";

export * from "./types.ts";
export { ID_PATTERN, newId } from "./ids.ts";

/**
 * Opens the catalog named by `url` and applies pending migrations. A write storage refuses (a
 * full disk) fails with InsufficientStorageError (507) and is told to `options.disk`.
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
  throw new TypeError(`Cannot open catalog "${url}": unsupported scheme`);
}
