/**
 * `GET /admin/health` (owners and fleet admins, as the API allows): the readiness checks (Janus,
 * bus, object store, catalog, storage), ingest rate, indexer lag and error counts, refreshed by
 * its island every few seconds (without script: as of the page load).
 */
import HealthMonitor from "../../islands/HealthMonitor.tsx";
import { Island } from "../../lib/ui/mod.ts";
import { systemHealth } from "../api/v1/system_health.ts";
import { PageTitle } from "./layout.tsx";
import { definePage } from "./page.tsx";
import { patterns } from "./paths.ts";

/** How often the page reads the health again. */
const REFRESH_MS = 5_000;

/** The system health page. */
export const healthPage = definePage({
  pattern: patterns.health,
  access: { kind: "user", roles: ["admin"] },
  async load({ deps }) {
    const health = await systemHealth(deps);
    return {
      title: "System health",
      section: "health",
      body: (
        <>
          <PageTitle title="System health" />
          <Island
            name="HealthMonitor"
            component={HealthMonitor}
            props={{ health, everyMs: REFRESH_MS }}
          />
        </>
      ),
    };
  },
});
