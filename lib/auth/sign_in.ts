import { UnauthorizedError } from "../errors/mod.ts";
import type { Sessions, TokenPair } from "./sessions.ts";
import type { SignInThrottle } from "./sign_in_throttle.ts";

/** Sign-in by email and password behind the throttle: what the login route calls. */
export class SignIn {
  constructor(private readonly sessions: Sessions, readonly throttle: SignInThrottle) {}

  /**
   * Signs `email` in from client `address` (undefined when unknown). Throws
   * TooManyRequestsError (429) while backing off, UnauthorizedError (401) for a wrong email or
   * password, UnavailableError (503) when password checks are queued to the limit.
   */
  async attempt(email: string, password: string, address: string | undefined): Promise<TokenPair> {
    const attempt = this.throttle.begin(email, address);
    try {
      const pair = await this.sessions.login(email, password);
      attempt.succeeded();
      return pair;
    } catch (error) {
      if (error instanceof UnauthorizedError) attempt.failed();
      else attempt.abandoned();
      throw error;
    }
  }
}
