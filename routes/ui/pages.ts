/**
 * Every page of the web interface. Adding a page: write `routes/ui/<name>.tsx` exporting
 * `definePage({ pattern: patterns.x, access, load })` (pattern from `paths.ts`), and list it here.
 */
import { cameraPage } from "./camera.tsx";
import { fleetPage } from "./fleet.tsx";
import { fleetsPage } from "./fleets.tsx";
import { healthPage } from "./health.tsx";
import { homePage } from "./home.ts";
import type { PageDefinition } from "./page.tsx";
import { settingsPage } from "./settings.tsx";
import { signInPage } from "./sign_in.tsx";
import { usersPage } from "./users.tsx";
import { vehiclePage, vehiclesPage } from "./vehicles.tsx";
import { watchPage } from "./watch.tsx";

/** The pages, registered in this order (a static pattern before a parameter at the same depth). */
export const PAGES: readonly PageDefinition[] = [
  homePage,
  signInPage,
  fleetsPage,
  fleetPage,
  usersPage,
  settingsPage,
  healthPage,
  vehiclesPage,
  vehiclePage,
  cameraPage,
  watchPage,
];
