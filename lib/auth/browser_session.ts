import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { CsrfError } from "../errors/mod.ts";
import type { Identity } from "./identity.ts";
import { randomSecret } from "./secrets.ts";
import type { BrowserSession } from "./sessions.ts";

/** Name of the pages' session cookie (HttpOnly, SameSite=Strict; Secure over https). */
export const SESSION_COOKIE = "motorcade_session";
/** Name of the sign-in form's double-submit cookie (before any session exists). */
export const SIGN_IN_COOKIE = "motorcade_signin";
/** Where the browser sends the sign-in cookie: the sign-in form only. */
const SIGN_IN_COOKIE_PATH = "/admin/sign-in";
/** Header an island sends the CSRF token in. */
export const CSRF_HEADER = "x-csrf-token";
/** Form field an HTML form sends the CSRF token in. */
export const CSRF_FIELD = "_csrf";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** Options of {@linkcode browserSessions}. */
export interface BrowserSessionOptions {
  identity: Identity;
  /** Whether cookies are Secure: the server speaks TLS or its PUBLIC_URL is https. */
  secure: boolean;
  /** The server's own origin (PUBLIC_URL's); the request's own origin is accepted too. */
  origin: string;
}

/** Context variables {@linkcode browserSessions} sets. */
export type BrowserVariables = {
  /** The signed-in browser's session, undefined when the request has no valid cookie. */
  browserSession?: BrowserSession;
  /** The CSRF token forms and islands of this page must send back. */
  csrfToken?: string;
};

/**
 * The CSRF token of a session: derived from its handle (SHA-256), so the server checks it without
 * storing it, and only a holder of the HttpOnly cookie's value can compute it.
 */
export async function csrfTokenOf(handle: string): Promise<string> {
  const bytes = new TextEncoder().encode(`motorcade-csrf:${handle}`);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return btoa(String.fromCharCode(...digest)).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
}

/**
 * Middleware of the pages: reads the session cookie into `browserSession` and `csrfToken`, and
 * refuses (403 `csrf_failed`) every state-changing request that carries the cookie unless it
 * comes from this origin and sends the session's CSRF token (header `X-CSRF-Token` or form field
 * `_csrf`). The sign-in form, before a session exists, uses a double-submit cookie instead.
 */
export function browserSessions(options: BrowserSessionOptions): MiddlewareHandler {
  return async function browserSession(c, next) {
    const handle = getCookie(c, SESSION_COOKIE);
    const session = handle ? await options.identity.sessions.browser(handle) : undefined;
    if (session) {
      c.set("browserSession", session);
      c.set("csrfToken", await csrfTokenOf(session.handle));
    }
    if (!SAFE_METHODS.has(c.req.method)) {
      checkOrigin(c, options.origin);
      const expected = session ? await csrfTokenOf(session.handle) : getCookie(c, SIGN_IN_COOKIE);
      const sent = c.req.header(CSRF_HEADER) ?? await formField(c, CSRF_FIELD);
      if (!expected) {
        throw new CsrfError(
          "Cannot accept this form: it carries no session or sign-in cookie; reload the page",
        );
      }
      if (!sent) {
        throw new CsrfError(
          `Cannot accept this request: the CSRF token is missing (send header X-CSRF-Token or field ${CSRF_FIELD})`,
        );
      }
      if (!timingSafeEqual(sent, expected)) {
        throw new CsrfError(
          "Cannot accept this request: the CSRF token does not match the session",
        );
      }
    }
    await next();
  };
}

/** Sets the session cookie after a sign-in. */
export function setSessionCookie(
  c: Context,
  session: BrowserSession,
  options: Pick<BrowserSessionOptions, "secure">,
): void {
  setCookie(c, SESSION_COOKIE, session.handle, {
    path: "/",
    httpOnly: true,
    secure: options.secure,
    sameSite: "Strict",
    expires: session.expiresAt,
  });
}

/** Clears the session cookie (sign-out, or a cookie whose session is over). */
export function clearSessionCookie(c: Context, options: Pick<BrowserSessionOptions, "secure">) {
  deleteCookie(c, SESSION_COOKIE, { path: "/", secure: options.secure });
}

/**
 * The sign-in form's double-submit token: the cookie's value when the browser has one, else a new
 * one set now (HttpOnly, SameSite=Strict, 1 hour); the form carries it in `_csrf`.
 */
export function signInToken(c: Context, options: Pick<BrowserSessionOptions, "secure">): string {
  const current = getCookie(c, SIGN_IN_COOKIE);
  if (current && /^mcf_[A-Za-z0-9_-]{20,}$/.test(current)) return current;
  const token = randomSecret("mcf_", 24);
  setCookie(c, SIGN_IN_COOKIE, token, {
    path: SIGN_IN_COOKIE_PATH,
    httpOnly: true,
    secure: options.secure,
    sameSite: "Strict",
    maxAge: 3600,
  });
  return token;
}

/** Clears the sign-in form's cookie (once signed in, the session's CSRF token takes over). */
export function clearSignInToken(c: Context, options: Pick<BrowserSessionOptions, "secure">) {
  deleteCookie(c, SIGN_IN_COOKIE, { path: SIGN_IN_COOKIE_PATH, secure: options.secure });
}

function checkOrigin(c: Context, origin: string): void {
  const sent = c.req.header("origin");
  if (sent === undefined) {
    // Browsers send Origin on every POST; without it, Fetch Metadata still tells a cross-site one.
    const site = c.req.header("sec-fetch-site");
    if (site && site !== "same-origin" && site !== "none") {
      throw new CsrfError(`Cannot accept this request: it comes from a ${site} page`);
    }
    return;
  }
  const own = new URL(c.req.url).origin;
  const forwarded = c.req.header("x-forwarded-proto") && c.req.header("host")
    ? `${c.req.header("x-forwarded-proto")}://${c.req.header("host")}`
    : undefined;
  if (sent !== origin && sent !== own && sent !== forwarded) {
    throw new CsrfError(`Cannot accept this request from origin "${sent.slice(0, 200)}"`);
  }
}

async function formField(c: Context, name: string): Promise<string | undefined> {
  const type = c.req.header("content-type") ?? "";
  if (!/^(application\/x-www-form-urlencoded|multipart\/form-data)/i.test(type)) return undefined;
  // Hono caches the parsed body: the handler reads it again with c.req.parseBody().
  const body = await c.req.parseBody();
  const value = body[name];
  return typeof value === "string" ? value : undefined;
}

function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
