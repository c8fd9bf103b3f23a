/**
 * Domain errors that callers catch. Each carries the HTTP status it maps to, so the HTTP layer can
 * render every one of them as RFC 9457 problem+json in a single place.
 */

/** Base class of every error Motorcade reports to a client. */
export class MotorcadeError extends Error {
  /** HTTP status code the error is rendered with. */
  readonly status: number;
  /** Short, stable, machine-readable code, e.g. `not_found`. */
  readonly code: string;
  /** Extra members added to the problem document. */
  readonly details?: Record<string, unknown>;

  constructor(status: number, code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** A single invalid field of a request. */
export interface FieldIssue {
  path: string;
  message: string;
}

/** The request is malformed or a value is invalid. */
export class ValidationError extends MotorcadeError {
  constructor(message: string, issues: FieldIssue[] = []) {
    super(400, "invalid_request", message, issues.length ? { issues } : undefined);
  }
}

/** No credential, or a credential that is expired, tampered with or revoked. */
export class UnauthorizedError extends MotorcadeError {
  constructor(message = "Authentication required") {
    super(401, "unauthorized", message);
  }
}

/** The caller is known but may not do this. */
export class ForbiddenError extends MotorcadeError {
  constructor(message = "Not allowed") {
    super(403, "forbidden", message);
  }
}

/**
 * A state change made with the pages' session cookie lacks its CSRF token, or comes from another
 * origin: refused before anything changes.
 */
export class CsrfError extends MotorcadeError {
  constructor(message: string) {
    super(403, "csrf_failed", message);
  }
}

/** The resource does not exist, or exists in a fleet the caller cannot see. */
export class NotFoundError extends MotorcadeError {
  constructor(message: string) {
    super(404, "not_found", message);
  }
}

/** The request conflicts with the current state (a duplicate name, a used code). */
export class ConflictError extends MotorcadeError {
  constructor(message: string) {
    super(409, "conflict", message);
  }
}

/** The path exists but does not answer this method; `allow` lists the methods it answers. */
export class MethodNotAllowedError extends MotorcadeError {
  constructor(method: string, path: string, readonly allow: string[]) {
    super(
      405,
      "method_not_allowed",
      `Method "${method.slice(0, 32)}" is not allowed on "${path}": use ${allow.join(", ")}`,
      { allow },
    );
  }
}

/** The request body is larger than allowed. */
export class PayloadTooLargeError extends MotorcadeError {
  constructor(limit: number) {
    super(413, "payload_too_large", `Request body is larger than ${limit} bytes`, { limit });
  }
}

/** The request body has a media type the endpoint does not accept. */
export class UnsupportedMediaTypeError extends MotorcadeError {
  constructor(message: string) {
    super(415, "unsupported_media_type", message);
  }
}

/**
 * The request body has an accepted media type but cannot be used as sent (media a player could
 * not play back: a truncated box, samples outside their `mdat`, a codec its recording does not
 * have). Retrying the same bytes will not help.
 */
export class UnprocessableContentError extends MotorcadeError {
  constructor(message: string, code = "invalid_media") {
    super(422, code, message);
  }
}

/**
 * The request reached a server process that does not have the role answering it (`ROLES`): the
 * load balancer must send it to one that does. 421 Misdirected Request, naming the role.
 */
export class MisdirectedRequestError extends MotorcadeError {
  constructor(path: string, readonly role: string) {
    super(
      421,
      "misdirected_request",
      `Cannot answer "${
        path.slice(0, 200)
      }" here: it needs the "${role}" role, which this process does not have (ROLES)`,
      { role },
    );
  }
}

/**
 * The caller sent too many requests of a kind (failed sign-ins); `retryAfterSeconds` becomes the
 * answer's `Retry-After`.
 */
export class TooManyRequestsError extends MotorcadeError {
  constructor(message: string, readonly retryAfterSeconds: number) {
    super(429, "too_many_requests", message);
  }
}

/**
 * A dependency (catalog, bus, store) or a bounded resource cannot serve the request right now;
 * `retryAfterSeconds`, when given, becomes the answer's `Retry-After`.
 */
export class UnavailableError extends MotorcadeError {
  constructor(
    message: string,
    readonly retryAfterSeconds?: number,
    status = 503,
    code = "unavailable",
  ) {
    super(status, code, message);
  }
}

/**
 * What the request must write cannot be written now: the server's storage is full, over quota,
 * failing or read-only, or below its free-space floor (`reason` names which). 507 with
 * `Retry-After`: the same request succeeds once storage accepts writes again.
 */
export class InsufficientStorageError extends UnavailableError {
  constructor(message: string, readonly reason: string, retryAfterSeconds = 10) {
    super(message, retryAfterSeconds, 507, "insufficient_storage");
  }
}
