// The report's first page: whose report it is and over which days, the integrity verdict with the
// head it vouches for, the period's figures, the controls table (each row a link to the control's
// own page) and the policy versions in force. Every figure is read from the model as it is.
import type { ControlReport, EvidenceReport } from "./report-model.js";
import { count, duration, percent, plural, rowsOrNone, shortHash, table, text, time } from "./report-html-text.js";

/** The anchor of a control's page: by position, since a control's id is outside text. */
export const controlAnchor = (index: number): string => `control-${index + 1}`;

function periodWords(report: EvidenceReport): string {
  const p = report.period;
  const zone = p.timeZone === null ? "the host's time zone" : `time zone ${text(p.timeZone)}`;
  return `${text(p.from)} to ${text(p.to)}, both days included, in ${zone} (from ${time(p.start)} to before ${time(p.end)})`;
}

function integrityVerdict(report: EvidenceReport): string {
  const i = report.integrity;
  if (i.verdict === "tampered") {
    const what = i.tampering ? `: ${text(i.tampering.message)} (${text(i.tampering.kind)} at record ${count(i.tampering.seq)})` : "";
    return `<p class="verdict tampered" id="integrity-verdict"><strong>Tampered.</strong> The history over this period does not verify${what}. Its records cannot be relied on as evidence.</p>`;
  }
  const head = i.head ? `record ${count(i.head.seq)}, MAC ${shortHash(i.head.mac)}` : "no record in the period";
  return `<p class="verdict intact" id="integrity-verdict"><strong>Intact.</strong> The history's chain verifies over the period's ${plural(i.records, "record")}; the report vouches for the head: ${head}.</p>`;
}

function figures(report: EvidenceReport): string {
  const s = report.summary;
  const r = s.runs;
  const detail = (words: string) => ` <span class="detail">${words}</span>`;
  const resolved = s.remediation.medianMs !== null && s.remediation.resolved > 0;
  const remediation = resolved ? duration(s.remediation.medianMs!) + detail(remediationWords(s.remediation)) : `none${detail("no episode resolved in the period")}`;
  const rows: [string, string, string][] = [
    ["controls", "Controls", count(s.controls) + detail(`${count(s.keyControls)} key`)],
    ["runs", "Operational runs", count(r.operational) + detail(`${count(r.watch)} by the watcher; not counted as operation: ${count(r.dryRun)} dry, ${count(r.sandbox)} sandbox`)],
    ["evaluations", "Evaluations of controls", count(s.evaluations)],
    ["kept-share", "Kept", percent(s.keptShare)],
    ["controls-with-exceptions", "Controls with exceptions", count(s.controlsWithExceptions)],
    ["episodes", "Episodes (deficiencies)", count(s.episodes)],
    ["gaps", "Gaps (not operating)", count(s.gaps)],
    ["open-at-end", "Open at the period's end", count(s.openAtEnd)],
    ["remediation", "Time to remediate (median)", remediation],
  ];
  const cells = rows.map(([id, label, value]) => `<div class="figure"><dt>${label}</dt><dd data-figure="${id}">${value}</dd></div>`);
  return `<dl class="figures" id="figures">\n${cells.join("\n")}\n</dl>`;
}

export function remediationWords(r: { resolved: number; medianMs: number | null; worstMs: number | null }): string {
  if (r.resolved === 0 || r.medianMs === null || r.worstMs === null) return "none resolved";
  return `median ${duration(r.medianMs)}, worst ${duration(r.worstMs)} (${plural(r.resolved, "resolved episode")})`;
}

export function expectedWords(c: ControlReport): string {
  const e = c.operation.expected;
  if (e.count === null || e.everyMs === null) return `${count(c.operation.evaluations)} (expected: unknown)`;
  const source = e.source === "learned" ? "learned from the history" : "configured";
  return `${count(c.operation.evaluations)} of ${count(e.count)} expected (every ${duration(e.everyMs)}, ${source})`;
}

function controlRow(c: ControlReport, index: number): string {
  const o = c.operation;
  const exceptions = o.listing.episodes.total + o.gaps.length;
  const open = o.listing.episodes.openAtEnd;
  const cls = exceptions > 0 ? ' class="has-exceptions"' : "";
  return `<tr${cls} data-control="${text(c.id)}">
<td class="nw"><a href="#${controlAnchor(index)}">${text(c.id)}</a></td><td class="free">${text(c.design.title)}</td><td>${c.design.key ? "key" : ""}</td><td>${text(c.design.severity)}</td>
<td class="num" data-col="kept">${percent(o.keptShare)}</td><td data-col="evaluations">${expectedWords(c)}</td>
<td class="num" data-col="exceptions">${count(exceptions)}</td><td class="num" data-col="open">${count(open)}</td></tr>`;
}

function policyVersions(report: EvidenceReport): string {
  const rows = report.policyVersions.map(
    (v) => `<tr><td>${shortHash(v.hash)}</td><td class="num">${count(v.record)}</td><td>${time(v.from)}</td><td>${v.until ? time(v.until) : "the period's end"}</td>
<td class="free">${v.files.map((f) => `${text(f.path)} (${plural(f.bytes, "byte")}, sha256 ${shortHash(f.sha256)})`).join("<br>")}</td></tr>`,
  );
  return `<h3>Policy versions in force</h3>
${table('class="versions"', `<thead><tr><th>version</th><th>record</th><th>in force from</th><th>until</th><th>files</th></tr></thead>`, rows, "No run in the period: no policy version was in force.")}`;
}

/** The filter's controls, hidden until the page's script shows them: without a script they do nothing. */
const FILTER = `<div id="control-filter" class="screen-only" hidden>
<label>Filter controls <input id="filter-text" type="search" placeholder="id, title, severity" autocomplete="off"></label>
<label><input id="filter-exceptions" type="checkbox"> only controls with exceptions</label>
<span id="filter-shown" role="status"></span>
</div>`;

export function summaryPage(report: EvidenceReport): string {
  return `<section class="page summary" id="summary" aria-labelledby="summary-title">
<h1 id="summary-title">Evidence report: ${text(report.host)}</h1>
<dl class="about">
<dt>Host</dt><dd id="host">${text(report.host)}</dd>
<dt>Period</dt><dd id="period">${periodWords(report)}</dd>
<dt>Generated</dt><dd id="generated">${time(report.generatedAt)} by ${text(report.generator)} (the reporting machine's clock)</dd>
<dt>Times</dt><dd>as the host's own clock recorded them, in UTC; see <a href="#clock">the clock review</a></dd>
</dl>
${integrityVerdict(report)}
<h2>The period in figures</h2>
${figures(report)}
<h2>Controls</h2>
${FILTER}
<table class="controls" id="controls-table"><thead><tr><th>control</th><th>title</th><th>key</th><th>severity</th><th>kept</th><th>evaluations</th><th>exceptions</th><th>open at end</th></tr></thead>
<tbody>${rowsOrNone(report.controls.map(controlRow), 8, "No control in the report.")}</tbody></table>
${policyVersions(report)}
</section>`;
}
