/**
 * `GET /admin/fleets/{fleetId}`: the fleet dashboard. Every vehicle with its online state and,
 * per camera, recording, live state, upload backlog, last segment and clock, rendered on the
 * server from the status API's own reading ({@linkcode FleetStatus}); the FleetDashboard island
 * then follows the status stream so changes show without a reload. Filter and sort live in the
 * query (`q`, `status`, `rec`, `sort`).
 */
import { FleetStatus } from "../../lib/fleet/mod.ts";
import { Island } from "../../lib/ui/mod.ts";
import FleetDashboard, { TABLE_ID } from "../../islands/FleetDashboard.tsx";
import { applyQuery, readQuery } from "../../islands/dashboard/model.ts";
import { vehicleTableHtml } from "../../islands/dashboard/VehicleTable.tsx";
import { vehicleStatusView } from "../api/v1/status.ts";
import { definePage } from "./page.tsx";
import { PageTitle } from "./layout.tsx";
import { patterns } from "./paths.ts";

/** The fleet's dashboard. */
export const fleetPage = definePage({
  pattern: patterns.fleet,
  access: { kind: "user" },
  async load({ fleet, deps, query }) {
    const status = new FleetStatus({
      catalog: deps.catalog,
      registry: deps.registry,
      offlineAfterMs: deps.config.vehicleOfflineAfterMs,
      live: deps.live,
    });
    const now = Date.now();
    const all = (await status.fleet(fleet!.id, now)).map(vehicleStatusView);
    const view = readQuery(query);
    const shown = applyQuery(all, view);
    return {
      title: fleet!.name,
      section: "dashboard",
      body: (
        <>
          <PageTitle title={fleet!.name} />
          <Island
            name="FleetDashboard"
            component={FleetDashboard}
            props={{ fleetId: fleet!.id, total: all.length, shown: shown.length, query: view }}
          />
          <div
            id={TABLE_ID}
            // The string renderer of VehicleTable's markup: 500 rows in about a millisecond.
            dangerouslySetInnerHTML={{
              __html: vehicleTableHtml({
                fleetId: fleet!.id,
                vehicles: shown,
                total: all.length,
                now,
              }),
            }}
          />
        </>
      ),
    };
  },
});
