/** `GET /admin/fleets/{fleetId}`: a fleet's dashboard (its vehicles). */
import { definePage } from "./page.tsx";
import { PageTitle } from "./layout.tsx";
import { paths, patterns } from "./paths.ts";

/** The fleet's dashboard: its vehicles, each linking to its page. */
export const fleetPage = definePage({
  pattern: patterns.fleet,
  access: { kind: "user" },
  async load({ fleet, deps }) {
    const vehicles = await deps.registry.listVehicles(fleet!.id);
    return {
      title: fleet!.name,
      section: "dashboard",
      body: (
        <>
          <PageTitle title={fleet!.name} />
          <h2>Vehicles</h2>
          {vehicles.length === 0
            ? <p class="empty">No vehicle registered yet.</p>
            : (
              <ul class="card-list" aria-label="Vehicles">
                {vehicles.map((vehicle) => (
                  <li key={vehicle.id}>
                    <a class="card card-link" href={paths.vehicle(fleet!.id, vehicle.id)}>
                      <strong>{vehicle.name}</strong>
                      <span class="muted mono">{vehicle.id}</span>
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
