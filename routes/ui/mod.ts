/**
 * The web interface: pages (server-rendered, each loading only its islands' scripts), sign-in
 * with an HttpOnly session cookie and CSRF protection, and the files the pages load.
 */
import { bodyLimit } from "hono/body-limit";
import { browserSessions } from "../../lib/auth/mod.ts";
import { PayloadTooLargeError } from "../../lib/errors/mod.ts";
import type { ApiApp } from "../../lib/http/mod.ts";
import { IslandBundle } from "../../lib/ui/mod.ts";
import type { RouteDeps } from "../deps.ts";
import { buildStylesheet, readStaticFiles, registerAssetRoutes } from "./assets.ts";
import { registerFleetActions } from "./fleets.tsx";
import { registerPages, type UiContext } from "./page.tsx";
import { PAGES } from "./pages.ts";
import { patterns } from "./paths.ts";
import { registerSettingsActions } from "./settings.tsx";
import { registerSignInActions } from "./sign_in.tsx";
import { registerUserActions } from "./users.tsx";
import { registerVehicleActions } from "./vehicles.tsx";

export { isUiPath, paths, patterns } from "./paths.ts";

/** Largest form a page accepts. */
const MAX_FORM_BYTES = 64 * 1024;

/**
 * Registers the pages, their actions and files, and starts building the islands' bundle now (a
 * page request waits for it; `ready` says when it is done).
 */
export function registerUiRoutes(
  app: ApiApp,
  deps: RouteDeps,
  bundle = new IslandBundle(),
): { ready: Promise<void> } {
  const secure = deps.config.tls !== undefined || deps.config.publicUrl.startsWith("https:");
  const stylesheet = buildStylesheet();
  const files = readStaticFiles();
  let stylesheetUrl = "";
  const ui: UiContext = { bundle, secure, stylesheet: () => stylesheetUrl };
  const ready = Promise.all([
    bundle.build(),
    stylesheet.then((css) => stylesheetUrl = `${bundle.publicPath}${css.name}`),
    files,
  ]).then(() => {});
  ready.catch(() => {}); // a failed build is reported by the requests that wait for it
  app.use("/admin/*", async function waitForBundle(_c, next) {
    await ready;
    await next();
  });
  app.use(
    "/admin/*",
    bodyLimit({
      maxSize: MAX_FORM_BYTES,
      onError: () => {
        throw new PayloadTooLargeError(MAX_FORM_BYTES);
      },
    }),
  );
  app.use(
    "/admin/*",
    browserSessions({
      identity: deps.identity,
      secure,
      origin: new URL(deps.config.publicUrl).origin,
    }),
  );
  registerAssetRoutes(app, ui, stylesheet, files);
  registerSignInActions(app, deps, ui);
  registerFleetActions(app, deps, ui);
  registerUserActions(app, deps, ui);
  registerSettingsActions(app, deps, ui);
  registerVehicleActions(app, deps, ui);
  registerPages(app, deps, ui, PAGES);
  // The pages are the way in: sign-in sends a signed-in user on to their home page.
  app.get("/", (c) => c.redirect(patterns.signIn, 302));
  return { ready };
}
