// The fleet report as one self-contained HTML page (no script, nothing from outside: the CSP
// allows only its own style, the host report's, by its hash): the fleet's figures, each control
// across its hosts, and each host's chain as the hub judged it, its clock beside the hub's, and
// its episodes with both times. Every outside string (hostnames, control ids, reasons, messages)
// is escaped where it is written (report/report-html-text.ts). Each host's full report, as
// `covenant report` draws it, is in the evidence pack beside this page.
import { sha256 } from "../../report/map-html.js";
import { remediationWords } from "../../report/report-html-summary.js";
import { REPORT_STYLE } from "../../report/report-html-style.js";
import { count, duration, percent, plural, table, text, time } from "../../report/report-html-text.js";
import type { Episode } from "../../report/report-model.js";
import type { FleetControl, FleetHostSummary as FleetHost, FleetOverview, FleetReport, OffRecord } from "./fleet-model.js";
import { inDoubt, overviewOf } from "./fleet-report.js";

const FLEET_STYLE = `${REPORT_STYLE}
.both { display: block; font-size: 12px; color: var(--muted); }
.flag { color: var(--deficient); font-weight: 600; }
`;
const CSP = `default-src 'none'; style-src ${sha256(FLEET_STYLE)}; img-src data:; form-action 'none'; base-uri 'none'`;

/** The page as one string. */
export function renderFleetHtml(full: FleetReport | FleetOverview): string {
  const r = overviewOf(full);
  return [...fleetHtmlPieces(r, [r.hosts.map((h, i) => hostSectionHtml(r.clock.toleranceMs, h, i)).join("\n")])].join("");
}

/**
 * The page as pieces, the hosts' sections as given (hostSectionHtml of each, in the hosts' order,
 * joined by newlines, in any pieces): the evidence pack draws each host's section as the host is
 * read and keeps it in a scratch file, so that no host's episodes are held once it is drawn.
 */
export function* fleetHtmlPieces(r: FleetOverview, hostSections: Iterable<string | Buffer>): Generator<string | Buffer> {
  const scope = r.scope.group === null ? "the whole fleet" : `host group ${r.scope.group}`;
  const title = `Covenant fleet evidence report: ${scope}, ${r.period.from} to ${r.period.to}`;
  yield `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="${text(r.generator)}">
<title>${text(title)}</title>
<style>${FLEET_STYLE}</style>
</head>
<body>
<nav class="toc" aria-label="Contents"><a href="#summary">Summary</a><a href="#controls">Controls (${r.controls.length})</a><a href="#hosts">Hosts (${r.hosts.length})</a></nav>
<main>
${summarySection(r, title)}
${controlsSection(r)}
`;
  yield* hostSections;
  yield `
</main>
</body>
</html>
`;
}

function summarySection(r: FleetOverview, title: string): string {
  const s = r.summary;
  const zone = r.period.timeZone === null ? "the hub's time zone" : `time zone ${text(r.period.timeZone)}`;
  const figures: [string, string, string][] = [
    ["hosts", "Hosts", count(s.hosts)],
    ["hosts-in-doubt", "Chains in doubt", count(s.hostsInDoubt)],
    ["hosts-clock-ahead", "Hosts with clocks ahead of the hub's", count(s.hostsClockAhead)],
    ["controls", "Controls", count(s.controls)],
    ["evaluations", "Evaluations of controls", count(s.evaluations)],
    ["kept-share", "Kept", percent(s.keptShare)],
    ["episodes", "Episodes (deficiencies)", count(s.episodes)],
    ["gaps", "Gaps (not operating)", count(s.gaps)],
    ["open-at-end", "Open at the period's end", count(s.openAtEnd)],
    ["remediation", "Time to remediate", text(remediationWords(s.remediation))],
  ];
  const cells = figures.map(([id, label, value]) => `<div class="figure"><dt>${label}</dt><dd data-figure="${id}">${value}</dd></div>`).join("\n");
  return `<section class="page summary" id="summary">
<h1>${text(title)}</h1>
<dl>
<dt>Period</dt><dd>${text(r.period.from)} to ${text(r.period.to)}, both days included, in ${zone} (from ${time(r.period.start)} to before ${time(r.period.end)})</dd>
<dt>Scope</dt><dd>${r.scope.group === null ? "every host" : `the hosts of group <strong>${text(r.scope.group)}</strong>`}${r.scope.controls.length > 0 ? `; controls ${r.scope.controls.map(text).join(", ")}` : ""}</dd>
<dt>Made by</dt><dd>the hub whose key is ${text(r.hub.fingerprint)}, on ${time(r.generatedAt)}</dd>
<dt>Times</dt><dd>each time is the host's clock as its record says, with the hub's receive time beside it; records whose host time differs from the receive time by more than ${duration(r.clock.toleranceMs)} (hub.yaml clockTolerance) are flagged</dd>
</dl>
<dl class="figures" id="figures">
${cells}
</dl>
<ul class="notes">${r.notes.map((n) => `<li>${text(n)}</li>`).join("")}</ul>
</section>`;
}

