// The evidence report as one self-contained HTML file: the summary page, a page per control, the
// auditor's sample when there is one, the clock review and the integrity page. No network: the
// Content-Security-Policy allows nothing from outside and only this page's own style and script,
// by their hashes (the approach of the knowledge map's page, map-html.ts); the chart is SVG drawn
// here, so the page reads whole, and prints to PDF, with its script off. Every outside string is
// escaped where it is written (report-html-text.ts).
import { sha256 } from "./map-html.js";
import type { EvidenceReport } from "./report-model.js";
import { controlPage } from "./report-html-control.js";
import { clockPage, integrityPage, samplePage } from "./report-html-evidence.js";
import { REPORT_SCRIPT } from "./report-html-script.js";
import { REPORT_STYLE } from "./report-html-style.js";
import { summaryPage } from "./report-html-summary.js";
import { text } from "./report-html-text.js";

const CSP = `default-src 'none'; script-src ${sha256(REPORT_SCRIPT)}; style-src ${sha256(REPORT_STYLE)}; img-src data:; form-action 'none'; base-uri 'none'`;

function tableOfContents(report: EvidenceReport): string {
  const links = [`<a href="#summary">Summary</a>`, `<a href="#controls-table">Controls (${report.controls.length})</a>`];
  if (report.sample) links.push(`<a href="#sample">Auditor's sample</a>`);
  links.push(`<a href="#clock">Clock</a>`, `<a href="#integrity">Integrity</a>`);
  return `<nav class="toc" aria-label="Contents">${links.join("")}</nav>`;
}

/** The page as one string (tests, small reports). */
export function renderReportHtml(report: EvidenceReport): string {
  return [...reportHtmlPieces(report)].join("");
}

/**
 * The page in pieces, page by page, each rendered as it is asked for: a year's report is written
 * to its file as it is made, never held as one string (and one buffer of it).
 */
export function* reportHtmlPieces(report: EvidenceReport): Generator<string> {
  const title = `Covenant evidence report: ${report.host}, ${report.period.from} to ${report.period.to}`;
  yield `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="${text(report.generator)}">
<title>${text(title)}</title>
<style>${REPORT_STYLE}</style>
</head>
<body>
${tableOfContents(report)}
<main>
`;
  yield summaryPage(report);
  for (let i = 0; i < report.controls.length; i++) yield `\n${controlPage(report.controls[i]!, i)}`;
  if (report.sample) yield `\n${samplePage(report.sample)}`;
  yield `\n${clockPage(report)}`;
  yield `\n${integrityPage(report)}`;
  yield `
</main>
<script>${REPORT_SCRIPT}</script>
</body>
</html>
`;
}
