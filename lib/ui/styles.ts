/** The pages' base stylesheet (type, forms, tables, the live player): plain CSS, served as a file. */
export const ADMIN_CSS = `
:root {
  --bg: #f3f4f7; --surface: #fff; --border: #dfe2e8; --text: #1d2330; --muted: #646c7a;
  --accent: #1f5fd6; --accent-dark: #174aa8; --danger: #b42318; --danger-bg: #fdecea;
  --code-bg: #fff7e0; --code-border: #e8b931; --radius: 10px;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", sans-serif;
  font-size: 15px; line-height: 1.5; color: var(--text); background: var(--bg);
}
* { box-sizing: border-box; }
body { margin: 0; min-height: 100vh; }
motorcade-island { display: contents; }
h1, h2, h3 { line-height: 1.25; margin: 0 0 .75rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; } h3 { font-size: 1rem; }
p { margin: 0 0 .75rem; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }

.brand { font-weight: 700; letter-spacing: .02em; font-size: 1.05rem; }
.brand span { color: #8fb3ff; font-weight: 500; margin-left: .4rem; }

.card {
  background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius);
  padding: 1.25rem; box-shadow: 0 1px 2px rgba(16, 24, 40, .05);
}

label { display: block; font-weight: 600; font-size: .85rem; margin-bottom: .25rem; }
.field { margin-bottom: .9rem; }
input, select {
  width: 100%; font: inherit; padding: .45rem .6rem; border: 1px solid #c5cad4;
  border-radius: 6px; background: #fff; color: var(--text); height: 2.4rem;
}
input:focus, select:focus, button:focus-visible {
  outline: 2px solid var(--accent); outline-offset: 1px; border-color: var(--accent);
}
.inline-form { display: flex; gap: .5rem; align-items: end; flex-wrap: wrap; margin-top: 1rem; }
.inline-form .field { margin: 0; flex: 1 1 160px; }
.inline-form button { height: 2.4rem; }

button {
  font: inherit; font-weight: 600; padding: .45rem .9rem; border-radius: 6px; cursor: pointer;
  border: 1px solid #c5cad4; background: #fff; color: var(--text);
}
button:hover { background: #f0f2f6; }
button:disabled { opacity: .55; cursor: not-allowed; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button.primary:hover { background: var(--accent-dark); }
button.small { padding: .2rem .6rem; font-size: .85rem; font-weight: 500; }

table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: .5rem .6rem; border-bottom: 1px solid var(--border); }
th { font-size: .78rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
td.actions { text-align: right; white-space: nowrap; }
td.actions button + button { margin-left: .4rem; }
.live-player {
  margin: 0; border: 1px solid var(--border); border-radius: var(--radius); overflow: hidden;
  background: var(--surface);
}
.live-player video {
  display: block; width: 100%; aspect-ratio: 16 / 9; background: #0b0f19; object-fit: contain;
}
.live-bar { display: flex; align-items: center; gap: .5rem; flex-wrap: wrap; padding: .5rem .75rem; }
.live-bar label { display: inline; margin: 0; font-weight: 500; color: var(--muted); }
.live-bar select { width: auto; height: 2rem; padding: .15rem .4rem; font-size: .9rem; }
.live-actions { display: flex; align-items: center; gap: .4rem; margin-left: auto; }
.live-detail { flex-basis: 100%; margin: 0; }
.live-state { font-size: .9rem; color: var(--muted); }
.live-state::before {
  content: ""; display: inline-block; width: .55rem; height: .55rem; margin-right: .35rem;
  border-radius: 50%; background: #b5bcc9; vertical-align: .05rem;
}
.live-state.on { color: var(--text); font-weight: 600; }
.live-state.on::before { background: #d92d20; }
.live-state.bad { color: var(--danger); }
.live-state.bad::before { background: var(--danger); }

.muted { color: var(--muted); font-size: .9rem; }
.empty { color: var(--muted); font-style: italic; padding: .5rem 0; }
.badge {
  display: inline-block; font-size: .75rem; font-weight: 600; padding: .05rem .5rem;
  border-radius: 999px; background: #eef0f4; color: #3d4556;
}

.enrolment {
  border: 2px solid var(--code-border); background: var(--code-bg); border-radius: var(--radius);
  padding: 1.25rem; margin-bottom: 1rem;
}
.enrolment h3 { margin-bottom: .5rem; }
.enrolment .code {
  display: block; font-size: 1.9rem; font-weight: 700; letter-spacing: .08em; margin: .5rem 0;
  padding: .5rem .75rem; background: #fff; border: 1px dashed var(--code-border);
  border-radius: 8px; word-break: break-all; user-select: all;
}
.enrolment .row { display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; }
`;
