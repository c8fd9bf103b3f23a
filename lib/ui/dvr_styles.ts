/**
 * The DVR page's stylesheet (routes/ui/camera.tsx, islands/CameraDvr.tsx) and the shared-link
 * player's: the timeline takes the full width, controls are at least 44 px tall.
 */
export const DVR_CSS = `
.breadcrumb { font-size: .9rem; margin: 0 0 .25rem; }
.dvr { display: grid; gap: .75rem; min-width: 0; }
.dvr-day { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem; margin: 0; }
.dvr-day label { margin: 0; font-weight: 600; }
.dvr-day input { width: auto; }
.dvr-timeline { position: relative; width: 100%; padding-bottom: 1.4rem; cursor: crosshair;
  touch-action: none; user-select: none; border-radius: 6px; }
.dvr-timeline:focus-visible { outline: 3px solid var(--accent); outline-offset: 3px; }
.dvr-bars { display: block; width: 100%; height: 56px; border: 1px solid var(--border);
  border-radius: 6px; background: #fff; }
.dvr-hole { fill: #eceef2; }
.dvr-recording { fill: #2e7d4f; }
.dvr-selection { fill: rgba(31, 95, 214, .35); }
.dvr-cursor { fill: #b42318; }
.dvr-hours { position: absolute; left: 0; right: 0; bottom: 0; display: grid;
  grid-template-columns: repeat(8, 1fr); font-size: .75rem; color: var(--muted); }
.dvr-zoom { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem; }
.dvr-zoom button { min-height: 44px; }
.dvr-readout { display: flex; flex-wrap: wrap; gap: .25rem 1rem; margin: 0; }
.dvr-video { width: 100%; max-height: 60vh; background: #000; border-radius: 6px;
  aspect-ratio: 16 / 9; }
.dvr-status { min-height: 1.5em; margin: 0; }
.dvr-controls { display: flex; flex-wrap: wrap; gap: .5rem; }
.dvr-controls button, .dvr-tools button, .dvr-list button, .dvr-day button,
  .dvr-tools .button-link { min-height: 44px; }
.dvr-tools { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fit, minmax(16rem, 1fr)); }
.dvr-tools section { background: var(--surface); border: 1px solid var(--border);
  border-radius: 8px; padding: .75rem; min-width: 0; }
.dvr-tools h2 { margin-top: 0; font-size: 1.05rem; }
.dvr-tools input, .dvr-tools select { width: 100%; min-height: 44px; }
.dvr-tools .button-link { display: inline-flex; align-items: center; }
.dvr-list { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: .5rem; }
.watch-page { max-width: 960px; margin: 0 auto; }
@media (max-width: 720px) {
  .dvr-controls button { flex: 1 1 45%; }
  .dvr-bars { height: 64px; }
}
`;
