/// <reference lib="dom" />
/**
 * The pages' session in the browser: the session itself is an HttpOnly cookie the script never
 * sees; islands get short-lived bearer tokens for the API from `POST /admin/session/token` (with
 * the page's CSRF token), so the API keeps taking bearer tokens only.
 */
import { ApiError, callApi } from "./api_call.ts";

/** Where a page's islands get an access token (cookie + `X-CSRF-Token`). */
export const SESSION_TOKEN_PATH = "/admin/session/token";
/** The `<meta>` holding the page's CSRF token. */
export const CSRF_META = "csrf-token";

const MARGIN_MS = 30_000;

/** What islands call the API through, such as {@linkcode PageSession}. */
export interface ApiSession {
  /** A valid access token; `fresh` asks for a newly issued one. */
  accessToken(options?: { fresh?: boolean }): Promise<string>;
  /** Calls the API with the access token; throws ApiError with the problem's detail. */
  request<T>(method: string, path: string, body?: unknown): Promise<T>;
}

/** The page's CSRF token, from its `<meta name="csrf-token">`; empty when signed out. */
export function csrfToken(): string {
  return document.querySelector<HTMLMetaElement>(`meta[name="${CSRF_META}"]`)?.content ?? "";
}

/**
 * Calls a page route that changes state (a form-like action), sending the CSRF token; answers
 * the JSON it returns, throws ApiError with the problem's detail.
 */
export function postToPage<T>(path: string, body?: unknown): Promise<T> {
  return callApi<T>("POST", path, { body, headers: { "x-csrf-token": csrfToken() } });
}

/**
 * The signed-in page's API access for islands.
 *
 * @example const me = await PageSession.current().request<User>("GET", "/api/v1/me");
 */
export class PageSession implements ApiSession {
  static #current?: PageSession;
  #token?: { value: string; renewAt: number };
  #pending?: Promise<string>;

  /** The page's session (one per page). */
  static current(): PageSession {
    return PageSession.#current ??= new PageSession();
  }

  /** A valid access token for the cookie's session, fetched when none is held or it expires. */
  accessToken(options: { fresh?: boolean } = {}): Promise<string> {
    if (!options.fresh && this.#token && Date.now() < this.#token.renewAt) {
      return Promise.resolve(this.#token.value);
    }
    this.#pending ??= postToPage<{ accessToken: string; expiresIn: number }>(SESSION_TOKEN_PATH)
      .then(({ accessToken, expiresIn }) => {
        const lifetimeMs = expiresIn * 1000;
        this.#token = {
          value: accessToken,
          renewAt: Date.now() + lifetimeMs - Math.min(MARGIN_MS, lifetimeMs / 5),
        };
        return accessToken;
      })
      .finally(() => this.#pending = undefined);
    return this.#pending;
  }

  /** Calls the API with a bearer token; a 401 gets one fresh token and one more try. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    try {
      return await callApi<T>(method, path, { body, token: await this.accessToken() });
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
      const token = await this.accessToken({ fresh: true });
      return await callApi<T>(method, path, { body, token });
    }
  }
}
