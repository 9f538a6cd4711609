// One control's page: its design as the policy wrote it (title, owner, severity, references, the
// promises' source text, the policy versions that defined it), then how it operated over the
// period (evaluations against the cadence, the kept share, the chart, exceptions, episodes,
// repairs, integrity changes, waivers, time to remediate). Each control starts a printed page.
import type { ControlReport } from "./report-model.js";
import { complianceChart } from "./report-html-chart.js";
import { episodesTable, integrityTables, repairsTable, waiversTables } from "./report-html-episodes.js";
import { controlAnchor, expectedWords, remediationWords } from "./report-html-summary.js";
import { count, duration, percent, preText, shortHash, table, text, time } from "./report-html-text.js";

function design(c: ControlReport, anchor: string): string {
  const d = c.design;
  const refs = d.refs.length > 0 ? d.refs.map((r) => `<li>${text(r)}</li>`).join("") : `<li class="none">none</li>`;
  const promises = d.promises.map(
    (p) => `<div class="promise"><p class="where"><code>${text(p.key)}</code> in ${text(p.file)} line ${count(p.line)}</p><pre>${preText(p.text)}</pre></div>`,
  );
  const versions = d.versions.map(
    (v) => `<tr><td>${shortHash(v.hash)}</td><td>${time(v.from)}</td><td>${v.until ? time(v.until) : "the period's end"}</td><td>${v.changed ? "changed" : "as before"}</td></tr>`,
  );
  return `<h3 id="${anchor}-design">Design</h3>
<dl class="design">
<dt>Title</dt><dd>${text(d.title)}</dd>
<dt>Description</dt><dd>${d.description !== undefined ? text(d.description) : '<span class="none">none written</span>'}</dd>
<dt>Owner</dt><dd>${d.owner !== undefined ? text(d.owner) : '<span class="none">none named</span>'}</dd>
<dt>Severity</dt><dd>${text(d.severity)}</dd>
<dt>Key control</dt><dd data-field="key">${d.key ? "yes" : "no"}</dd>
<dt>References</dt><dd><ul class="refs">${refs}</ul></dd>
</dl>
<h4>Promises as written</h4>
${promises.length > 0 ? promises.join("\n") : '<p class="none">No promise.</p>'}
<h4>Policy versions that defined it</h4>
${table('class="versions"', `<thead><tr><th>version</th><th>in force from</th><th>until</th><th>this control</th></tr></thead>`, versions, "No policy version in force during the period.")}`;
}

function verdictWords(c: ControlReport): string {
  const parts = Object.entries(c.operation.verdicts)
    .filter(([, n]) => n !== undefined && n > 0)
    .map(([outcome, n]) => `${count(n!)} ${text(outcome)}`);
  return parts.length > 0 ? parts.join(", ") : "none";
}

function gapsTable(c: ControlReport): string {
  const rows = c.operation.gaps.map(
    (g) => `<tr class="gap"><td class="free">${text(g.text)}</td><td>${time(g.from)}</td><td>${time(g.to)}</td><td>${duration(g.durationMs)}</td></tr>`,
  );
  return table('class="gaps"', `<thead><tr><th>exception</th><th>from</th><th>to</th><th>for</th></tr></thead>`, rows, "None: the control was evaluated as often as its cadence asks throughout the period.");
}

function operation(c: ControlReport, anchor: string): string {
  const o = c.operation;
  return `<h3 id="${anchor}-operation">Operation</h3>
<dl class="operation">
<dt>Evaluations</dt><dd data-field="evaluations">${expectedWords(c)}</dd>
<dt>Kept</dt><dd data-field="kept">${percent(o.keptShare)} (${count(o.kept)} of ${count(o.evaluations)})</dd>
<dt>Verdicts</dt><dd>${verdictWords(c)}</dd>
<dt>Time to remediate</dt><dd data-field="remediation">${remediationWords(o.remediation)}</dd>
</dl>
${complianceChart(`${anchor}-chart`, `${c.id}: ${c.design.title}`, c.timeline)}
<h4>Exceptions: gaps in operation</h4>
${gapsTable(c)}
<h4>Exceptions: episodes</h4>
${episodesTable(o.episodes, o.listing)}
<h4>Changes repaired</h4>
${repairsTable(o.repairs, o.listing)}
${integrityTables(o.integrity)}
${waiversTables(o.waivers)}`;
}

export function controlPage(c: ControlReport, index: number): string {
  const anchor = controlAnchor(index);
  const flags = [c.design.key ? "key control" : "", `severity ${text(c.design.severity)}`].filter(Boolean).join(", ");
  return `<section class="page control" id="${anchor}" aria-labelledby="${anchor}-title" data-control="${text(c.id)}">
<h2 id="${anchor}-title"><span class="control-id">${text(c.id)}</span>: ${text(c.design.title)}</h2>
<p class="flags">${flags}</p>
${design(c, anchor)}
${operation(c, anchor)}
</section>`;
}
