/** `GET /admin/fleets`: the fleets a user can open (owners: all; others go to their own). */
import { definePage } from "./page.tsx";
import { PageTitle } from "./layout.tsx";
import { paths, patterns } from "./paths.ts";

/** The fleets index (and the fleet switcher's target: `?fleet=` opens that fleet). */
export const fleetsPage = definePage({
  pattern: patterns.fleets,
  access: { kind: "user" },
  async load({ c, user, query, deps }) {
    const chosen = query.get("fleet");
    if (chosen) return c.redirect(paths.fleet(chosen), 303);
    if (user.role !== "owner" && user.fleetId) return c.redirect(paths.fleet(user.fleetId), 303);
    const fleets = await deps.registry.listFleets();
    return {
      title: "Fleets",
      section: "fleets",
      body: (
        <>
          <PageTitle title="Fleets" />
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
        </>
      ),
    };
  },
});
