import { UnauthorizedError } from "../errors/mod.ts";
import type { BrowserSession, Sessions, TokenPair } from "./sessions.ts";
import type { SignInThrottle } from "./sign_in_throttle.ts";

/** Sign-in by email and password behind the throttle: what the login route calls. */
export class SignIn {
  constructor(private readonly sessions: Sessions, readonly throttle: SignInThrottle) {}

  /**
   * Signs `email` in from client `address` (undefined when unknown). Throws
   * TooManyRequestsError (429) while backing off, UnauthorizedError (401) for a wrong email or
   * password, UnavailableError (503) when password checks are queued to the limit.
   */
  attempt(email: string, password: string, address: string | undefined): Promise<TokenPair> {
    return this.#throttled(email, address, () => this.sessions.login(email, password));
  }

  /** Like {@linkcode SignIn.attempt}, starting a browser session (the pages' cookie) instead. */
  attemptBrowser(
    email: string,
    password: string,
    address: string | undefined,
  ): Promise<BrowserSession> {
    return this.#throttled(email, address, () => this.sessions.loginBrowser(email, password));
  }

  async #throttled<T>(email: string, address: string | undefined, login: () => Promise<T>) {
    const attempt = this.throttle.begin(email, address);
    try {
      const result = await login();
      attempt.succeeded();
      return result;
    } catch (error) {
      if (error instanceof UnauthorizedError) attempt.failed();
      else attempt.abandoned();
      throw error;
    }
  }
}
