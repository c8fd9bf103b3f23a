/** What islands use in the browser. Islands import this face, never `mod.ts` (server only). */
export { ApiError } from "./api_call.ts";
export {
  type ApiSession,
  CSRF_META,
  csrfToken,
  PageSession,
  postToPage,
  SESSION_TOKEN_PATH,
} from "./page_session.ts";
export {
  type LiveLayer,
  type LiveQuality,
  type LiveState,
  LiveViewer,
  type LiveViewerOptions,
} from "./live_client.ts";