function controlsSection(r: FleetOverview): string {
  return `<section class="page" id="controls">
<h2>Controls across the hosts</h2>
${r.controls.map(controlBlock).join("\n")}
</section>`;
}

function controlBlock(c: FleetControl, index: number): string {
  const d = c.design;
  const design = d
    ? `<p>${text(d.title)}${d.owner ? `; owner ${text(d.owner)}` : ""}; severity ${text(d.severity)}${d.key ? "; key control" : ""}${d.refs.length > 0 ? `; ${d.refs.map(text).join(", ")}` : ""}</p>`
    : `<p class="none">No stored policy version defines it: shown by id only.</p>`;
  const rows = c.hosts.map((h) => {
    const e = h.expected;
    const expected = e.count === null ? "unknown" : `${count(e.count)} (every ${duration(e.everyMs ?? 0)}, ${e.source})`;
    return `<tr data-host="${text(h.name)}"><td>${text(h.name)}</td><td>${count(h.evaluations)}</td><td>${expected}</td><td>${percent(h.keptShare)}</td><td>${count(h.gaps)}</td><td>${count(h.episodes)}</td><td>${count(h.openAtEnd)}</td><td>${count(h.repairs)}</td><td>${text(remediationWords(h.remediation))}</td></tr>`;
  });
  const t = c.totals;
  rows.push(`<tr class="totals"><th>all ${plural(t.hosts, "host")}</th><th>${count(t.evaluations)}</th><th></th><th>${percent(t.keptShare)}</th><th>${count(t.gaps)}</th><th>${count(t.episodes)}</th><th>${count(t.openAtEnd)}</th><th>${count(t.repairs)}</th><th>${text(remediationWords(t.remediation))}</th></tr>`);
  const head = "<thead><tr><th>host</th><th>evaluations</th><th>expected</th><th>kept</th><th>gaps</th><th>episodes</th><th>open at end</th><th>repairs</th><th>time to remediate</th></tr></thead>";
  return `<h3 id="fleet-control-${index + 1}">${text(c.id)}</h3>
${design}
${table(`class="fleet-control" data-control="${text(c.id)}"`, head, rows, "no host evaluated it")}`;
}

/** A host's time, and the hub's receive time of the same record beside it. */
function both(h: FleetHost, at: string, record: number | undefined): string {
  const received = record !== undefined ? h.received[String(record)] : undefined;
  return `${time(at)}<span class="both">hub received: ${received ? time(received) : "not held"}</span>`;
}

