/** Typed, validated configuration read from the environment and an optional JSON file. */
export { CONFIG_VARIABLES, ConfigError, loadConfig, parseConfig, SERVER_ROLES } from "./config.ts";
export type { Config, ConfigSource, LiveConfig, ServerRole } from "./config.ts";
export { parseDuration } from "./duration.ts";
export { parseStorageUrl, type StorageTarget } from "./storage_url.ts";
export { type BusTarget, type KafkaSasl, parseBusUrl } from "./bus_url.ts";
export { type CatalogTarget, parseCatalogUrl, redactUrl } from "./catalog_url.ts";
export {
  type MediaDeliveryTarget,
  parseMediaDelivery,
  PRESIGNED_MAX_MS,
  PRESIGNED_MAX_TTL_MS,
} from "./media_delivery.ts";
