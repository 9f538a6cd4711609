// The evidence report's stylesheet, inlined (the CSP allows it by its hash). System fonts only.
// For print: each control, the sample, the clock review and the integrity page start a new page;
// table rows, sample picks, promise texts and charts are never cut across pages; the filter (an
// on-screen convenience) is not printed, the contents line is (its links work in the PDF); colours that carry meaning are printed as shown.
export const REPORT_STYLE = `
:root { color-scheme: light; --line: #c8ccd2; --muted: #5b6470; --kept: #2e7d32; --deficient: #c62828; --other: #9e9e9e; --none: #e0b040; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 0 auto; max-width: 1100px; padding: 0 24px 32px; color: #1d2430; background: #fff; }
nav.toc { padding: 8px 0; border-bottom: 1px solid var(--line); font-size: 13px; }
nav.toc a { margin-right: 12px; }
h1 { font-size: 22px; margin: 16px 0 8px; }
h2 { font-size: 18px; margin: 0 0 8px; padding-top: 12px; }
h3 { font-size: 15px; margin: 16px 0 6px; }
h4 { font-size: 13px; margin: 12px 0 4px; color: #333; }
.page { border-top: 2px solid #24364b; margin-top: 24px; }
.page.summary { border-top: 0; margin-top: 0; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0 0 12px; }
dt { color: var(--muted); } dd { margin: 0; overflow-wrap: anywhere; }
dl.figures { grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 8px; }
.figure { border: 1px solid var(--line); border-radius: 4px; padding: 6px 8px; }
.figure dt { font-size: 12px; } .figure dd { font-size: 18px; font-weight: 600; }
.figure .detail { display: block; font-size: 12px; font-weight: normal; color: var(--muted); }
.verdict { padding: 8px 12px; border-radius: 4px; }
.verdict.intact { background: #e3f3e3; border: 1px solid var(--kept); }
.verdict.tampered { background: #fbe3e3; border: 2px solid var(--deficient); }
table { border-collapse: collapse; width: 100%; margin-bottom: 8px; }
th, td { text-align: left; vertical-align: top; padding: 3px 6px; border-bottom: 1px solid #e3e5e8; overflow-wrap: break-word; }
td.free, td ul, table.episodes td { overflow-wrap: anywhere; }
th { font-size: 12px; color: var(--muted); border-bottom: 1px solid var(--line); overflow-wrap: normal; }
.nw { white-space: nowrap; }
td.num { text-align: right; white-space: nowrap; }
tr.none td, .none { color: var(--muted); font-style: italic; }
tr.has-exceptions td:first-child { border-left: 3px solid var(--deficient); }
td ul, dd ul { margin: 0; padding-left: 16px; }
ul.refs { padding-left: 16px; }
pre { background: #f4f5f7; border: 1px solid #e3e5e8; padding: 6px 8px; margin: 2px 0 8px; white-space: pre-wrap; overflow-wrap: anywhere; font: 12px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; }
code { font: 12px ui-monospace, "DejaVu Sans Mono", monospace; overflow-wrap: anywhere; }
.where { margin: 6px 0 0; font-size: 12px; color: var(--muted); }
.rec { color: var(--muted); font-size: 11px; white-space: nowrap; }
.bad { color: var(--deficient); } .good { color: var(--kept); }
.outcome-kept { color: var(--kept); } .outcome-drift, .outcome-failed, .outcome-error { color: var(--deficient); font-weight: 600; }
figure.chart { margin: 8px 0; }
svg.compliance { max-width: 100%; height: auto; display: block; }
svg .axis { stroke: #444; stroke-width: 1; } svg .grid { stroke: #ddd; stroke-width: 1; stroke-dasharray: 3 3; }
svg .tick { font-size: 11px; fill: #444; font-family: system-ui, "DejaVu Sans", sans-serif; }
.bar-kept { fill: var(--kept); } .bar-deficient { fill: var(--deficient); } .bar-other { fill: var(--other); } .bar-none { fill: var(--none); } .mark-deficient { fill: var(--deficient); }
figcaption { font-size: 12px; color: var(--muted); }
.key { display: inline-block; width: 10px; height: 10px; margin: 0 3px 0 8px; vertical-align: baseline; }
.key-kept { background: var(--kept); } .key-deficient { background: var(--deficient); } .key-other { background: var(--other); } .key-none { background: var(--none); }
.pick { border-left: 3px solid var(--line); padding-left: 10px; margin-bottom: 12px; }
.proves { border: 1px solid var(--line); padding: 8px 12px; background: #f6f7f9; }
table.episodes { table-layout: fixed; }
table.episodes th:nth-child(1) { width: 27%; } table.episodes th:nth-child(2), table.episodes th:nth-child(3) { width: 12%; }
table.episodes th:nth-child(4), table.episodes th:nth-child(5), table.episodes th:nth-child(6) { width: 7%; }
table.episodes th:nth-child(7) { width: 16%; } table.episodes th:nth-child(8) { width: 12%; }
#control-filter { display: flex; gap: 16px; align-items: center; margin: 4px 0 8px; font-size: 13px; }
#control-filter[hidden] { display: none; }
#control-filter input[type="search"] { font: inherit; padding: 3px 6px; min-width: 18em; }
@media print {
  body { max-width: none; padding: 0; font-size: 10px; }
  h1 { font-size: 17px; margin: 0 0 6px; } h2 { font-size: 15px; padding-top: 0; } h3 { font-size: 12.5px; margin: 10px 0 3px; } h4 { font-size: 11px; margin: 7px 0 2px; }
  p { margin: 4px 0; } th { font-size: 9px; } th, td { padding: 2px 4px; } code { font-size: 9.5px; }
  .figure dd { font-size: 14px; } .figure .detail { font-size: 9.5px; }
  .screen-only, #control-filter { display: none !important; }
  nav.toc { padding: 0 0 4px; font-size: 9.5px; }
  .page { break-before: page; border-top: 0; margin-top: 0; }
  .page.summary { break-before: auto; }
  h2, h3, h4 { break-after: avoid; }
  tr, .pick dl, .promise, figure.chart, .figure, .verdict, .proves { break-inside: avoid; }
  thead { display: table-header-group; }
  a { color: inherit; text-decoration: none; }
  pre { font-size: 9.5px; }
  .verdict, .figure, .key, svg, td[class*="outcome-"], tr.has-exceptions td { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  tr[hidden] { display: table-row; }
}
@page { size: A4; margin: 14mm; }
`;
