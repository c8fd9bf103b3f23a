/** `GET /admin`: where the web interface starts — the signed-in user's home, else sign-in. */
import { homeOf } from "./layout.tsx";
import { definePage } from "./page.tsx";
import { paths, patterns } from "./paths.ts";

/** Sends a signed-in browser to its home page (fleets or its fleet), others to sign in. */
export const homePage = definePage({
  pattern: patterns.home,
  access: { kind: "public" },
  load: ({ c, session }) => c.redirect(session ? homeOf(session.user) : paths.signIn(), 303),
});
