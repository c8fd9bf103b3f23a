/** What islands use in the browser. Islands import this face, never `mod.ts` (server only). */
export { ApiError, Session } from "./session.ts";
