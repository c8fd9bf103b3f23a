/**
 * News between server processes (access taken away, segments indexed): in-process by default,
 * PostgreSQL `LISTEN/NOTIFY` when the catalog is on PostgreSQL, so processes split by `ROLES`
 * keep their caches and open sockets current.
 *
 * @example
 * const news = openBroadcast("postgres://motorcade@db/motorcade", logger);
 * news.subscribe("indexed", (cameraId) => cache.invalidate(cameraId), () => cache.invalidateAll());
 * news.publish("indexed", "cam_1");
 */
import type { Logger } from "../log/mod.ts";
import { LocalBroadcast } from "./local_broadcast.ts";
import { PostgresBroadcast } from "./postgres_broadcast.ts";
import type { Broadcast } from "./types.ts";

export type { Broadcast } from "./types.ts";
export { LocalBroadcast } from "./local_broadcast.ts";
export { MAX_MESSAGE_BYTES, PostgresBroadcast } from "./postgres_broadcast.ts";

/** The broadcast that reaches every process sharing the catalog named by `catalogUrl`. */
export function openBroadcast(catalogUrl: string, logger: Logger): Broadcast {
  if (/^postgres(ql)?:\/\//.test(catalogUrl)) {
    return new PostgresBroadcast(catalogUrl, logger.child({ part: "broadcast" }));
  }
  return new LocalBroadcast();
}
