/** Signing in and out of the pages, and the access tokens a signed-in page's islands use. */
import type { Context } from "hono";
import {
  clearSessionCookie,
  clearSignInToken,
  CSRF_FIELD,
  setSessionCookie,
  signInToken,
} from "../../lib/auth/mod.ts";
import { MotorcadeError, TooManyRequestsError, UnauthorizedError } from "../../lib/errors/mod.ts";
import { type ApiApp, type AppEnv, clientAddress } from "../../lib/http/mod.ts";
import type { RouteDeps } from "../deps.ts";
import { homeOf } from "./layout.tsx";
import { definePage, type PageContext, renderView, type UiContext } from "./page.tsx";
import { paths, patterns, safeNext } from "./paths.ts";

interface SignInFormProps {
  csrf: string;
  next?: string;
  email?: string;
  problem?: string;
}

function SignInForm({ csrf, next, email, problem }: SignInFormProps) {
  return (
    <main class="sign-in-page" id="content">
      <form method="post" action={patterns.signIn} class="card">
        <h1>Sign in</h1>
        <p class="muted">Motorcade: your fleet's live and recorded video.</p>
        {problem && <p class="problem" role="alert">{problem}</p>}
        <input type="hidden" name={CSRF_FIELD} value={csrf} />
        {next && <input type="hidden" name="next" value={next} />}
        <div class="field">
          <label for="email">Email</label>
          <input
            id="email"
            name="email"
            type="email"
            autocomplete="username"
            required
            value={email}
          />
        </div>
        <div class="field">
          <label for="password">Password</label>
          <input
            id="password"
            name="password"
            type="password"
            autocomplete="current-password"
            required
          />
        </div>
        <button type="submit" class="primary">Sign in</button>
      </form>
    </main>
  );
}

/** `GET /admin/sign-in`: the form (no script); a signed-in browser goes on to its page. */
export const signInPage = definePage({
  pattern: patterns.signIn,
  access: { kind: "public" },
  load({ c, session, query, ui }) {
    const next = safeNext(query.get("next"));
    if (session) return c.redirect(next ?? homeOf(session.user), 303);
    const csrf = signInToken(c, ui);
    return {
      title: "Sign in",
      bare: true,
      body: <SignInForm csrf={csrf} next={next} />,
    };
  },
});

/** Registers the actions: sign-in and sign-out (forms), and the islands' access tokens. */
export function registerSignInActions(app: ApiApp, deps: RouteDeps, ui: UiContext): void {
  // The CSRF check (browserSessions) ran before: the form came from this origin with its token.
  app.post(patterns.signIn, async (c) => {
    const form = await c.req.parseBody();
    const email = typeof form.email === "string" ? form.email.trim() : "";
    const password = typeof form.password === "string" ? form.password : "";
    const next = safeNext(typeof form.next === "string" ? form.next : undefined);
    const again = (problem: string, status: number) =>
      renderView(pageContext(c, deps, ui), {
        title: "Sign in",
        bare: true,
        status,
        body: <SignInForm csrf={signInToken(c, ui)} next={next} email={email} problem={problem} />,
      });
    if (!email || !password || email.length > 320 || password.length > 256) {
      return await again("Enter your email and password", 400);
    }
    try {
      const session = await deps.identity.signIn.attemptBrowser(email, password, clientAddress(c));
      setSessionCookie(c, session, ui);
      clearSignInToken(c, ui);
      return c.redirect(next ?? homeOf(session.user), 303);
    } catch (error) {
      if (error instanceof TooManyRequestsError) {
        c.header("retry-after", String(error.retryAfterSeconds));
        return await again(error.message, 429);
      }
      if (error instanceof UnauthorizedError) return await again(error.message, 401);
      if (error instanceof MotorcadeError && error.status === 503) {
        return await again(error.message, 503);
      }
      throw error;
    }
  });

  app.post(patterns.signOut, async (c) => {
    const session = c.get("browserSession");
    if (session) await deps.identity.sessions.end(session.sessionId);
    clearSessionCookie(c, ui);
    return c.redirect(paths.signIn(), 303);
  });

  // JSON for islands: a short-lived bearer token of the cookie's session (CSRF header required).
  app.post(patterns.sessionToken, async (c) => {
    const session = c.get("browserSession");
    if (!session) {
      throw new UnauthorizedError("Not signed in: the session cookie is missing or over");
    }
    const issued = await deps.identity.sessions.browserAccess(session);
    return c.json(
      {
        tokenType: "Bearer",
        accessToken: issued.token,
        expiresIn: Math.max(1, Math.round((issued.expiresAt.getTime() - Date.now()) / 1000)),
      },
      200,
      { "cache-control": "no-store" },
    );
  });
}

function pageContext(c: Context<AppEnv>, deps: RouteDeps, ui: UiContext): PageContext {
  return {
    c,
    deps,
    ui,
    params: {},
    query: new URL(c.req.url).searchParams,
  } as PageContext;
}
