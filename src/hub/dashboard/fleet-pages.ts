// The hosts list (GET /ui/hosts) and the incidents list (GET /ui/incidents, with a resolve form
// for those whose roles may resolve), a page at a time, held to the viewer's reach as the API's
// lists are (operations their groups' hosts; a control owner every host).
import { accessFor, accessParams } from "../auth/access.js";
import { findRule } from "../auth/rules.js";
import { AccessInputError } from "../auth/users.js";
import type { Answer, Call, Handler } from "../server/api/registry.js";
import { reasonOf, resolveIncident } from "../server/api/fleet-routes.js";
import { html, type Safe } from "./html.js";
import { frameOf, hostLink, page, pager, queryOf, when, withQuery } from "./page-parts.js";

const PAGE_SIZE = 100;
const CHAIN = ["ok", "doubt", "fork", "rollback", "gap"] as const;
const GROUP = /^[A-Za-z0-9][A-Za-z0-9._:@ -]{0,127}$/;

function pageNumber(q: Record<string, string>): number {
  return Math.max(1, Math.min(100_000, Number.parseInt(q["page"] ?? "1", 10) || 1));
}

interface HostFilters {
  group?: string;
  chain?: (typeof CHAIN)[number];
  silent: boolean;
}

function hostFilters(q: Record<string, string>): HostFilters {
  const f: HostFilters = { silent: q["silent"] === "1" };
  if (q["group"]) {
    if (!GROUP.test(q["group"])) throw new AccessInputError("group is a host group's name");
    f.group = q["group"];
  }
  if (q["chain"]) {
    if (!(CHAIN as readonly string[]).includes(q["chain"])) throw new AccessInputError(`chain is one of ${CHAIN.join(", ")}`);
    f.chain = q["chain"] as HostFilters["chain"];
  }
  return f;
}

function hostFilterForm(f: HostFilters, groups: string[]): Safe {
  const opt = (v: string, chosen: string | undefined) => (v === chosen ? html`<option selected>${v}</option>` : html`<option>${v}</option>`);
  return html`<form class="filters" method="get" action="/ui/hosts">
<label>Host group<select name="group"><option value="">any</option>${groups.map((g) => opt(g, f.group))}</select></label>
<label>Chain<select name="chain"><option value="">any</option>${CHAIN.map((c) => opt(c, f.chain))}</select></label>
<label>Not reporting<select name="silent"><option value="">any</option>${f.silent ? html`<option value="1" selected>only</option>` : html`<option value="1">only</option>`}</select></label>
<button type="submit">Filter</button> <a href="/ui/hosts">clear</a></form>`;
}

async function hostsPage(call: Call): Promise<Answer> {
  const q = queryOf(call);
  const f = hostFilters(q);
  const n = pageNumber(q);
  const [allHosts, groups] = accessParams(call.access!);
  const pool = call.deps.pool;
  const [rows, groupChoices] = await Promise.all([
    pool.query<{ id: string; name: string; host_group: string | null; last_push_at: Date | null; chain_status: string; revoked_at: Date | null; policy_content: string | null; silent: boolean }>(
      `SELECT h.id, h.name, h.host_group, h.last_push_at, h.chain_status, h.revoked_at, h.policy_content,
         EXISTS (SELECT 1 FROM hub_fleet_deficiencies d WHERE d.host_id = h.id AND d.status = 'open' AND d.kind = 'silent') AS silent
       FROM hub_hosts h WHERE ($1 OR h.host_group = ANY($2::text[])) AND ($3::text IS NULL OR h.host_group = $3)
         AND ($4::text IS NULL OR ($4 = 'doubt' AND (h.chain_status <> 'ok' OR h.id IN (SELECT host_id FROM hub_incidents WHERE resolved_at IS NULL AND kind <> 'clock'))) OR h.chain_status = $4)
         AND (NOT $5 OR EXISTS (SELECT 1 FROM hub_fleet_deficiencies d WHERE d.host_id = h.id AND d.status = 'open' AND d.kind = 'silent'))
       ORDER BY h.name, h.id LIMIT $6 OFFSET $7`,
      [allHosts, groups, f.group ?? null, f.chain ?? null, f.silent, PAGE_SIZE + 1, (n - 1) * PAGE_SIZE],
    ),
    pool.query<{ g: string }>("SELECT DISTINCT host_group AS g FROM hub_hosts WHERE host_group IS NOT NULL AND ($1 OR host_group = ANY($2::text[])) ORDER BY 1 LIMIT 500", [allHosts, groups]),
  ]);
  const shown = rows.rows.slice(0, PAGE_SIZE);
  const body = html`${hostFilterForm(f, groupChoices.rows.map((g) => g.g))}
<table id="hosts"><thead><tr><th>host</th><th>group</th><th>last push</th><th>chain</th><th>reporting</th><th>policy</th><th>enrolment</th></tr></thead><tbody>
${shown.map((h) => html`<tr><td>${hostLink(h.id, h.name)}</td><td>${h.host_group ?? ""}</td><td>${when(h.last_push_at, "never")}</td><td class="chain-${h.chain_status}">${h.chain_status}</td>
<td>${h.silent ? html`<span class="o-failed">not reporting</span>` : "yes"}</td><td>${h.policy_content ? h.policy_content.slice(0, 12) : ""}</td><td>${h.revoked_at ? html`revoked ${when(h.revoked_at)}` : "enrolled"}</td></tr>`)}
</tbody></table>${shown.length === 0 ? html`<p class="muted">No host within reach and these filters.</p>` : ""}
${pager("/ui/hosts", { group: f.group, chain: f.chain, silent: f.silent ? "1" : undefined }, { page: n, more: rows.rows.length > PAGE_SIZE })}`;
  return page({ ...frameOf(call), title: "Hosts", section: "hosts", body });
}

