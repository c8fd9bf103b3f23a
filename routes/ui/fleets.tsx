/** `GET /admin/fleets`: the fleets a user can open (owners: all, and a form to create one). */
import { CSRF_FIELD } from "../../lib/auth/mod.ts";
import type { ApiApp } from "../../lib/http/mod.ts";
import type { RouteDeps } from "../deps.ts";
import {
  actionContext,
  FieldProblem,
  fieldState,
  formOf,
  type FormProblem,
  Notice,
  problemOf,
  withNotice,
} from "./forms.tsx";
import {
  definePage,
  type PageContext,
  type PageView,
  renderView,
  type UiContext,
} from "./page.tsx";
import { PageTitle } from "./layout.tsx";
import { paths, patterns } from "./paths.ts";

const NOTICES: Record<string, string> = { removed: "Fleet removed." };

async function fleetsView(
  context: PageContext,
  state: { problem?: FormProblem; name?: string } = {},
): Promise<PageView> {
  const { deps, csrf, query } = context;
  const fleets = await deps.registry.listFleets();
  const { problem } = state;
  return {
    title: "Fleets",
    section: "fleets",
    body: (
      <>
        <PageTitle title="Fleets" />
        <Notice query={query} notices={NOTICES} />
        {fleets.length === 0
          ? <p class="empty">No fleet yet.</p>
          : (
            <ul class="card-list" aria-label="Fleets">
              {fleets.map((fleet) => (
                <li key={fleet.id}>
                  <a class="card card-link" href={paths.fleet(fleet.id)}>
                    <strong>{fleet.name}</strong>
                    <span class="muted">
                      {fleet.retentionDays === null
                        ? "Recordings kept forever"
                        : `Recordings kept ${fleet.retentionDays} days`}
                    </span>
                  </a>
                </li>
              ))}
            </ul>
          )}
        <section class="card create-fleet" aria-labelledby="create-fleet">
          <h2 id="create-fleet">Create a fleet</h2>
          <form method="post" action={paths.fleets()} class="inline-form">
            <input type="hidden" name={CSRF_FIELD} value={csrf} />
            <div class="field">
              <label for="new-fleet-name">Fleet name</label>
              <input
                id="new-fleet-name"
                name="name"
                required
                maxLength={100}
                value={state.name}
                {...fieldState(problem, "create", "name", "new-fleet-name")}
              />
            </div>
            <button type="submit" class="primary">Create fleet</button>
          </form>
          <FieldProblem problem={problem} form="create" field="name" id="new-fleet-name" />
          <FieldProblem problem={problem} form="create" id="new-fleet-name" />
        </section>
      </>
    ),
  };
}

/** The fleets index (and the fleet switcher's target: `?fleet=` opens that fleet). */
export const fleetsPage = definePage({
  pattern: patterns.fleets,
  access: { kind: "user" },
  async load(context) {
    const { c, user, query } = context;
    const chosen = query.get("fleet");
    if (chosen) return c.redirect(paths.fleet(chosen), 303);
    if (user.role !== "owner" && user.fleetId) return c.redirect(paths.fleet(user.fleetId), 303);
    return await fleetsView(context);
  },
});

/** Registers `POST /admin/fleets` (owners): creates a fleet and opens its settings. */
export function registerFleetActions(app: ApiApp, deps: RouteDeps, ui: UiContext): void {
  app.post(patterns.fleets, async (c) => {
    const context = await actionContext(c, deps, ui, ["owner"]);
    if (context instanceof Response) return context;
    const form = await formOf(c);
    try {
      const fleet = await deps.registry.createFleet(form.name ?? "");
      return c.redirect(withNotice(paths.settings(fleet.id), "created"), 303);
    } catch (error) {
      const { status, ...problem } = problemOf("create", error);
      return await renderView(context, {
        ...await fleetsView(context, { problem, name: form.name }),
        status,
      });
    }
  });
}
