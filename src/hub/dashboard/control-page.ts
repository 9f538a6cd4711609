// The dashboard's page of one control, drawn from the same view GET /api/controls/:control sends
// (server/views/control-view.ts): its design (the catalogue, the promises and the control as the
// policy text writes them), the policy versions that defined it and the hosts that adopted each,
// how each host stands now, the fleet's daily chart over the period (inline SVG drawn here by the
// evidence report's complianceChart), the episodes (paged), integrity approvals and unapproved
// integrity changes, and the waivers. No script: the period is a GET form, the pages are links.
import { complianceChart, type ChartUnit } from "../../report/report-html-chart.js";
import { count, plural, preText, shortHash } from "../../report/report-html-text.js";
import type { ControlView, IntegrityItem } from "../server/views/control-view.js";
import type { ControlVersion } from "../server/views/control-design.js";
import { html, raw, type Safe } from "./html.js";
import { duration, hostLink, outcome, pager, tableOr, when } from "./page-parts.js";

const HOSTS: ChartUnit = {
  one: "host",
  many: "hosts",
  caption: "Hosts per day, the most hosts at the top: each host counted once, deficient if any promise of the control was deficient at some moment of the day (a red mark under the day).",
};
/** The most hosts' current outcomes listed on the page (the JSON lists every one). */
const OUTCOMES_LISTED = 200;

function design(v: ControlView): Safe {
  const c = v.design.catalogue;
  const facts = c
    ? html`<dl class="design"><dt>title</dt><dd>${c.title}</dd><dt>description</dt><dd>${c.description === null ? "—" : raw(preText(c.description))}</dd><dt>owner</dt><dd>${v.owner ?? "none named"}</dd>
<dt>severity</dt><dd>${c.severity}</dd><dt>key control</dt><dd>${c.key ? "yes" : "no"}</dd><dt>framework refs</dt><dd>${c.refs.length ? c.refs.join(", ") : "none"}</dd>
<dt>promises</dt><dd>${count(c.promises)}</dd><dt>as defined by</dt><dd>${raw(shortHash(c.content))}</dd></dl>`
    : html`<p class="muted">The catalogue has no design for this control: no policy the hub has seen defines it.${v.owner !== null && html` Its owner, set on the hub: ${v.owner}.`}</p>`;
  const promises = v.design.promises.map((p) => html`<tr><td><code>${p.key}</code></td><td>${p.type}</td><td class="free">${p.promiser}</td><td>${p.file}:${p.line}</td><td><pre>${raw(preText(p.text))}</pre></td></tr>`);
  return html`<section id="design"><h2>Design</h2>${facts}
<h3>Promises as written</h3>${tableOr(html`class="promises"`, ["key", "type", "promiser", "where", "text"], promises, "The hub has no text of the policy that defines it.")}
${v.design.text !== null && html`<details><summary>The control as written</summary><pre class="control-text">${raw(preText(v.design.text))}</pre></details>`}
${v.design.problems.map((p) => html`<p class="warning">The policy ${raw(shortHash(p.content))}: ${p.problem}.</p>`)}</section>`;
}

