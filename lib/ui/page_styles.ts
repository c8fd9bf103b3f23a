/**
 * The pages' layout stylesheet (header, navigation, content, cards, forms), appended to the
 * admin's: mobile first, no sideways scroll at 320 px, tap targets at least 44 px, AA contrast.
 */
export const PAGE_CSS = `
.skip-link {
  position: absolute; left: .5rem; top: -3rem; z-index: 10; padding: .6rem 1rem;
  background: #fff; color: var(--text); border-radius: 6px; font-weight: 600;
}
.skip-link:focus { top: .5rem; }
a { color: var(--accent-dark); }
a:focus-visible, summary:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }

.site-header {
  background: #151b2b; color: #fff; display: flex; flex-wrap: wrap; align-items: center;
  gap: .5rem 1rem; padding: .5rem 1rem; min-height: 3.5rem;
}
.site-header a { color: #fff; }
.site-header .brand { text-decoration: none; display: inline-flex; align-items: center;
  min-height: 44px; }
.site-header .brand span { color: #a9c3ff; }
.site-header .who { color: #d5dbe8; font-size: .9rem; overflow-wrap: anywhere; }
.site-header .tools { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem;
  margin-left: auto; min-width: 0; }
.site-header form { margin: 0; display: flex; align-items: center; gap: .4rem; min-width: 0; }
.site-header label { color: #d5dbe8; font-weight: 500; margin: 0; font-size: .85rem; }
.site-header select { height: 44px; width: auto; max-width: 12rem; min-width: 0; }
.site-header button {
  min-height: 44px; background: transparent; color: #fff; border-color: #8792ab;
}
.site-header button:hover { background: #26304a; }
.site-header button:focus-visible, .site-header select:focus { outline-color: #a9c3ff; }

.site-nav { background: #fff; border-bottom: 1px solid var(--border); }
.site-nav ul { list-style: none; margin: 0 auto; padding: 0 1rem; display: flex; gap: .25rem;
  max-width: 1120px; }
.site-nav a {
  display: flex; align-items: center; min-height: 44px; padding: 0 .8rem; text-decoration: none;
  color: var(--text); font-weight: 500; border-bottom: 3px solid transparent;
}
.site-nav a:hover { background: #f0f2f6; }
.site-nav a[aria-current="page"] { border-bottom-color: var(--accent); color: var(--accent-dark);
  font-weight: 700; }
.nav-menu { display: none; }

main.page { max-width: 1120px; margin: 0 auto; padding: 1.25rem 1rem 3rem; }
.page-title { display: flex; flex-wrap: wrap; align-items: baseline; gap: .5rem 1rem;
  margin-bottom: 1rem; }
.page-title h1 { margin: 0; overflow-wrap: anywhere; }
.page-title .actions { margin-left: auto; display: flex; gap: .5rem; flex-wrap: wrap; }

.button-link {
  display: inline-flex; align-items: center; justify-content: center; min-height: 44px;
  padding: 0 1rem; border-radius: 6px; border: 1px solid #c5cad4; background: #fff;
  color: var(--text); font-weight: 600; text-decoration: none;
}
.button-link.primary, main button.primary { background: var(--accent); border-color: var(--accent);
  color: #fff; }
main button, main input, main select { min-height: 44px; }

.card-list { list-style: none; margin: 0; padding: 0; display: grid; gap: .75rem;
  grid-template-columns: repeat(auto-fill, minmax(min(100%, 260px), 1fr)); }
.card-list > li { min-width: 0; }
.card-link { display: block; text-decoration: none; color: var(--text); min-height: 44px; }
.card-link:hover { border-color: var(--accent); }
.card-link strong { display: block; font-size: 1.05rem; overflow-wrap: anywhere; }

.notice { border: 1px solid #b8cdfa; background: #eef3ff; border-radius: 8px;
  padding: .6rem .8rem; margin: 0 0 1rem; }
.problem { border: 1px solid #f3b8b2; background: var(--danger-bg); color: var(--danger);
  border-radius: 8px; padding: .6rem .8rem; margin: 0 0 1rem; }

.sign-in-page { max-width: 400px; margin: 8vh auto 0; padding: 0 1rem; }
.sign-in-page h1 { margin-bottom: .25rem; }
.sign-in-page button { width: 100%; min-height: 44px; }
.sign-in-page input { min-height: 44px; }

@media (max-width: 720px) {
  .site-nav { display: none; }
  .nav-menu { display: block; position: relative; }
  .nav-menu summary {
    list-style: none; cursor: pointer; min-height: 44px; display: flex; align-items: center;
    padding: 0 .9rem; border: 1px solid #8792ab; border-radius: 6px; color: #fff;
    font-weight: 600;
  }
  .nav-menu summary::-webkit-details-marker { display: none; }
  .nav-menu ul {
    list-style: none; margin: .25rem 0 0; padding: .25rem; position: absolute; right: 0;
    z-index: 5; min-width: 12rem; background: #fff; border: 1px solid var(--border);
    border-radius: 8px; box-shadow: 0 6px 18px rgba(16, 24, 40, .18);
  }
  .nav-menu a { display: flex; align-items: center; min-height: 44px; padding: 0 .75rem;
    color: var(--text); text-decoration: none; border-radius: 6px; }
  .nav-menu a[aria-current="page"] { color: var(--accent-dark); font-weight: 700;
    background: #eef3ff; }
  .site-header { padding: .5rem .75rem; }
  .site-header .who { display: none; }
  .site-header .tools { display: contents; }
  .site-header .brand { margin-right: auto; }
  .site-header .fleet-switcher { order: 3; flex: 1 1 100%; }
  .site-header .fleet-switcher select { flex: 1 1 auto; max-width: none; }
  main.page { padding: 1rem .75rem 2.5rem; }
  table.responsive thead { display: none; }
  table.responsive, table.responsive tbody, table.responsive tr, table.responsive td {
    display: block; width: 100%; }
  table.responsive tr { border: 1px solid var(--border); border-radius: 8px; margin-bottom: .75rem;
    background: var(--surface); padding: .25rem .5rem; }
  table.responsive td { border: none; padding: .35rem .25rem; }
  table.responsive td[data-label]::before { content: attr(data-label); display: block;
    font-size: .75rem; font-weight: 600; text-transform: uppercase; color: var(--muted); }
}
/* Users, settings, health, fleets (routes/ui/users.tsx, settings.tsx, health.tsx, fleets.tsx) */
.field-problem { color: var(--danger); font-weight: 600; margin: .3rem 0 .5rem; }
input[aria-invalid="true"], select[aria-invalid="true"] { border-color: var(--danger); }
.add-user, .create-fleet { margin-top: 1.25rem; max-width: 40rem; }
table.users td { vertical-align: top; }
table.users td.email { overflow-wrap: anywhere; }
table.users .muted { margin-left: .35rem; }
.manage summary { cursor: pointer; min-height: 44px; display: flex; align-items: center;
  color: var(--accent-dark); font-weight: 600; overflow-wrap: anywhere; }
.manage-forms { display: grid; gap: .25rem; padding: .25rem 0 .5rem; }
.manage-forms .inline-form { margin-top: .5rem; }
.state-disabled { background: #fdecea; color: #9a1c12; }
.state-enabled { background: #e7f5ec; color: #146c2e; }
main button.danger { border-color: var(--danger); color: var(--danger); background: #fff; }
main button.danger:hover { background: var(--danger-bg); }
.settings { display: grid; gap: 1rem; max-width: 46rem; }
.settings .inline-form { margin-top: .5rem; }
.retention-preview { margin-top: .75rem; }
.danger-zone { border-color: #f3b8b2; }
.health { display: grid; gap: 1rem; }
.health-tools { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1rem;
  margin-bottom: .75rem; }
.health-tools p { margin: 0; }
.health-summary { margin: 0; }
.health-checks { list-style: none; margin: 0; padding: 0; display: grid; gap: .5rem; }
.health-checks .check { display: flex; flex-wrap: wrap; gap: .25rem .6rem; align-items: baseline; }
.health-checks .ok .badge { background: #e7f5ec; color: #146c2e; }
.health-checks .failing .badge { background: #fdecea; color: #9a1c12; }
.check-error { flex-basis: 100%; color: var(--danger); overflow-wrap: anywhere; }
.figures { display: grid; grid-template-columns: max-content 1fr; gap: .35rem 1rem; margin: 0; }
.figures dt { font-weight: 600; }
.figures dd { margin: 0; font-variant-numeric: tabular-nums; }
/* Fleet dashboard (routes/ui/fleet.tsx, islands/FleetDashboard.tsx) */
.visually-hidden { position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0;
  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
.dashboard-filter { display: flex; flex-wrap: wrap; align-items: flex-end; gap: .5rem .75rem;
  margin: 0 0 .5rem; }
.dashboard-filter label { display: flex; flex-direction: column; gap: .2rem; margin: 0;
  font-size: .85rem; font-weight: 600; min-width: 0; }
.dashboard-filter input { width: 14rem; max-width: 100%; }
.dashboard-summary { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center;
  margin: 0 0 .75rem; color: var(--muted); }
.connection { font-weight: 600; }
.connection.live { color: #146c2e; }
.connection.reconnecting, .connection.signed-out { color: var(--danger); }
.dashboard-table { width: 100%; border-collapse: collapse; background: var(--surface); }
.dashboard-table th, .dashboard-table td { text-align: left; vertical-align: top;
  padding: .5rem .6rem; border-bottom: 1px solid var(--border); }
.dashboard-table thead th { font-size: .8rem; color: var(--muted); text-transform: uppercase; }
.dashboard-table th[scope="row"] { text-transform: none; font-size: 1rem; color: var(--text); }
.dashboard-table th[scope="row"] a { font-weight: 700; overflow-wrap: anywhere; }
.dashboard-table .muted { display: block; font-size: .85rem; }
.dashboard-table .warn { color: var(--danger); font-weight: 600; }
.dashboard-table .cams { list-style: none; margin: 0; padding: 0; display: grid; gap: .35rem; }
.dashboard-table .cams a { font-weight: 600; margin-right: .35rem; }
.dashboard-table .state { font-weight: 700; }
.dashboard-table .state.online { color: #146c2e; }
.dashboard-table .state.offline { color: #5b6270; }
.pill { display: inline-block; font-size: .75rem; font-weight: 600; border-radius: 999px;
  padding: 0 .45rem; margin-right: .25rem; border: 1px solid var(--border); color: #3d4452; }
.pill.rec-on { background: #fdecea; border-color: #f3b8b2; color: #9a1c12; }
.pill.live-streaming { background: #e7f5ec; border-color: #a7d8b7; color: #146c2e; }
@media (max-width: 720px) {
  .dashboard-filter label { flex: 1 1 45%; }
  .dashboard-filter input { width: 100%; }
  .dashboard-table th[scope="row"] { display: block; border: none; padding: .35rem .25rem; }
  .dashboard-table th[scope="row"] a { display: inline-flex; align-items: center;
    min-height: 44px; }
  .dashboard-table .cams a { display: inline-flex; align-items: center; min-height: 44px; }
}
/* Vehicles and a vehicle (routes/ui/vehicles.tsx, islands/VehicleLive.tsx, EnrolmentCommand.tsx) */
.vehicle-list { grid-template-columns: repeat(auto-fill, minmax(min(100%, 320px), 1fr)); }
.vehicle-head { display: flex; align-items: center; gap: .5rem; flex-wrap: wrap; }
.vehicle-head a { display: inline-flex; align-items: center; min-height: 44px;
  overflow-wrap: anywhere; }
.badge.online { background: #e7f5ec; color: #146c2e; }
.badge.offline { background: #eef0f4; color: #3d4556; }
.camera-links { list-style: none; margin: .25rem 0 .5rem; padding: 0; display: flex;
  flex-wrap: wrap; gap: .25rem .75rem; }
.camera-links a { display: inline-flex; align-items: center; min-height: 44px; }
.confirm > summary { cursor: pointer; min-height: 44px; display: flex;
  align-items: center; font-weight: 600; color: var(--accent-dark); }
.confirm { border-left: 3px solid var(--danger); padding-left: .6rem; margin: .25rem 0; }
.confirm > summary { color: var(--danger); }
.vehicle-form { display: flex; flex-wrap: wrap; align-items: center; gap: .4rem .5rem;
  margin: .5rem 0; }
.vehicle-form label { margin: 0; flex: 1 1 100%; }
.vehicle-form input { flex: 1 1 10rem; min-width: 0; width: auto; }
.vehicle-form .field-problem { flex: 1 1 100%; }
.add-vehicle { max-width: 40rem; margin-bottom: 1rem; }
.enrolment { margin-bottom: 1rem; border-color: var(--accent); }
.enrolment .code { font-size: 1.1rem; font-weight: 700; overflow-wrap: anywhere; }
.enrolment .steps { padding-left: 1.25rem; }
.enrolment-command pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #0b0f19;
  color: #f3f5f9; padding: .75rem; border-radius: 6px; margin: .25rem 0; }
.enrolment-tools { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem; }
.enrolment-state { font-weight: 700; }
.enrolment-state.enrolled { color: #146c2e; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
.facts dt { font-weight: 600; }
.facts dd { margin: 0; }
.live-grid { list-style: none; margin: .75rem 0; padding: 0; display: grid; gap: 1rem;
  align-items: start; grid-template-columns: repeat(auto-fill, minmax(min(100%, 340px), 1fr)); }
.live-tile { min-width: 0; padding: 0; overflow: hidden; }
.live-tile .live-player { border: none; }
.live-idle { display: flex; align-items: center; justify-content: space-between; gap: .5rem;
  flex-wrap: wrap; padding: .75rem; min-height: 4rem; }
.live-idle .visually-hidden { position: absolute; width: 1px; height: 1px; margin: -1px;
  padding: 0; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
.live-grid .live-bar select, .live-grid .live-bar button { min-height: 44px; height: auto; }
table.heartbeats { width: 100%; border-collapse: collapse; background: var(--surface); }
table.heartbeats th, table.heartbeats td { text-align: left; vertical-align: top;
  padding: .4rem .6rem; border-bottom: 1px solid var(--border); }
/* Upload policies, event rules, usage, events, recalls (settings_upload.tsx, vehicle_uploads.tsx) */
.field-row { display: flex; flex-wrap: wrap; gap: 0 1rem; }
.field-row .field { flex: 1 1 10rem; min-width: 0; }
.rule-list { list-style: none; margin: 0 0 1rem; padding: 0; display: grid; gap: .75rem; }
.rule-list > li { border-top: 1px solid var(--border); padding-top: .5rem; }
.policy-form { margin: .25rem 0 .75rem; }
.vehicle-uploads section { margin-top: 1.25rem; }
table.usage, table.events, table.recalls { width: 100%; border-collapse: collapse;
  background: var(--surface); }
table.usage th, table.usage td, table.events th, table.events td, table.recalls th,
table.recalls td { text-align: left; vertical-align: top; padding: .4rem .6rem;
  border-bottom: 1px solid var(--border); overflow-wrap: break-word; }
table.recalls button { white-space: nowrap; }
table.usage td[data-bytes] { font-variant-numeric: tabular-nums; }
.webhook-tools { display: flex; flex-wrap: wrap; gap: .5rem; margin-top: .75rem; }
`;
