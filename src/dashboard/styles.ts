/**
 * The page's stylesheet, served as /assets/dashboard.css (a module rather than a .css file so
 * that `tsc` carries it into dist with the rest of the package).
 */
export const DASHBOARD_CSS = `
:root {
  --fg: #1f2328; --muted: #656d76; --line: #d0d7de; --bg: #ffffff; --panel: #f6f8fa;
  --accent: #0969da; --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 14px; color: var(--fg); background: var(--bg);
}
* { box-sizing: border-box; }
body { margin: 0; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
.top { display: flex; gap: 16px; align-items: baseline; padding: 10px 24px; border-bottom: 1px solid var(--line); background: var(--panel); }
.brand { font-weight: 700; font-size: 18px; color: var(--fg); }
.muted { color: var(--muted); }
main { padding: 16px 24px 48px; max-width: 1280px; }
h1 { font-size: 22px; margin: 8px 0 4px; display: flex; gap: 10px; align-items: center; overflow-wrap: anywhere; }
h2 { font-size: 17px; margin: 28px 0 8px; overflow-wrap: anywhere; }
h3 { font-size: 14px; margin: 0 0 6px; color: var(--muted); font-weight: 600; }
/* Notes name tracks and metrics from user code: a long one wraps rather than widening the page. */
p, li { overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: left; overflow-wrap: anywhere; }
th.num, td.num { text-align: right; white-space: nowrap; }
th { font-weight: 600; color: var(--muted); background: var(--panel); }
tr.baseline td { background: #fbfbfc; }
.num-sig { font-weight: 700; }
.num-better { color: var(--ok); }
.num-worse { color: var(--bad); }
.num-changed { color: var(--warn); }
td.bad { color: var(--bad); font-weight: 600; }
.phase-timeline { display: flex; gap: 2px; margin: 8px 0; height: 22px; }
.phase-bar { background: #ddf4ff; border: 1px solid var(--accent); border-radius: 3px; font-size: 12px; text-align: center; line-height: 20px; overflow: hidden; }
.phase-bar.stopped { background: var(--panel); border-color: var(--muted); color: var(--muted); }
.metric-notes { margin: -6px 0 10px; font-size: 13px; color: var(--muted); }
.metric-notes p { margin: 2px 0; }
.metric-notes strong { color: var(--fg); font-weight: 600; }
td .badge { margin: 0 6px 0 0; }
td .interval { display: block; font-size: 12px; font-weight: 400; color: var(--muted); }
td[data-field="track"] { min-width: 8em; }
.guardrail-metrics { border-left: 3px solid var(--warn); padding-left: 12px; margin-top: 28px; }
dialog input { font: inherit; width: 6em; margin-left: 6px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; border: 1px solid transparent; margin-right: 4px; white-space: nowrap; }
.status-running { color: var(--ok); border-color: var(--ok); }
.status-stopped { color: var(--muted); border-color: var(--muted); }
.status-guardrail { color: var(--bad); border-color: var(--bad); }
.warn-badge { color: var(--warn); background: #fff8c5; border-color: #d4a72c; }
.warn-badge.bad { color: var(--bad); background: #ffebe9; border-color: #ff8182; }
.meta { margin: 4px 0 12px; color: var(--muted); display: flex; flex-wrap: wrap; gap: 4px 18px; }
.warnings { list-style: none; padding: 0; margin: 8px 0 12px; }
.warnings li { padding: 6px 10px; margin-bottom: 4px; border-left: 3px solid #d4a72c; background: #fff8c5; }
.warnings li.bad { border-left-color: var(--bad); background: #ffebe9; }
.controls { display: flex; gap: 8px; align-items: center; margin: 12px 0; }
button { font: inherit; padding: 5px 14px; border-radius: 6px; border: 1px solid var(--line); background: var(--panel); cursor: pointer; }
button:hover:not(:disabled) { background: #eaeef2; }
button:disabled { opacity: 0.5; cursor: default; }
button.danger { color: #fff; background: var(--bad); border-color: var(--bad); }
button.primary { color: #fff; background: var(--ok); border-color: var(--ok); }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; margin: 8px 0 12px; }
.chart { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; background: var(--bg); }
.chart .canvas-box { position: relative; height: 260px; }
.chart p { margin: 6px 0 0; font-size: 12px; }
dialog { border: 1px solid var(--line); border-radius: 8px; padding: 18px 20px; max-width: 480px; }
dialog::backdrop { background: rgba(31, 35, 40, 0.4); }
dialog h2 { margin-top: 0; }
dialog .actions { display: flex; justify-content: flex-end; gap: 8px; margin-top: 16px; }
dialog label { display: block; margin-top: 10px; }
dialog select { font: inherit; margin-left: 6px; }
.holdout-badge { color: #8250df; border-color: #8250df; background: #fbefff; }
.holdout-note { margin: 12px 0; padding: 6px 10px; border-left: 3px solid #8250df; background: #fbefff; }
.warning-line { padding: 6px 10px; margin: 8px 0; border-left: 3px solid #d4a72c; background: #fff8c5; }
.warning-line.bad { border-left-color: var(--bad); background: #ffebe9; }
section[data-section="segments"] select { font: inherit; margin-left: 6px; }
.segment-metric { margin: 14px 0 18px; }
.segment-metric h3 { color: var(--fg); font-size: 15px; overflow-wrap: anywhere; }
.segment-metric table { width: auto; }
td.segment { font-weight: 600; vertical-align: top; }
td[data-field="srm"][rowspan] { vertical-align: top; }
tr.segment-first td { border-top: 2px solid var(--line); }
ul.heterogeneity { list-style: none; padding: 0; margin: -4px 0 8px; font-size: 13px; color: var(--muted); }
ul.heterogeneity li { margin: 3px 0; }
ul.heterogeneity strong { color: var(--fg); font-weight: 600; }
ul.heterogeneity .badge { margin-left: 2px; }
.shadow-badge { color: var(--accent); border-color: var(--accent); background: #ddf4ff; }
.shadow-mode { margin: 8px 0; padding: 6px 10px; border-left: 3px solid var(--accent); background: #ddf4ff; }
section.shadow h3 { margin-top: 18px; }
section.shadow td[data-field="track"] .badge { margin-right: 6px; }
ol.shadow-samples { list-style: none; padding: 0; margin: 6px 0 12px; }
li.shadow-sample { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; margin-bottom: 8px; }
.shadow-sample-head { margin: 0 0 6px; overflow-wrap: anywhere; }
.shadow-sample-fields { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 8px; }
.shadow-sample-field { min-width: 0; }
.shadow-sample-field h4 { margin: 0 0 2px; font-size: 12px; font-weight: 600; color: var(--muted); }
/* A sample can be long: shown in a box of a few lines that scrolls, not across the page. */
.shadow-sample pre { margin: 0; max-height: 12em; overflow: auto; white-space: pre-wrap; overflow-wrap: anywhere; font-size: 12px; padding: 6px 8px; background: var(--panel); border-radius: 4px; }
.error { color: var(--bad); font-weight: 600; }
.empty { padding: 24px; border: 1px dashed var(--line); border-radius: 6px; color: var(--muted); }
/* On a phone: a table wider than the screen scrolls in its own box, its cells on one line each
   (squeezed, they broke a name into a letter a line), and the page itself never scrolls sideways. */
@media (max-width: 720px) {
  .top, h1 { flex-wrap: wrap; }
  .top { padding: 10px 12px; }
  main { padding: 12px 12px 48px; }
  table, .segment-metric table { display: block; width: auto; max-width: 100%; overflow-x: auto; }
  th, td { overflow-wrap: normal; white-space: nowrap; }
  .charts { grid-template-columns: minmax(0, 1fr); }
  .controls { flex-wrap: wrap; }
  .phase-timeline { overflow: hidden; }
}
`;
