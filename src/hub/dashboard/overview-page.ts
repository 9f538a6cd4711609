// The fleet overview (GET /ui) and its figures as JSON (GET /api/overview), both from
// overview-data.ts: verdicts per control and per host group, open deficiencies with their age and
// who was told, hosts not reporting, chains in doubt; filtered by owner, severity, framework ref
// and host group with a GET form, paged with links. No script: the filters are a form, the chart
// is SVG.
import { outcomeOrder } from "../../evaluator/outcomes.js";
import type { Answer, Call, Handler } from "../server/api/registry.js";
import { legend, verdictBar } from "./chart.js";
import { html, type Safe } from "./html.js";
import { fleetOverview, readFilters, type Overview } from "./overview-data.js";
import { controlLink, count, duration, frameOf, hostLink, page, pager, queryOf, when } from "./page-parts.js";

function select(name: string, label: string, choices: readonly string[], chosen: string | undefined): Safe {
  return html`<label>${label}<select name="${name}"><option value="">any</option>${choices.map((c) => (c === chosen ? html`<option selected>${c}</option>` : html`<option>${c}</option>`))}</select></label>`;
}

function filters(o: Overview): Safe {
  const f = o.filters;
  return html`<form class="filters" method="get" action="/ui">${select("owner", "Owner", o.choices.owners, f.owner)}${select("severity", "Severity", o.choices.severities, f.severity)}
<label>Framework ref<input name="ref" value="${f.ref ?? ""}" placeholder="SOX-ITGC-AC" maxlength="128"></label>${select("group", "Host group", o.choices.groups, f.group)}
<button type="submit">Filter</button> <a href="/ui">clear</a></form>`;
}

function card(figure: number, label: string, bad = false): Safe {
  return html`<div class="card${bad && figure > 0 ? " bad" : ""}"><span class="figure">${count(figure)}</span><span class="label">${label}</span></div>`;
}

function cards(o: Overview): Safe {
  const t = o.totals;
  return html`<div class="cards">${card(t.hosts, "hosts")}${card(t.deficientVerdicts, "deficient verdicts (host × control)", true)}${card(t.openDeficiencies, "open deficiencies", true)}${card(t.silent, "hosts not reporting", true)}${card(t.inDoubt, "chains in doubt", true)}</div>
<p>${verdictBar(t.verdicts, 600, 16)}</p>${legend()}`;
}

const outcomeHeads = (): Safe => html`${outcomeOrder.map((o) => html`<th class="n o-${o}">${o}</th>`)}`;
const outcomeCells = (c: Overview["totals"]["verdicts"]): Safe => html`${outcomeOrder.map((o) => html`<td class="n${c[o] > 0 ? ` o-${o}` : ""}">${count(c[o])}</td>`)}`;

function controlsTable(o: Overview, query: Record<string, string>): Safe {
  const c = o.controls;
  if (c.total === 0) return html`<p class="muted">No verdicts within reach${o.filters.owner || o.filters.severity || o.filters.ref || o.filters.group ? " and these filters" : ""}.</p>`;
  const rows = c.rows.map(
    (r) => html`<tr><td>${controlLink(r.control)}${r.key ? html` <span class="muted" title="key control">★</span>` : ""}</td><td>${r.title ?? ""}</td><td>${r.owner ?? ""}</td><td>${r.severity ?? ""}</td>
<td>${verdictBar(r.counts)}</td>${outcomeCells(r.counts)}<td class="n">${count(r.hosts)}</td></tr>`,
  );
  return html`<table id="controls"><thead><tr><th>control</th><th>title</th><th>owner</th><th>severity</th><th>verdicts</th>${outcomeHeads()}<th class="n">hosts</th></tr></thead><tbody>${rows}</tbody></table>
${pager("/ui", query, { page: c.page, size: c.size, total: c.total })}`;
}

function groupsTable(o: Overview): Safe {
  const rows = o.groups.map(
    (g) => html`<tr><td>${g.group === null ? html`<span class="muted">(no group)</span>` : html`<a href="/ui/hosts?group=${encodeURIComponent(g.group)}">${g.group}</a>`}</td><td class="n">${count(g.hosts)}</td>
<td>${verdictBar(g.counts)}</td>${outcomeCells(g.counts)}</tr>`,
  );
  return html`<table id="groups"><thead><tr><th>host group</th><th class="n">hosts</th><th>verdicts</th>${outcomeHeads()}</tr></thead><tbody>${rows}</tbody></table>`;
}

