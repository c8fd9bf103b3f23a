/**
 * The page framework: a page is a module exporting {@linkcode definePage}(…) listed in
 * `routes/ui/pages.ts`. The framework signs the request in from its cookie (or redirects to the
 * sign-in page), checks the fleet in the path and the roles, loads the layout's data, renders
 * the page's view inside the layout, and turns errors into HTML pages with their status.
 */
import type { Context } from "hono";
import type { VNode } from "preact";
import type { BrowserSession } from "../../lib/auth/mod.ts";
import type { Fleet, Role, User } from "../../lib/catalog/mod.ts";
import { ForbiddenError, MotorcadeError, NotFoundError } from "../../lib/errors/mod.ts";
import type { ApiApp, AppEnv } from "../../lib/http/mod.ts";
import { type IslandBundle, renderPage } from "../../lib/ui/mod.ts";
import type { RouteDeps } from "../deps.ts";
import { Layout, type NavSection, PageTitle } from "./layout.tsx";
import { paths } from "./paths.ts";

/** What the pages share: the island bundle, the stylesheet's URL and the cookies' Secure flag. */
export interface UiContext {
  bundle: IslandBundle;
  /** URL of the content-hashed stylesheet. */
  stylesheet: () => string;
  /** Whether cookies are Secure (TLS, or an https PUBLIC_URL). */
  secure: boolean;
}

/** Who may open a page. */
export type PageAccess =
  /** Anyone (the sign-in page). */
  | { kind: "public" }
  /** A signed-in user; with `roles`, only those (owners always pass). */
  | { kind: "user"; roles?: readonly Role[] };

/** What a page's `load` is given. */
export interface PageContext {
  c: Context<AppEnv>;
  deps: RouteDeps;
  ui: UiContext;
  /** The path's parameters (`fleetId`, `vehicleId`, …). */
  params: Record<string, string>;
  query: URLSearchParams;
  /** The signed-in user (pages with `access.kind === "user"`). */
  user: User;
  session: BrowserSession;
  /** The CSRF token the page's forms send in `_csrf` (islands read it from `<meta>`). */
  csrf: string;
  /** The fleet the path names (`:fleetId`), after checking the user may see it. */
  fleet?: Fleet;
}

/** What a page's `load` returns: its title and content (the layout goes around it). */
export interface PageView {
  title: string;
  body: VNode;
  /** The navigation entry to mark as current. */
  section?: NavSection;
  status?: number;
  /** Without the layout (the sign-in page). */
  bare?: boolean;
}

/** A page: its URL pattern (from `paths.ts`), who may open it, and how it loads its view. */
export interface PageDefinition {
  pattern: string;
  access: PageAccess;
  load(page: PageContext): Promise<PageView | Response> | PageView | Response;
}

/** Declares a page (see the module's doc). */
export function definePage(page: PageDefinition): PageDefinition {
  return page;
}

/** Registers `pages` as GET routes of `app` (not in the OpenAPI document: they are not API). */
export function registerPages(
  app: ApiApp,
  deps: RouteDeps,
  ui: UiContext,
  pages: readonly PageDefinition[],
): void {
  for (const page of pages) {
    app.get(page.pattern, async (c) => await servePage(c, deps, ui, page));
  }
}

async function servePage(
  c: Context<AppEnv>,
  deps: RouteDeps,
  ui: UiContext,
  page: PageDefinition,
): Promise<Response> {
  const session = c.get("browserSession");
  const csrf = c.get("csrfToken") ?? "";
  const query = new URL(c.req.url).searchParams;
  if (page.access.kind === "user" && !session) {
    const url = new URL(c.req.url);
    return c.redirect(paths.signIn(url.pathname + url.search), 303);
  }
  const context = {
    c,
    deps,
    ui,
    params: c.req.param() as Record<string, string>,
    query,
    user: session?.user,
    session,
    csrf,
  } as PageContext;
  let view: PageView | Response;
  try {
    if (session && page.access.kind === "user") {
      context.fleet = await fleetOf(context, page.access.roles);
    }
    view = await page.load(context);
  } catch (error) {
    if (!(error instanceof MotorcadeError) || error.status >= 500) throw error;
    view = {
      title: error.status === 404 ? "Not found" : "Cannot show this page",
      status: error.status,
      body: (
        <>
          <PageTitle title={error.status === 404 ? "Not found" : "Cannot show this page"} />
          <p class="problem" role="alert">{error.message}</p>
        </>
      ),
    };
  }
  if (view instanceof Response) return view;
  return await renderView(context, view);
}

/** Renders `view` as a page of `context` (inside the layout unless `bare`). */
export async function renderView(context: PageContext, view: PageView): Promise<Response> {
  const { user, csrf, ui, deps } = context;
  let body = view.body;
  if (!view.bare && user) {
    const fleets = user.role === "owner"
      ? await deps.registry.listFleets()
      : user.fleetId
      ? [await deps.registry.fleet(user.fleetId)]
      : [];
    body = (
      <Layout
        user={user}
        fleets={fleets}
        fleetId={context.fleet?.id ?? context.params.fleetId}
        section={view.section}
        csrf={csrf}
      >
        {view.body}
      </Layout>
    );
  }
  return await renderPage({
    title: `${view.title} · Motorcade`,
    body,
    bundle: ui.bundle,
    stylesheet: ui.stylesheet(),
    meta: csrf ? { "csrf-token": csrf } : undefined,
    status: view.status,
  });
}

/** Whether `user` holds one of `roles` (owners hold every role), as the API's access rules. */
export const may = (user: User, roles: readonly Role[]): boolean =>
  user.role === "owner" || roles.includes(user.role);

/** The fleet `:fleetId` names, when the user may see it (as the API's rules: 404 otherwise). */
async function fleetOf(
  context: PageContext,
  roles: readonly Role[] | undefined,
): Promise<Fleet | undefined> {
  const { user, params, deps } = context;
  if (roles && !may(user, roles)) {
    throw new ForbiddenError(
      `Role "${user.role}" cannot open this page; it needs one of: ${roles.join(", ")}`,
    );
  }
  const fleetId = params.fleetId;
  if (fleetId === undefined) return undefined;
  if (user.role !== "owner" && user.fleetId !== fleetId) {
    throw new NotFoundError(`Fleet "${fleetId}" not found`);
  }
  return await deps.registry.fleet(fleetId);
}