/** A host's section of the page (the `index`th host): its chain, clock and listed episodes. */
export function hostSectionHtml(toleranceMs: number, h: FleetHost, index: number): string {
  const c = h.chain;
  const verdict = inDoubt(h)
    ? `<p class="verdict tampered" data-chain="doubt"><strong>Chain in doubt.</strong> The hub's status for this host is ${text(c.status)}; its chain over the period's records is ${c.verdict}${c.problem ? ` (record ${count(c.problem.seq)}: ${text(c.problem.message)})` : ""}; ${plural(c.incidents.filter((i) => i.kind !== "clock").length, "chain incident")} in the period.</p>`
    : `<p class="verdict intact" data-chain="ok"><strong>Chain intact as the hub holds it.</strong> ${plural(c.records, "record")} of the period (${c.first ?? "-"} to ${c.last ?? "-"}) link into the hub's chain; no fork, rollback or gap.</p>`;
  const incidents = c.incidents.map((i) => `<tr><td>${count(i.id)}</td><td>${text(i.kind)}</td><td>${i.seq === null ? "" : count(i.seq)}</td><td>${time(i.openedAt)}</td><td>${i.resolvedAt ? `${time(i.resolvedAt)} (${text(i.resolvedBy ?? "")})` : "open"}</td><td>${text(i.message)}</td></tr>`);
  // the summary lists open ones first, then the most recent: a page to read, the rest in the host's own report
  const episodes = h.deficiencies.map(({ control, episode }) => episodeRow(h, control, episode));
  const more = h.deficiencyCount > h.deficiencies.length ? `<p class="none">${plural(h.deficiencyCount - h.deficiencies.length, "more episode")} in this host's own report (reports/hosts/${text(h.id)}.html in the pack) and in the JSON.</p>` : "";
  return `<section class="page host" id="host-${index + 1}" data-host="${text(h.name)}">
<h2>${index === 0 ? '<a id="hosts"></a>' : ""}Host ${text(h.name)}</h2>
<dl><dt>Id</dt><dd><code>${text(h.id)}</code></dd><dt>Group</dt><dd>${h.group === null ? "none" : text(h.group)}</dd><dt>Enrolled</dt><dd>${time(h.enrolledAt)}${h.revokedAt ? `; revoked ${time(h.revokedAt)}` : ""}</dd><dt>Epoch</dt><dd>${count(c.epoch)}</dd></dl>
${verdict}
<h3>Incidents in the period</h3>
${table('class="incidents"', "<thead><tr><th>#</th><th>kind</th><th>record</th><th>opened (hub)</th><th>resolved</th><th>what</th></tr></thead>", incidents, "none")}
${clockBlock(toleranceMs, h)}
<h3>Exceptions (episodes), host time and hub receive time</h3>
${table('class="episodes"', "<thead><tr><th>control</th><th>promise</th><th>outcome</th><th>opened</th><th>resolved</th><th>reason</th></tr></thead>", episodes, "no deficiency in the period")}
${more}
</section>`;
}

function episodeRow(h: FleetHost, control: string, e: Episode): string {
  const resolved = e.resolved ? both(h, e.resolved, e.resolvedRecord) : "open";
  return `<tr><td>${text(control)}</td><td>${text(e.promise)}</td><td>${text(e.outcome)}${e.repaired ? " (repaired)" : ""}</td><td>${both(h, e.opened, e.openedRecord)}</td><td>${resolved}</td><td>${text(e.reason)}</td></tr>`;
}

function offRows(list: readonly OffRecord[]): string[] {
  return list.map((o) => `<tr><td>${count(o.record)}</td><td>${time(o.hostTime)}</td><td>${time(o.receivedAt)}</td><td class="flag">${o.deltaMs > 0 ? "+" : ""}${duration(o.deltaMs)}</td></tr>`);
}

function clockBlock(toleranceMs: number, h: FleetHost): string {
  const k = h.clock;
  const hc = h.hostClock;
  const head = "<thead><tr><th>record</th><th>host time</th><th>hub received</th><th>host minus hub</th></tr></thead>";
  const steps = hc.backwardSteps.map((a) => `<tr><td>${count(a.record)}</td><td>${both(h, a.previousAt, a.previousRecord)}</td><td>${both(h, a.at, a.record)}</td><td>${duration(a.deltaMs)}</td></tr>`);
  return `<h3>Clock: the host's beside the hub's</h3>
<p data-clock="ahead">${k.ahead.count > 0 ? `<span class="flag">${plural(k.ahead.count, "record")} carry a host time later than the hub received them by more than ${duration(toleranceMs)}</span> (worst ${duration(k.ahead.worstMs ?? 0)}): the host's clock was ahead.` : `No record carries a host time later than the hub received it by more than ${duration(toleranceMs)}.`}
${k.behind.count > 0 ? ` ${plural(k.behind.count, "record")} reached the hub more than ${duration(toleranceMs)} after their host time (worst ${duration(-(k.behind.worstMs ?? 0))}): sent late, or the host's clock behind.` : ""}
Skew at the last push: ${k.lastPushSkewMs === null ? "none recorded" : duration(k.lastPushSkewMs)}.</p>
${k.ahead.count > 0 ? table('class="clock-ahead"', head, offRows(k.ahead.list), "") : ""}
${k.behind.count > 0 ? table('class="clock-behind"', head, offRows(k.behind.list), "") : ""}
<h4>The host's clock stepping back (${count(hc.backwardCount)}) and jumping more than ${duration(hc.jumpThresholdMs)} (${count(hc.jumpCount)})</h4>
${table('class="clock-steps"', "<thead><tr><th>record</th><th>before</th><th>after</th><th>step</th></tr></thead>", steps, "no step back")}`;
}
