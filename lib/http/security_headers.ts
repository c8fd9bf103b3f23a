import type { MiddlewareHandler } from "hono";

/** `Strict-Transport-Security` when the server speaks TLS itself: a year, subdomains included. */
export const HSTS = "max-age=31536000; includeSubDomains";

/**
 * Headers every response carries: `X-Content-Type-Options: nosniff` (a browser never guesses a
 * JSON, playlist or segment answer to be something it could run), and HSTS when `tls` is on.
 * Set after the handler, so error answers carry them too.
 */
export function securityHeaders(options: { tls: boolean }): MiddlewareHandler {
  return async function setSecurityHeaders(c, next) {
    await next();
    c.res.headers.set("x-content-type-options", "nosniff");
    if (options.tls) c.res.headers.set("strict-transport-security", HSTS);
  };
}