function deficienciesTable(o: Overview): Safe {
  const d = o.deficiencies;
  if (d.total === 0) return html`<p class="muted">None open.</p>`;
  const rows = d.rows.map((r) => {
    const told = r.told.length ? html`${r.told.map((t, i) => html`${i ? ", " : ""}${t.recipient}${t.lastSentAt ? html` <span class="muted">(${when(t.lastSentAt)})</span>` : ""}`)}` : html`<span class="muted">nobody yet</span>`;
    return html`<tr><td>${r.id}</td><td>${r.kind}</td><td>${hostLink(r.hostId, r.host)}</td><td>${r.kind === "mass-drift" ? controlLink(r.control) : r.control ?? ""}</td><td class="o-${r.outcome}">${r.outcome}</td><td>${r.reason}</td><td>${duration(r.ageMs)}</td><td>${told}</td></tr>`;
  });
  return html`<table id="deficiencies"><thead><tr><th>id</th><th>kind</th><th>host</th><th>control</th><th>outcome</th><th>why</th><th>age</th><th>who was told</th></tr></thead><tbody>${rows}</tbody></table>
${d.total > d.rows.length ? html`<p class="muted">The ${d.rows.length} oldest of ${count(d.total)}.</p>` : ""}`;
}

function silentTable(o: Overview): Safe {
  const s = o.silent;
  if (s.total === 0) return html`<p class="muted">Every host in reach reports on its cadence.</p>`;
  const rows = s.rows.map((r) => html`<tr><td>${hostLink(r.hostId, r.host)}</td><td>${r.group ?? ""}</td><td>${when(r.lastPushAt, "never")}</td><td>${when(r.openedAt)}</td></tr>`);
  return html`<table id="silent"><thead><tr><th>host</th><th>group</th><th>last push</th><th>silent since (judged)</th></tr></thead><tbody>${rows}</tbody></table>
${s.total > s.rows.length ? html`<p><a href="/ui/hosts?silent=1">All ${count(s.total)} hosts not reporting</a></p>` : ""}`;
}

function doubtTable(o: Overview): Safe {
  const d = o.inDoubt;
  if (d.total === 0) return html`<p class="muted">No chain in doubt.</p>`;
  const rows = d.rows.map((r) => html`<tr><td>${hostLink(r.hostId, r.host)}</td><td>${r.group ?? ""}</td><td class="chain-${r.chainStatus}">${r.chainStatus}</td><td>${r.incidents.join(", ")}</td></tr>`);
  return html`<table id="doubt"><thead><tr><th>host</th><th>group</th><th>chain</th><th>open incidents</th></tr></thead><tbody>${rows}</tbody></table>
${d.total > d.rows.length ? html`<p><a href="/ui/hosts?chain=doubt">All ${count(d.total)} hosts in doubt</a></p>` : ""}`;
}

async function overviewPage(call: Call): Promise<Answer> {
  const query = queryOf(call);
  const f = readFilters(query);
  const o = await fleetOverview(call.deps.pool, call.access!, f, call.deps.log, call.deps.now());
  const asOf = `Verdicts counted at ${o.asOf.slice(0, 19).replace("T", " ")} UTC${o.recounting ? " (pushes since: recounting)" : ""}; deficiencies and hosts as of now.`;
  const body = html`${filters(o)}${cards(o)}
<h2>Verdicts by control</h2><p class="muted">Each host's verdict on a control is the worst outcome of the control's promises there; controls with deficient verdicts first.</p>${controlsTable(o, query)}
<h2>Verdicts by host group</h2>${groupsTable(o)}
<h2>Open deficiencies</h2>${deficienciesTable(o)}
<h2>Hosts not reporting</h2>${silentTable(o)}
<h2>Chains in doubt</h2>${doubtTable(o)}`;
  return page({ ...frameOf(call), title: "Fleet overview", section: "overview", subtitle: asOf, body });
}

async function overviewApi(call: Call): Promise<Answer> {
  const o = await fleetOverview(call.deps.pool, call.access!, readFilters(queryOf(call)), call.deps.log, call.deps.now());
  return { status: 200, body: o };
}

export const overviewHandlers: Record<string, Handler> = {
  "ui.overview": overviewPage,
  "fleet.overview": overviewApi,
};