function versionRow(ver: ControlVersion): Safe {
  const published = ver.published.map(
    (p) => html`<li>version ${p.id}${p.group !== null && html` (group ${p.group})`}: ${p.message}, by ${p.author} ${when(p.publishedAt)}; ${p.status}${p.decidedBy !== null && html` by ${p.decidedBy} ${when(p.decidedAt)}`}${p.inForce.map((f) => html`; <strong>in force</strong> for ${f.group === "" ? "hosts in no group" : html`group ${f.group}`} since ${when(f.since)}`)}</li>`,
  );
  const adopted = ver.adoptions.map((a) => html`<li>${hostLink(a.host, a.hostName)} at ${when(a.at)} (host clock), received ${when(a.receivedAt)}${a.current ? " · runs it now" : ""}</li>`);
  return html`<tr class="version"><td>${raw(shortHash(ver.content))}</td><td>${when(ver.firstSeen)}</td><td>${ver.changed ? "changed" : "same"}</td>
<td>${published.length ? html`<ul>${published}</ul>` : html`<span class="muted">not published on the hub (a host's own policy)</span>`}</td>
<td>${plural(ver.adoptedBy, "host")}${adopted.length > 0 && html`<ul>${adopted}</ul>`}${ver.adoptedBy > ver.adoptions.length && html`<p class="listed">the first ${ver.adoptions.length} listed</p>`}</td></tr>`;
}

function versions(v: ControlView): Safe {
  return html`<section id="versions"><h2>Policy versions</h2>
<p>Each policy content that defined the control, oldest first: whether the control's text changed from the one before, the versions published on the hub with it, and the hosts that adopted it (their first run on it).</p>
${tableOr(html`class="versions"`, ["content", "first seen", "the control", "published", "adopted by"], v.design.versions.map(versionRow), "No policy the hub has seen defines this control.")}</section>`;
}

function hostsNow(v: ControlView): Safe {
  const rows = v.outcomes.slice(0, OUTCOMES_LISTED).map((o) => html`<tr><td>${hostLink(o.host, o.hostName)}</td><td>${o.group ?? "—"}</td><td><code>${o.key}</code></td><td>${outcome(o.outcome)}</td><td>${when(o.since)}</td><td class="free">${o.reason}</td></tr>`);
  return html`<section id="hosts"><h2>On the hosts now</h2>
<p class="figures"><strong>${count(v.hosts.kept)}</strong> kept · <strong>${count(v.hosts.deficient)}</strong> deficient · <strong>${count(v.hosts.other)}</strong> other, of ${plural(v.hosts.total, "host")}</p>
${tableOr(html`class="outcomes"`, ["host", "group", "promise", "outcome", "since (host clock)", "reason"], rows, "No host has reported this control.")}
${v.outcomes.length > OUTCOMES_LISTED && html`<p class="listed">The first ${OUTCOMES_LISTED} of ${count(v.outcomes.length)} promises listed (by host name); the JSON lists every one.</p>`}</section>`;
}

function history(v: ControlView, path: string): Safe {
  return html`<section id="history"><h2>Outcome history</h2>
<form method="get" action="${path}" class="period"><label>from <input type="date" name="from" value="${v.period.from}"></label> <label>to <input type="date" name="to" value="${v.period.to}"></label> <button type="submit">Show</button></form>
${raw(complianceChart("fleet", v.control, v.chart, HOSTS))}
<p class="computed">How it is computed: ${v.period.computed}.</p></section>`;
}

function episodeRow(e: ControlView["episodes"]["items"][number]): Safe {
  return html`<tr class="episode${e.resolved === null ? " open" : ""}"><td>${hostLink(e.host, e.hostName)}</td><td><code>${e.promise}</code><br><span class="free">${e.reason}</span></td>
<td>${when(e.opened)}<br><span class="rec">#${count(e.openedRecord)}, received ${when(e.openedReceivedAt)}</span></td>
<td>${e.resolved === null ? html`<strong class="bad">open</strong>` : html`${when(e.resolved)} (${e.resolvedBy ?? ""})<br><span class="rec">#${count(e.resolvedRecord ?? 0)}, received ${when(e.resolvedReceivedAt)}</span>`}</td>
<td>${duration(e.durationMs)}</td><td>${outcome(e.outcome)}${e.notice ? " (notice)" : ""}</td></tr>`;
}

function episodes(v: ControlView, path: string, query: Record<string, string>): Safe {
  const e = v.episodes;
  return html`<section id="episodes"><h2>Exceptions</h2>
<p>${plural(e.total, "episode")} in the period (${count(e.open)} still open): each host and promise, from the deficient outcome that opened it to the outcome that resolved it, by the host's clock, with the hub's receive time of each record.</p>
${tableOr(html`class="episodes"`, ["host", "promise, what differed", "opened", "resolved", "duration", "outcome"], e.items.map(episodeRow), "None: no deficiency in the period.")}
${pager(path, query, { page: e.page, size: e.size, total: e.total })}</section>`;
}

function integrityRow(i: IntegrityItem, approved: boolean): Safe {
  const d = i.detail as { how?: string; by?: string; reason?: string; paths?: number | string[]; sample?: string[]; kinds?: string[] };
  const paths = approved ? (d.sample ?? []) : Array.isArray(d.paths) ? d.paths : [];
  const what = approved ? html`${d.how ?? ""}${d.by !== undefined && html` by ${d.by}`}${d.reason !== undefined && html`: ${d.reason}`}` : html`<code>${i.promise ?? ""}</code> ${(d.kinds ?? []).join(", ")}`;
  return html`<tr><td>${hostLink(i.host, i.hostName)}</td><td>${when(i.at)}<br><span class="rec">#${count(i.record)}, received ${when(i.receivedAt)}</span></td><td class="free">${what}</td>
<td class="free">${approved && typeof d.paths === "number" && html`${plural(d.paths, "path")}: `}${paths.join(", ")}</td></tr>`;
}

function integrity(v: ControlView): Safe {
  const head = ["host", "at (host clock)", "what", "paths"];
  return html`<section id="integrity"><h2>Integrity changes</h2>
<h3>Approved</h3>${tableOr(html`class="approved"`, head, v.integrity.approved.map((i) => integrityRow(i, true)), "None in the period.")}
<h3>Not approved</h3>${tableOr(html`class="unapproved"`, head, v.integrity.unapproved.map((i) => integrityRow(i, false)), "None in the period.")}</section>`;
}

function hubWaiverRow(w: ControlView["waivers"]["hub"]["items"][number]): Safe {
  const state = w.state === "applied" ? html`applied (record ${w.hostRecord})` : w.state === "refused" ? html`refused: ${w.hostReason ?? ""}` : html`${w.state}`;
  return html`<tr><td>${hostLink(w.host, w.hostName)}</td><td>${w.from ?? "—"}</td><td>${w.until}</td><td class="free">${w.reason}</td><td>${w.givenBy}</td><td>${when(w.givenAt)}</td><td>${state}</td></tr>`;
}

function waivers(v: ControlView, waiveForm: Safe | undefined): Safe {
  const rows = v.waivers.policy.map((w) => html`<tr><td class="free">${w.reason}</td><td>${w.approvedBy}</td><td>${w.from ?? "—"}</td><td>${w.until}</td><td>${w.risk ?? "—"}</td><td>${w.ticket ?? "—"}</td></tr>`);
  return html`<section id="waivers"><h2>Waivers</h2>
<h3>In the policy</h3>${tableOr(html`class="waivers"`, ["reason", "approved by", "from", "until", "risk", "ticket"], rows, "The policy declares no waiver of this control.")}
<h3>Given on the hub</h3>
<p>Waivers given on the hub for one host each (a group's waiver is one per host), with what the host made of each: pending until a push reply carries it, then applied (the host's record number) or refused (the host's reason).${v.waivers.hub.total > v.waivers.hub.items.length && html` The ${count(v.waivers.hub.items.length)} newest of ${count(v.waivers.hub.total)}.`}</p>
${tableOr(html`class="hub-waivers" id="hub-waivers"`, ["host", "from", "until", "reason", "given by", "given", "state"], v.waivers.hub.items.map(hubWaiverRow), "No waiver of this control was given on the hub.")}
${waiveForm !== undefined && html`<h3>Waive it on a host group</h3>${waiveForm}`}</section>`;
}

/** The page's body; `query` is the request's, kept in the episodes' page links; `waiveForm` for those who may waive the control. */
export function controlPageBody(v: ControlView, query: Record<string, string>, waiveForm?: Safe): Safe {
  const path = `/ui/controls/${encodeURIComponent(v.control)}`;
  const title = v.design.catalogue?.title;
  return html`<p class="subtitle"><code>${v.control}</code>${title !== undefined && html` · ${title}`}</p>
<nav class="toc" aria-label="on this page"><a href="#design">design</a> <a href="#versions">versions</a> <a href="#hosts">hosts</a> <a href="#history">history</a> <a href="#episodes">exceptions</a> <a href="#integrity">integrity</a> <a href="#waivers">waivers</a></nav>
${design(v)}${versions(v)}${hostsNow(v)}${history(v, path)}${episodes(v, path, query)}${integrity(v)}${waivers(v, waiveForm)}`;
}
