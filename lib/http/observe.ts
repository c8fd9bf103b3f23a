import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import type { Logger } from "../log/mod.ts";
import type { Metrics } from "./metrics.ts";
import { resolveClientAddress } from "./client_address.ts";

const SANE_ID = /^[A-Za-z0-9._-]{1,64}$/;
/** Methods counted under their own name; any other (invented ones too) is "other". */
const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/**
 * Gives every request an id (a sane incoming `X-Request-Id` is kept), works out its client
 * address (`clientAddress(c)`, behind `proxyHops` proxies), echoes the id, writes one JSON log
 * line per request and records request count and latency by route pattern.
 */
export function observe(
  options: { logger: Logger; metrics: Metrics; proxyHops: number },
): MiddlewareHandler {
  const { logger, metrics, proxyHops } = options;
  return async function observeRequest(c, next) {
    const started = performance.now();
    const client = resolveClientAddress(c, proxyHops);
    const incoming = c.req.header("x-request-id");
    const requestId = incoming && SANE_ID.test(incoming) ? incoming : crypto.randomUUID();
    c.set("requestId" as never, requestId as never);
    await next();
    c.res.headers.set("x-request-id", requestId);
    const seconds = (performance.now() - started) / 1000;
    const path = routePath(c);
    const route = c.res.status === 404 && path === "/*" ? "unmatched" : path;
    // Labels from closed sets only: a client inventing methods must not invent time series.
    const method = KNOWN_METHODS.has(c.req.method) ? c.req.method : "other";
    metrics.requests.inc({ method, route, status: String(c.res.status) });
    metrics.latency.observe({ method, route }, seconds);
    const principal = c.get("principal" as never) as
      | { kind: string; userId?: string; vehicleId?: string }
      | undefined;
    logger.info("request", {
      requestId,
      method: c.req.method,
      path: c.req.path,
      route,
      client,
      status: c.res.status,
      durationMs: Math.round(seconds * 10_000) / 10,
      principal: principal && (principal.userId ?? principal.vehicleId),
    });
  };
}
