/** Identity and access: passwords, ES256 JWTs, sessions, device credentials, route rules. */
export {
  type Access,
  access,
  authorize,
  bearerToken,
  deviceOf,
  SIGNED_BEARER,
  signedBearer,
  userOf,
} from "./access.ts";
export type { AuthVariables } from "./access.ts";
export {
  ACCESS_CHANNEL,
  type AccessChange,
  type AccessChanges,
  BroadcastAccessChanges,
  LocalAccessChanges,
} from "./access_changes.ts";
export { DEVICE_TOKEN_PATH, Identity } from "./identity.ts";
export { KEY_RELOAD_INTERVAL_MS, Keyring, URL_KEY_OVERLAP_MS, UrlKeyring } from "./keyring.ts";
export { hashPassword, PasswordWork, passwordWork, verifyPassword } from "./password.ts";
export { PASSWORD_RESET_CODE, PasswordResets } from "./password_resets.ts";
export { SignIn } from "./sign_in.ts";
export {
  addressKey,
  type SignInAttempt,
  type SignInLimits,
  SignInThrottle,
} from "./sign_in_throttle.ts";
export type { DevicePrincipal, Principal, UserPrincipal } from "./principal.ts";
export { BROWSER_HANDLE_PREFIX, type BrowserSession, type TokenPair } from "./sessions.ts";
export {
  type BrowserSessionOptions,
  browserSessions,
  type BrowserVariables,
  clearSessionCookie,
  clearSignInToken,
  CSRF_FIELD,
  CSRF_HEADER,
  csrfTokenOf,
  SESSION_COOKIE,
  setSessionCookie,
  SIGN_IN_COOKIE,
  signInToken,
} from "./browser_session.ts";
export { AUDIENCE, type IssuedToken } from "./tokens.ts";
export { MAX_ASSERTION_TTL_S } from "./devices.ts";
export { type PrefixSignature, sequencesCover, UrlSigner } from "./signed_urls.ts";
export { LINK_RECHECK_MS, type LinkHolder, Links } from "./links.ts";
