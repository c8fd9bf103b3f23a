import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { STATUS_TEXT } from "./status_text.ts";
import { MotorcadeError, TooManyRequestsError, UnavailableError } from "../errors/mod.ts";
import type { Logger } from "../log/mod.ts";

/** Media type of RFC 9457 problem documents. */
export const PROBLEM_TYPE = "application/problem+json";

/** An RFC 9457 problem document as Motorcade writes it. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: string;
  requestId?: string;
  [extension: string]: unknown;
}

/** Builds the problem document for `error`, and says whether it was unexpected (a 500). */
export function problemOf(error: unknown, c: Context): { problem: Problem; unexpected: boolean } {
  let status = 500;
  let code = "internal";
  let detail = "An internal error occurred; quote the request id when reporting it";
  let details: Record<string, unknown> | undefined;
  if (error instanceof MotorcadeError) {
    ({ status, code } = error);
    detail = error.message;
    details = error.details;
  } else if (error instanceof HTTPException && error.status < 500) {
    status = error.status;
    code = status === 413 ? "payload_too_large" : "invalid_request";
    detail = error.message || STATUS_TEXT[status] || "Bad request";
    if (status === 415) {
      // Raised by the route validators, which say no more than the reason phrase.
      const type = c.req.header("content-type") ?? "none";
      code = "unsupported_media_type";
      detail = `Content type "${type}" is not accepted here: send application/json`;
    }
  }
  return {
    unexpected: status >= 500 && !(error instanceof MotorcadeError),
    problem: {
      ...((error instanceof UnavailableError || error instanceof TooManyRequestsError) &&
          error.retryAfterSeconds !== undefined
        ? { retryAfter: error.retryAfterSeconds }
        : {}),
      type: `urn:motorcade:problem:${code}`,
      title: STATUS_TEXT[status] ?? "Error",
      status,
      detail,
      instance: new URL(c.req.url).pathname,
      code,
      requestId: c.get("requestId" as never),
      ...details,
    },
  };
}

/** Renders a problem document as the response. */
export function problemResponse(problem: Problem, headers: HeadersInit = {}): Response {
  const h = new Headers(headers);
  h.set("content-type", PROBLEM_TYPE);
  h.set("cache-control", "no-store");
  if (problem.status === 401) h.set("www-authenticate", 'Bearer realm="motorcade"');
  if (typeof problem.retryAfter === "number") h.set("retry-after", String(problem.retryAfter));
  if (Array.isArray(problem.allow)) h.set("allow", problem.allow.join(", "));
  return new Response(JSON.stringify(problem), { status: problem.status, headers: h });
}

/** The one place errors become HTTP: `app.onError(handleError(logger))`. */
export function handleError(logger: Logger) {
  return function onError(error: Error, c: Context): Response {
    const { problem, unexpected } = problemOf(error, c);
    if (unexpected) {
      logger.error("unhandled error", {
        requestId: problem.requestId,
        path: problem.instance,
        error: { name: error.name, message: error.message, stack: error.stack },
      });
    }
    return problemResponse(problem);
  };
}
