import type { MiddlewareHandler } from "hono";

/** Response header carrying the server's clock, in milliseconds since the epoch. */
export const SERVER_TIME_HEADER = "motorcade-time";

/**
 * States the server's time on every response, to the millisecond (`Date` has whole seconds
 * only): vehicles learn their clock's offset from it, with round-trip correction. Stamped as the
 * response leaves the handler, error responses included.
 */
export function serverTime(options: { now?: () => number } = {}): MiddlewareHandler {
  const now = options.now ?? Date.now;
  return async function stampServerTime(c, next) {
    await next();
    c.res.headers.set(SERVER_TIME_HEADER, String(now()));
  };
}