function resolveForm(id: number, csrf: string): Safe {
  return html`<form method="post" action="/ui/incidents/${id}/resolve"><input type="hidden" name="_csrf" value="${csrf}">
<input name="reason" required maxlength="500" placeholder="why it is resolved" aria-label="reason"><button type="submit">Resolve</button></form>`;
}

async function incidentsPage(call: Call): Promise<Answer> {
  const q = queryOf(call);
  const n = pageNumber(q);
  const [allHosts, groups] = accessParams(call.access!);
  const rows = await call.deps.pool.query<{ id: number; host: string; name: string; host_group: string | null; kind: string; message: string; opened_at: Date; last_seen_at: Date; seen: number; resolved_at: Date | null; resolved_by: string | null }>(
    `SELECT i.id::int AS id, i.host_id AS host, h.name, h.host_group, i.kind, i.message, i.opened_at, i.last_seen_at, i.seen, i.resolved_at, i.resolved_by
     FROM hub_incidents i JOIN hub_hosts h ON h.id = i.host_id WHERE $1 OR h.host_group = ANY($2::text[])
     ORDER BY i.resolved_at IS NOT NULL, i.opened_at DESC, i.id DESC LIMIT $3 OFFSET $4`,
    [allHosts, groups, PAGE_SIZE + 1, (n - 1) * PAGE_SIZE],
  );
  const resolveRule = findRule("POST", "/ui/incidents/:incident/resolve");
  const mayResolve = resolveRule !== undefined && accessFor(resolveRule, call.principal!.grants) !== undefined;
  const shown = rows.rows.slice(0, PAGE_SIZE);
  const body = html`<table id="incidents"><thead><tr><th>#</th><th>host</th><th>group</th><th>kind</th><th>what</th><th>opened</th><th>last seen</th><th class="n">seen</th><th>state</th></tr></thead><tbody>
${shown.map((i) => html`<tr><td>${i.id}</td><td>${hostLink(i.host, i.name)}</td><td>${i.host_group ?? ""}</td><td>${i.kind}</td><td>${i.message}</td><td>${when(i.opened_at)}</td><td>${when(i.last_seen_at)}</td><td class="n">${i.seen}</td>
<td class="actions">${i.resolved_at ? html`resolved by ${i.resolved_by ?? "?"} ${when(i.resolved_at)}` : mayResolve ? resolveForm(i.id, call.csrf ?? "") : html`<strong>open</strong>`}</td></tr>`)}
</tbody></table>${shown.length === 0 ? html`<p class="muted">No incident within reach.</p>` : ""}
${pager("/ui/incidents", {}, { page: n, more: rows.rows.length > PAGE_SIZE })}`;
  return page({ ...frameOf(call), title: "Incidents", section: "incidents", body });
}

async function incidentResolve(call: Call): Promise<Answer> {
  await resolveIncident(call.deps.pool, call.params["incident"]!, call.principal!.name, reasonOf(call));
  return { status: 303, headers: { location: withQuery("/ui/incidents", {}) } };
}

export const fleetPageHandlers: Record<string, Handler> = {
  "ui.hosts": hostsPage,
  "ui.incidents": incidentsPage,
  "ui.incidents.resolve": incidentResolve,
};
