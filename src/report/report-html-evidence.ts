// The report's last pages: the auditor's sample (each evaluation picked, with the policy version
// in force, the verdict, whether its promises' outcomes hash to the run's summary, and the
// records that prove each), the review of the host's clock, and what the integrity verdict proves.
import type { AuditorSample, ClockAnomaly, EvidenceReport, SampledEvaluation } from "./report-model.js";
import { count, duration, plural, shortHash, table, text, time } from "./report-html-text.js";

function pick(p: SampledEvaluation, n: number): string {
  const proven = p.proven
    ? `<span class="good">proven</span>: the promises' outcomes hash to the summary's digest`
    : `<strong class="bad">not proven</strong>${p.why !== undefined ? `: ${text(p.why)}` : ""}`;
  const promises = p.promises.map(
    (q) => `<tr><td><code>${text(q.key)}</code></td><td class="outcome-${text(q.outcome)}">${text(q.outcome)} since ${time(q.since)}</td>
<td class="free">${text(q.reason)}${q.differences.length > 0 ? `<ul>${q.differences.map((d) => `<li>${text(d)}</li>`).join("")}</ul>` : ""}</td><td class="num">${count(q.record)}</td></tr>`,
  );
  const policy = `${shortHash(p.policy.hash)}${p.policy.record !== undefined ? ` (record ${count(p.policy.record)})` : ""}`;
  return `<div class="pick" data-run="${p.run}">
<h4>${n}. ${p.kind === "watch" ? "Watcher run" : "Run"} ${count(p.run)}, ${time(p.started)} to ${time(p.finished)}</h4>
<dl><dt>Policy version</dt><dd>${policy}</dd><dt>Verdict</dt><dd class="outcome-${text(p.verdict)}">${text(p.verdict)}</dd>
<dt>Proof</dt><dd data-field="proven">${proven}; summary record ${count(p.summaryRecord)}${p.roster !== undefined ? `, roster record ${count(p.roster)}` : ""}</dd></dl>
${table('class="sample-promises"', `<thead><tr><th>promise</th><th>outcome</th><th>observed</th><th>record</th></tr></thead>`, promises, "No promise of the control at that run.")}
</div>`;
}

export function samplePage(sample: AuditorSample): string {
  const controls = sample.controls.map(
    (c) => `<section class="sampled" data-control="${text(c.control)}">
<h3>${text(c.control)}: ${plural(c.picks.length, "evaluation")} picked from ${count(c.population)}</h3>
${c.picks.length > 0 ? c.picks.map((p, i) => pick(p, i + 1)).join("\n") : '<p class="none">No evaluation in the period to pick.</p>'}
</section>`,
  );
  return `<section class="page sample" id="sample" aria-labelledby="sample-title">
<h2 id="sample-title">The auditor's sample</h2>
<p>Up to ${plural(sample.size, "evaluation")} per control, picked reproducibly with the seed <code id="sample-seed">${text(sample.seed)}</code>: the same seed over the same period picks the same evaluations.</p>
${controls.length > 0 ? controls.join("\n") : '<p class="none">No control sampled.</p>'}
</section>`;
}

function anomalyRows(list: ClockAnomaly[]): string[] {
  return list.map(
    (a) => `<tr><td class="num">${count(a.previousRecord)}</td><td>${time(a.previousAt)}</td><td class="num">${count(a.record)}</td><td>${time(a.at)}</td><td>${a.deltaMs < 0 ? "back " : "ahead "}${duration(Math.abs(a.deltaMs))}</td></tr>`,
  );
}

export function clockPage(report: EvidenceReport): string {
  const c = report.clock;
  const head = `<thead><tr><th>record before</th><th>its time</th><th>record after</th><th>its time</th><th>step</th></tr></thead>`;
  return `<section class="page clock" id="clock" aria-labelledby="clock-title">
<h2 id="clock-title">The host's clock</h2>
<p>Every time in this report is the host's own clock, as each record wrote it (UTC). Nothing independent confirms it: a clock set wrong shifts the times, and a step back or a large jump is shown here so that the times around it are read with care.</p>
<h3>Steps back (${count(c.backwardSteps.length)})</h3>
${table('class="clock-steps"', head, anomalyRows(c.backwardSteps), "None: every record's time is at or after the one before it.")}
<h3>Jumps longer than ${duration(c.jumpThresholdMs)} while runs were expected (${count(c.jumps.length)})</h3>
${table('class="clock-jumps"', head, anomalyRows(c.jumps), "None.")}
</section>`;
}

export const WHAT_INTEGRITY_PROVES =
  "An intact chain proves that this report shows exactly what the host recorded: no record of the period was changed, removed, reordered or added afterwards without the host's key. " +
  "It does not prove that what the host recorded was true: a host whose root was compromised could record a lie. Only an independent copy of the history, such as the hub's, can catch that.";

export function integrityPage(report: EvidenceReport): string {
  const i = report.integrity;
  const head = (h: { seq: number; mac: string } | null) => (h ? `record ${count(h.seq)}, MAC <code>${text(h.mac)}</code>` : "none");
  const tampering = i.tampering
    ? `<dt>Tampering found</dt><dd class="bad">${text(i.tampering.kind)} at record ${count(i.tampering.seq)}: ${text(i.tampering.message)}</dd>`
    : "";
  const notes = i.notes.length > 0 ? `<ul class="notes">${i.notes.map((n) => `<li>${text(n)}</li>`).join("")}</ul>` : "";
  return `<section class="page integrity" id="integrity" aria-labelledby="integrity-title">
<h2 id="integrity-title">Integrity</h2>
<dl>
<dt>Verdict</dt><dd class="${i.verdict === "intact" ? "good" : "bad"}" data-field="verdict">${i.verdict === "intact" ? "intact" : "tampered"}</dd>
<dt>Records verified</dt><dd>${plural(i.records, "record")}${i.firstRecord !== null && i.lastRecord !== null ? `, ${count(i.firstRecord)} to ${count(i.lastRecord)}` : ""}</dd>
<dt>Head vouched for</dt><dd data-field="head">${head(i.head)}</dd>
<dt>Store's head when made</dt><dd>${head(i.storeHead)}</dd>
${tampering}
</dl>
${notes}
<p class="proves" id="what-it-proves">${text(WHAT_INTEGRITY_PROVES)}</p>
</section>`;
}
