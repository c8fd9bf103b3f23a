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
  padding-top: 1.4rem;
  touch-action: none; user-select: none; border-radius: 6px; }
.dvr-timeline:focus-visible { outline: 3px solid var(--accent); outline-offset: 3px; }
.dvr-bars { display: block; width: 100%; height: 56px; border: 1px solid var(--border);
  border-radius: 6px; background: #fff; }
.dvr-hole { fill: #eceef2; }
.dvr-recording { fill: #2e7d4f; }
.dvr-selection { fill: rgba(31, 95, 214, .35); }
.dvr-cursor { fill: #b42318; }
.dvr-where-full { fill: #14532d; background: #14532d; }
.dvr-where-proxy { fill: #86c9a1; background: #86c9a1; }
.dvr-where-vehicle { fill: #d99a1e; background: #d99a1e; }
.dvr-where-none { fill: #eceef2; background: #eceef2; }
.dvr-marks { position: absolute; left: 0; right: 0; top: 0; height: 1.3rem; overflow: hidden;
  pointer-events: none; }
.dvr-event { position: absolute; top: 0; transform: translateX(-50%); font-size: .7rem;
  line-height: 1.1; padding: 0 .25rem; border-radius: 3px; background: #5b2a86; color: #fff;
  white-space: nowrap; }
.dvr-event-line { fill: #5b2a86; }
.dvr-legend { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap;
  gap: .25rem 1rem; font-size: .85rem; }
.dvr-legend li { display: flex; align-items: center; gap: .35rem; }
.dvr-swatch { display: inline-block; width: 1.1rem; height: .7rem; border-radius: 2px;
  border: 1px solid var(--border); }
.dvr-recalls { list-style: none; margin: .5rem 0 0; padding: 0; display: grid; gap: .5rem; }
.dvr-recalls li { display: flex; flex-wrap: wrap; align-items: center; gap: .25rem .75rem;
  border-top: 1px solid var(--border); padding-top: .5rem; }
.dvr-recall-news { min-height: 1.2em; margin: .25rem 0 0; }
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
