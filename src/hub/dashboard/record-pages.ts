// The policy versions (GET /ui/policies, with approve and reject forms for an approver, never on a
// version they wrote: the hub refuses that anyway, separation of duties) and the hub's audit log
// (GET /ui/audit, administrators and auditors, newest first, a page at a time).
import { accessFor } from "../auth/access.js";
import { findRule } from "../auth/rules.js";
import { AccessInputError } from "../auth/users.js";
import { decideVersion, listVersions, type VersionSummary } from "../policy/versions.js";
import type { Answer, Call, Handler } from "../server/api/registry.js";
import { html, type Safe } from "./html.js";
import { frameOf, page, queryOf, when, withQuery } from "./page-parts.js";

const AUDIT_PAGE = 100;

function may(call: Call, method: "POST", path: string): boolean {
  const rule = findRule(method, path);
  return rule !== undefined && accessFor(rule, call.principal!.grants) !== undefined;
}

function decisionForms(v: VersionSummary, csrf: string): Safe {
  return html`<form method="post" action="/ui/policies/${v.id}/approve"><input type="hidden" name="_csrf" value="${csrf}"><input name="reason" maxlength="500" placeholder="note (optional)" aria-label="approval note"><button type="submit">Approve</button></form>
<form method="post" action="/ui/policies/${v.id}/reject"><input type="hidden" name="_csrf" value="${csrf}"><input name="reason" required maxlength="500" placeholder="why not" aria-label="rejection reason"><button type="submit">Reject</button></form>`;
}

function decision(v: VersionSummary, call: Call, mayDecide: boolean): Safe {
  if (v.status !== "pending") return html`${v.status} by ${v.decidedBy ?? "?"} ${when(v.decidedAt)}${v.reason ? html`: ${v.reason}` : ""}`;
  if (!mayDecide) return html`<strong>pending</strong>`;
  if (v.author === call.principal!.name) return html`<strong>pending</strong> <span class="muted">(yours: another approver decides)</span>`;
  return decisionForms(v, call.csrf ?? "");
}

async function policiesPage(call: Call): Promise<Answer> {
  const versions = await listVersions(call.deps.pool);
  const mayDecide = may(call, "POST", "/ui/policies/:policy/approve");
  const body = html`<table id="policies"><thead><tr><th>#</th><th>published</th><th>author</th><th>group</th><th>message</th><th class="n">files</th><th>in force</th><th class="actions">decision</th></tr></thead><tbody>
${versions.map((v) => html`<tr><td>${v.id}</td><td>${when(v.publishedAt)}</td><td>${v.author}</td><td>${v.group ?? html`<span class="muted">every host</span>`}</td><td>${v.message}</td><td class="n">${v.files}</td><td>${v.current ? "yes" : ""}</td><td class="actions">${decision(v, call, mayDecide)}</td></tr>`)}
</tbody></table>${versions.length === 0 ? html`<p class="muted">No version published yet.</p>` : ""}`;
  return page({ ...frameOf(call), title: "Policy versions", section: "policies", body });
}

function decide(outcome: "approved" | "rejected"): Handler {
  return async (call) => {
    const reason = call.body["reason"];
    if (reason !== undefined && typeof reason !== "string") throw new AccessInputError("reason is text");
    if (outcome === "rejected" && (typeof reason !== "string" || reason.trim() === "")) throw new AccessInputError("a rejection says why (reason)");
    const r = await decideVersion(call.deps.pool, call.deps.key, { id: Number(call.params["policy"]), by: call.principal!.name, decision: outcome, ...(typeof reason === "string" && reason !== "" ? { reason } : {}), now: call.deps.now() });
    if ("refused" in r) throw new AccessInputError(r.refused, 409);
    return { status: 303, headers: { location: "/ui/policies" } };
  };
}

async function auditPage(call: Call): Promise<Answer> {
  const before = queryOf(call)["before"];
  if (before !== undefined && !/^[1-9][0-9]{0,17}$/.test(before)) throw new AccessInputError("before is an entry's id");
  const rows = await call.deps.pool.query<{ id: number; at: Date; actor: string; action: string; object: string | null; detail: unknown }>(
    "SELECT id::int AS id, at, actor, action, object, detail FROM hub_audit WHERE $1::bigint IS NULL OR id < $1::bigint ORDER BY id DESC LIMIT $2",
    [before ?? null, AUDIT_PAGE + 1],
  );
  const shown = rows.rows.slice(0, AUDIT_PAGE);
  const last = shown.at(-1);
  const body = html`<p><a href="/api/audit/export">Export as CSV</a> <span class="muted">(the export is itself recorded here)</span></p>
<table id="audit"><thead><tr><th>#</th><th>at</th><th>actor</th><th>action</th><th>object</th><th>detail</th></tr></thead><tbody>
${shown.map((r) => html`<tr><td>${r.id}</td><td>${when(r.at)}</td><td>${r.actor}</td><td>${r.action}</td><td>${r.object ?? ""}</td><td><code>${JSON.stringify(r.detail)}</code></td></tr>`)}
</tbody></table>
<p class="pager">${before ? html`<a href="/ui/audit">newest</a>` : ""}${rows.rows.length > AUDIT_PAGE && last ? html`<a href="${withQuery("/ui/audit", { before: last.id })}" rel="next">older →</a>` : ""}</p>`;
  return page({ ...frameOf(call), title: "Audit log", section: "audit", body });
}

export const recordPageHandlers: Record<string, Handler> = {
  "ui.policies": policiesPage,
  "ui.policies.approve": decide("approved"),
  "ui.policies.reject": decide("rejected"),
  "ui.audit": auditPage,
};
