/// <reference lib="dom" />
/**
 * The browser's signed-in session: tokens kept in `sessionStorage` (one tab, gone when it
 * closes), the access token refreshed before it expires, and API calls made with it.
 */

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

interface Tokens {
  accessToken: string;
  refreshToken: string;
  /** When to refresh: a little before the access token expires (ms since the epoch). */
  refreshAt: number;
}

interface TokenPair {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

const STORAGE_KEY = "motorcade.session";
const REFRESH_MARGIN_MS = 60_000;
const RETRY_MS = 10_000;
const ENDED = "Your session has ended: sign in again";

/** A signed-in user's session in this tab. */
export class Session {
  #tokens: Tokens;
  #timer?: ReturnType<typeof setTimeout>;
  #refreshing?: Promise<void>;
  #ended = false;
  readonly #listeners = new Set<(reason: string) => void>();

  private constructor(tokens: Tokens) {
    this.#tokens = tokens;
    this.#schedule();
  }

  /** Signs in with email and password; throws an {@linkcode ApiError} when refused. */
  static async signIn(email: string, password: string): Promise<Session> {
    const pair = await send<TokenPair>("POST", "/api/v1/auth/login", { body: { email, password } });
    return new Session(store(pair));
  }

  /** The session this tab signed in earlier, if any. */
  static restore(): Session | null {
    try {
      const tokens = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? "null") as Tokens | null;
      return tokens?.accessToken && tokens.refreshToken ? new Session(tokens) : null;
    } catch {
      return null;
    }
  }

  /** Calls `listener` once when the session ends, with why (empty when the user signed out). */
  onEnd(listener: (reason: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * A valid access token, refreshed first when due (or at once with `fresh`): for connections that
   * authenticate when they open and renew in place, such as the live signaling WebSocket.
   */
  async accessToken(options: { fresh?: boolean } = {}): Promise<string> {
    if (options.fresh || Date.now() >= this.#tokens.refreshAt) await this.#refresh();
    return this.#tokens.accessToken;
  }

  /** Calls the API with the access token, refreshing it first when due or when refused. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const token = await this.accessToken();
    try {
      return await send<T>(method, path, { body, token });
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401 || this.#ended) throw error;
      await this.#refresh();
      return await send<T>(method, path, { body, token: this.#tokens.accessToken });
    }
  }

  /** Signs out: ends the session on the server (as far as it can be reached) and in this tab. */
  async signOut(): Promise<void> {
    try {
      const { accessToken, refreshToken } = this.#tokens;
      await send("POST", "/api/v1/auth/logout", { body: { refreshToken }, token: accessToken });
    } catch { /* the tab forgets the tokens either way */ }
    this.#end("");
  }

  #schedule() {
    clearTimeout(this.#timer);
    if (this.#ended) return;
    const delay = Math.max(0, this.#tokens.refreshAt - Date.now());
    this.#timer = setTimeout(() => {
      this.#refresh().catch(() => {
        if (!this.#ended) this.#timer = setTimeout(() => this.#schedule(), RETRY_MS);
      });
    }, delay);
  }

  /** Exchanges the refresh token, once at a time: a rotated token presented twice ends it all. */
  #refresh(): Promise<void> {
    this.#refreshing ??= (async () => {
      try {
        const pair = await send<TokenPair>("POST", "/api/v1/auth/refresh", {
          body: { refreshToken: this.#tokens.refreshToken },
        });
        if (this.#ended) return;
        this.#tokens = store(pair);
        this.#schedule();
      } catch (error) {
        if (error instanceof ApiError && error.status >= 400 && error.status < 500) {
          this.#end(ENDED);
        }
        throw error;
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }

  #end(reason: string) {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.#timer);
    sessionStorage.removeItem(STORAGE_KEY);
    for (const listener of this.#listeners) listener(reason);
    this.#listeners.clear();
  }
}

function store(pair: TokenPair): Tokens {
  const lifetimeMs = pair.expiresIn * 1000;
  const tokens = {
    accessToken: pair.accessToken,
    refreshToken: pair.refreshToken,
    refreshAt: Date.now() + lifetimeMs - Math.min(REFRESH_MARGIN_MS, lifetimeMs / 5),
  };
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(tokens));
  return tokens;
}

async function send<T>(
  method: string,
  path: string,
  options: { body?: unknown; token?: string },
): Promise<T> {
  const headers = new Headers({ accept: "application/json" });
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

/** Calls the API at `path` with an optional bearer `token` and JSON `body`; throws ApiError. */
export const callApi = send;
