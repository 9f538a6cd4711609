// The dashboard's one stylesheet (served at /ui/style.css; the CSP allows styles from the hub only,
// none inline). Plain and dense, as an operations console; the outcome colours are those of the
// evidence report; printing drops the navigation and the forms and keeps the tables whole.
export const STYLESHEET = `
:root { --ink: #1d2330; --muted: #5b6475; --line: #d8dde6; --bg: #f6f7f9; --accent: #1f4fa3;
  --kept: #2e7d32; --repaired: #1565c0; --waived: #8e6bbf; --skipped: #9aa1ad; --drift: #e08a00; --failed: #c62828; --error: #6d1b1b; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
a { color: var(--accent); }
header.top { display: flex; flex-wrap: wrap; align-items: center; gap: 1rem; padding: .5rem 1.25rem; background: #17202f; color: #fff; }
header.top a { color: #fff; text-decoration: none; }
.brand { font-weight: 700; letter-spacing: .02em; }
nav ul { display: flex; flex-wrap: wrap; gap: .25rem; margin: 0; padding: 0; list-style: none; }
nav a { display: block; padding: .3rem .65rem; border-radius: 4px; }
nav a:hover { background: #2a3650; }
nav a[aria-current="page"] { background: #34476d; }
.who { margin-left: auto; display: flex; align-items: center; gap: .6rem; }
main { padding: 1rem 1.25rem 2rem; max-width: 1400px; }
main.narrow { max-width: 28rem; }
h1 { font-size: 1.4rem; margin: .3rem 0 .2rem; }
h2 { font-size: 1.1rem; margin: 1.6rem 0 .5rem; }
.subtitle { color: var(--muted); margin: 0 0 1rem; }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); }
th, td { text-align: left; padding: .3rem .55rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef1f5; font-weight: 600; white-space: nowrap; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.cards { display: flex; flex-wrap: wrap; gap: .75rem; margin: .5rem 0 1rem; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .6rem .9rem; min-width: 10rem; }
.card .figure { display: block; font-size: 1.6rem; font-weight: 700; }
.card .label { color: var(--muted); }
.card.bad .figure { color: var(--failed); }
form.filters { display: flex; flex-wrap: wrap; gap: .6rem; align-items: end; background: #fff; border: 1px solid var(--line); padding: .6rem; margin: .5rem 0 1rem; }
form.filters label { display: flex; flex-direction: column; font-size: .85rem; color: var(--muted); }
form.inline { display: inline; margin: 0; }
form.login { display: flex; flex-direction: column; gap: .75rem; background: #fff; border: 1px solid var(--line); padding: 1rem; }
form.login label { display: flex; flex-direction: column; gap: .2rem; }
input, select, button { font: inherit; padding: .25rem .45rem; }
button { cursor: pointer; border: 1px solid #8090a8; border-radius: 4px; background: #fff; }
.refusal { border-left: 4px solid var(--failed); background: #fff; padding: .5rem .75rem; }
.pager { display: flex; gap: 1rem; margin: .5rem 0; }
.muted { color: var(--muted); }
.o-kept { color: var(--kept); } .o-repaired { color: var(--repaired); } .o-waived { color: var(--waived); } .o-skipped { color: var(--skipped); }
.o-drift { color: var(--drift); font-weight: 600; } .o-failed { color: var(--failed); font-weight: 600; } .o-error { color: var(--error); font-weight: 600; }
.chain-ok { color: var(--kept); } .chain-fork, .chain-rollback, .chain-gap { color: var(--failed); font-weight: 600; }
svg.bar { display: block; }
.legend { display: flex; flex-wrap: wrap; gap: .8rem; font-size: .85rem; color: var(--muted); margin: .25rem 0; }
.swatch { display: inline-block; width: .8rem; height: .8rem; margin-right: .25rem; vertical-align: -1px; }
.s-kept { background: var(--kept); } .s-repaired { background: var(--repaired); } .s-waived { background: var(--waived); } .s-skipped { background: var(--skipped); }
.s-drift { background: var(--drift); } .s-failed { background: var(--failed); } .s-error { background: var(--error); }
.actions form { display: flex; gap: .3rem; margin: .15rem 0; }
form.waive { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; background: #fff; border: 1px solid var(--line); padding: .6rem; margin: .5rem 0; }
form.waive label { display: flex; flex-direction: column; font-size: .85rem; color: var(--muted); }
details.waive { margin: .4rem 0; }
details.waive summary { cursor: pointer; color: var(--muted); }
/* a control's page: the fleet's daily chart (the evidence report's complianceChart) */
figure.chart { margin: .5rem 0; }
svg.compliance { max-width: 100%; height: auto; display: block; }
svg .axis { stroke: #444; stroke-width: 1; } svg .grid { stroke: #ddd; stroke-width: 1; stroke-dasharray: 3 3; }
svg .tick { font-size: 11px; fill: #444; }
.bar-kept { fill: var(--kept); } .bar-deficient { fill: var(--failed); } .bar-other { fill: var(--skipped); } .bar-none { fill: #e0b040; } .mark-deficient { fill: var(--failed); }
.key { display: inline-block; width: 10px; height: 10px; margin: 0 3px 0 8px; vertical-align: baseline; }
.key-kept { background: var(--kept); } .key-deficient { background: var(--failed); } .key-other { background: var(--skipped); } .key-none { background: #e0b040; }
figcaption { font-size: .8rem; color: var(--muted); }
.bad { color: var(--failed); font-weight: 600; } .rec { color: var(--muted); font-size: .85rem; } .free { white-space: pre-wrap; } tr.open td:first-child { border-left: 3px solid var(--failed); }
@media print {
  header.top nav, .who form, form.filters, form.waive, details.waive, .actions, .pager { display: none; }
  header.top { background: none; color: #000; padding: 0; }
  header.top a { color: #000; }
  body { background: #fff; font-size: 11px; }
  table { page-break-inside: auto; } tr { page-break-inside: avoid; }
  a { color: #000; text-decoration: none; }
}
`;
