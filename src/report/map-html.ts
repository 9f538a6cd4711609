// The knowledge map as one self-contained HTML page: inline style and script, the map's JSON in
// the page, no network (a Content-Security-Policy allows nothing from outside, and only this
// script and style by their hashes), no external fonts, and a print stylesheet. Policy text reaches
// the page only as JSON in a data block (`<` written as \u003c, so it cannot close the block) and
// is drawn with textContent.
import { createHash } from "node:crypto";
import type { KnowledgeMap } from "./map-graph.js";
import { MAP_PAGE_SCRIPT } from "./map-page-script.js";

const STYLE = `
:root { color-scheme: light; --line: #c8ccd2; --muted: #5b6470; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 0; color: #1d2430; background: #f6f7f9; }
header { padding: 16px 24px; background: #24364b; color: #fff; }
header h1 { margin: 0 0 4px; font-size: 20px; }
header p { margin: 0; color: #dbe3ec; }
#filters { display: flex; flex-wrap: wrap; gap: 12px 20px; align-items: flex-end; padding: 12px 24px; background: #fff; border-bottom: 1px solid var(--line); }
#filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); gap: 2px; }
#filters select, #filters input { font: inherit; padding: 4px 6px; min-width: 14em; }
#filters input { min-width: 22em; }
#shown { margin: 0; color: var(--muted); }
#search-result { flex-basis: 100%; }
#search-result ul { margin: 0; padding-left: 18px; }
main { display: grid; grid-template-columns: minmax(300px, 1fr) 2fr; gap: 16px; padding: 16px 24px; }
section.panel { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px; }
h2 { font-size: 16px; margin: 0 0 8px; }
#controls { list-style: none; margin: 0; padding: 0; }
.control-button { display: grid; grid-template-columns: auto 1fr auto; gap: 2px 8px; width: 100%; text-align: left; font: inherit; background: none; border: 0; border-bottom: 1px solid #eceef1; padding: 6px 4px; cursor: pointer; }
.control-button:hover, .selected .control-button { background: #eef3f9; }
.control-id { font-weight: 600; white-space: nowrap; }
.control-title { grid-column: 2; }
.meta { grid-column: 1 / 3; color: var(--muted); font-size: 12px; }
.outcome { grid-column: 3; grid-row: 1; align-self: start; font-size: 12px; padding: 0 6px; border-radius: 8px; }
.outcome-kept { background: #d9f2d9; } .outcome-repaired { background: #d9ecf7; } .outcome-waived { background: #fff2cc; }
.outcome-skipped { background: #eeeeee; } .outcome-drift, .outcome-failed, .outcome-error { background: #f8d0d0; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0 0 12px; }
dt { color: var(--muted); } dd { margin: 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 4px 6px; border-bottom: 1px solid #eceef1; overflow-wrap: anywhere; }
th { font-size: 12px; color: var(--muted); }
#frameworks { margin: 0 24px 24px; }
#frameworks-body { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 12px; }
.framework h3 { font-size: 14px; margin: 0 0 4px; }
.framework ul { margin: 0 0 8px; padding-left: 18px; max-height: 16em; overflow: auto; }
.framework h4 { font-size: 12px; margin: 4px 0; color: var(--muted); }
li.none, p.none { color: #a01818; font-weight: 600; }
@media print {
  body { background: #fff; font-size: 11px; }
  header { background: none; color: #000; padding: 0 0 8px; border-bottom: 2px solid #000; }
  header p { color: #000; }
  #filters { display: none; }
  main { display: block; padding: 8px 0; }
  section.panel { border: 0; padding: 0; margin-bottom: 12px; }
  .control-button { cursor: auto; }
  li.control, tr { break-inside: avoid; }
  #frameworks { margin: 0; }
  .framework ul { max-height: none; overflow: visible; }
  .outcome, td[class*="outcome-"] { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
@page { margin: 14mm; }
`;

/** A CSP source allowing exactly this inline script or style: its sha256, base64. */
export const sha256 = (text: string): string => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;

/** The map's JSON as a data block's text: nothing in it can end the block or start markup. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

export function renderHtml(map: KnowledgeMap): string {
  const csp = `default-src 'none'; script-src ${sha256(MAP_PAGE_SCRIPT)}; style-src ${sha256(STYLE)}; img-src data:; form-action 'none'; base-uri 'none'`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Covenant knowledge map</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>Covenant knowledge map</h1>
<p id="summary"><span id="control-count"></span><span id="summary-rest"></span></p>
</header>
<section id="filters" aria-label="Filters">
<label>Framework reference <select id="filter-ref"><option value="">all references</option></select></label>
<label>Owner <select id="filter-owner"><option value="">any owner</option></select></label>
<label>Stakeholder told <select id="filter-stakeholder"><option value="">any stakeholder</option></select></label>
<label>Which controls protect this path or port? <input id="search" type="search" placeholder="/etc/ssh/sshd_config, 22, postgresql" autocomplete="off"></label>
<p id="shown" role="status"></p>
<div id="search-result" role="status"></div>
</section>
<main>
<section class="panel" aria-label="Controls"><h2>Controls</h2><ul id="controls"></ul></section>
<section class="panel" id="detail" aria-label="Control"><h2>Control</h2><p>Choose a control to see its promises, what they watch, who is told and their outcomes.</p></section>
</main>
<section class="panel" id="frameworks" aria-label="Framework references"><h2>Framework references</h2><div id="frameworks-body"></div></section>
<noscript><p>The map is drawn by the page's own script: allow it to run (it reaches nothing outside this file).</p></noscript>
<script id="map-data" type="application/json">${jsonForScript(map)}</script>
<script>${MAP_PAGE_SCRIPT}</script>
</body>
</html>
`;
}
