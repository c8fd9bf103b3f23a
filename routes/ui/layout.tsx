import type { ComponentChildren, VNode } from "preact";
import type { Fleet, User } from "../../lib/catalog/mod.ts";
import { CSRF_FIELD } from "../../lib/auth/mod.ts";
import { paths } from "./paths.ts";

/** The navigation entries; a page names the one it belongs to. */
export type NavSection = "dashboard" | "vehicles" | "users" | "settings" | "health" | "fleets";

/** Props of {@linkcode Layout}. */
export interface LayoutProps {
  user: User;
  /** Fleets the user can switch between (all for owners, their own otherwise). */
  fleets: Fleet[];
  /** The fleet the page is about, if any. */
  fleetId?: string;
  section?: NavSection;
  csrf: string;
  children?: ComponentChildren;
}

interface NavEntry {
  section: NavSection;
  label: string;
  href: string;
}

function navEntries(user: User, fleetId: string | undefined): NavEntry[] {
  const entries: NavEntry[] = [];
  if (fleetId) {
    entries.push(
      { section: "dashboard", label: "Dashboard", href: paths.fleet(fleetId) },
      { section: "vehicles", label: "Vehicles", href: paths.vehicles(fleetId) },
    );
    if (user.role === "owner" || user.role === "admin") {
      entries.push(
        { section: "users", label: "Users", href: paths.users(fleetId) },
        { section: "settings", label: "Settings", href: paths.settings(fleetId) },
      );
    }
  } else if (user.role === "owner") {
    entries.push({ section: "fleets", label: "Fleets", href: paths.fleets() });
  }
  if (user.role === "owner" || user.role === "admin") {
    entries.push({ section: "health", label: "Health", href: paths.health() });
  }
  return entries;
}

function NavLinks({ entries, section }: { entries: NavEntry[]; section?: NavSection }) {
  return (
    <ul>
      {entries.map((entry) => (
        <li key={entry.section}>
          <a href={entry.href} aria-current={entry.section === section ? "page" : undefined}>
            {entry.label}
          </a>
        </li>
      ))}
    </ul>
  );
}

/**
 * The frame of every signed-in page: a header (product, fleet switcher, who, sign-out), the
 * navigation (a row on wide screens, a menu on phones; no script either way) and the content.
 */
export function Layout(props: LayoutProps): VNode {
  const { user, fleets, fleetId, section, csrf } = props;
  const entries = navEntries(user, fleetId);
  return (
    <>
      <a class="skip-link" href="#content">Skip to content</a>
      <header class="site-header">
        <a class="brand" href={homeOf(user)}>
          <strong>Motorcade</strong>
        </a>
        <div class="tools">
          {fleets.length > 1 && (
            <form method="get" action={paths.fleets()} class="fleet-switcher">
              <label for="fleet-switcher">Fleet</label>
              <select id="fleet-switcher" name="fleet">
                {fleets.map((fleet) => (
                  <option key={fleet.id} value={fleet.id} selected={fleet.id === fleetId}>
                    {fleet.name}
                  </option>
                ))}
              </select>
              <button type="submit">Open</button>
            </form>
          )}
          <span class="who">{user.email}</span>
          {entries.length > 0 && (
            <details class="nav-menu">
              <summary>Menu</summary>
              <nav aria-label="Main (menu)">
                <NavLinks entries={entries} section={section} />
              </nav>
            </details>
          )}
          <form method="post" action={paths.signOut()}>
            <input type="hidden" name={CSRF_FIELD} value={csrf} />
            <button type="submit">Sign out</button>
          </form>
        </div>
      </header>
      {entries.length > 0 && (
        <nav class="site-nav" aria-label="Main">
          <NavLinks entries={entries} section={section} />
        </nav>
      )}
      <main class="page" id="content">{props.children}</main>
    </>
  );
}

/** A page's heading row: its title and, on the right, its actions. */
export function PageTitle(
  { title, actions, children }: { title: string; actions?: ComponentChildren; children?: unknown },
): VNode {
  return (
    <div class="page-title">
      <h1>{title}</h1>
      {children as ComponentChildren}
      {actions && <div class="actions">{actions}</div>}
    </div>
  );
}

/** Where a user lands: the fleets index for owners, their fleet's dashboard otherwise. */
export function homeOf(user: User): string {
  return user.role === "owner" || !user.fleetId ? paths.fleets() : paths.fleet(user.fleetId);
}
