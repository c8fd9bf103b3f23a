/// <reference lib="dom" />
/** Islands' API calls: JSON in and out, and a refusal turned into an {@linkcode ApiError}. */

/** An API call that failed: `message` is the problem document's `detail`. */
export class ApiError extends Error {
  /** HTTP status; 0 when the server could not be reached. */
  readonly status: number;
  /** The problem's `code`, such as `not_found`. */
  readonly code: string;

  constructor(message: string, status: number, code: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

/**
 * Calls the API (or a page action) at `path` with an optional bearer `token`, JSON `body` and
 * extra `headers`; answers the JSON it returns, throws ApiError with the problem's detail.
 */
export async function callApi<T>(
  method: string,
  path: string,
  options: { body?: unknown; token?: string; headers?: Record<string, string> },
): Promise<T> {
  const headers = new Headers({ accept: "application/json", ...options.headers });
  if (options.token) headers.set("authorization", `Bearer ${options.token}`);
  if (options.body !== undefined) headers.set("content-type", "application/json");
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ApiError(`Cannot reach the server: ${reason}`, 0, "unreachable");
  }
  if (response.status === 204) return undefined as T;
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    throw new ApiError(
      typeof body?.detail === "string" ? body.detail : `Request failed: ${response.status}`,
      response.status,
      typeof body?.code === "string" ? body.code : "unknown",
    );
  }
  return body as T;
}
