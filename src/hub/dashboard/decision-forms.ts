// Decisions on the dashboard: a host's open deficiencies with the forms that acknowledge one or
// approve the state an integrity promise was found in, the decisions given on the hub for the
// host with a withdraw form on those no push reply has carried yet, and the forms that waive a
// control on one host (the host's page) or a host group (the control's page). Each form posts to
// a page rule (rules.ts, ui.host.ack and the rest) held to the same guard as the API's routes;
// which forms are drawn is decided by the caller from the same rules, so a form shown is one the
// hub takes (the hub still decides: a refusal is a page saying why).
import { html, type Safe } from "./html.js";
import { controlLink, outcome, tableOr, when } from "./page-parts.js";

/** One of the host's deficiencies as its records say (decision-giving.ts hostDeficiencies). */
export interface DeficiencyRow {
  id: string;
  key: string;
  control: string;
  outcome: string;
  reason: string;
  openedAt: string;
  ackedBy: string | null;
  latestRecord: number | null;
  integrityChange: boolean;
}

/** One decision given on the hub (decision-giving.ts listDecisions). */
export interface DecisionRow {
  id: number;
  kind: string;
  control: string;
  subject: Record<string, unknown> | null;
  reason: string;
  givenBy: string;
  givenAt: string | Date;
  state: string;
  hostRecord: number | null;
  hostReason: string | null;
  withdrawnBy: string | null;
}

/** What the person looking may do here (decided from the rules by the caller). */
export interface DecisionPowers {
  csrf: string;
  ack: boolean;
  approveChange: boolean;
  withdraw: (d: DecisionRow) => boolean;
}

export interface HostDecisions {
  host: string;
  deficiencies: DeficiencyRow[];
  decisions: DecisionRow[];
  powers: DecisionPowers;
}

const REASON_MAX = 1000;

function csrfField(csrf: string): Safe {
  return html`<input type="hidden" name="_csrf" value="${csrf}">`;
}

function reasonField(placeholder: string): Safe {
  return html`<input name="reason" required maxlength="${REASON_MAX}" placeholder="${placeholder}" aria-label="reason">`;
}

/** A decision that waits for the host: one already waiting is not given twice (the hub refuses it). */
function waiting(decisions: readonly DecisionRow[], kind: string, matches: (subject: Record<string, unknown>) => boolean): boolean {
  return decisions.some((d) => d.kind === kind && (d.state === "pending" || d.state === "delivered") && matches(d.subject ?? {}));
}

function deficiencyActions(h: HostDecisions, d: DeficiencyRow): Safe {
  const p = h.powers;
  const base = `/ui/hosts/${encodeURIComponent(h.host)}`;
  const forms: Safe[] = [];
  if (p.ack && d.ackedBy === null && !waiting(h.decisions, "ack", (s) => s["deficiency"] === d.id)) {
    forms.push(html`<form method="post" action="${base}/acks">${csrfField(p.csrf)}<input type="hidden" name="deficiency" value="${d.id}">${reasonField("why it is known (ticket)")}<button type="submit">Acknowledge</button></form>`);
  }
  if (p.approveChange && d.integrityChange && d.latestRecord !== null && !waiting(h.decisions, "integrity-approval", (s) => s["key"] === d.key)) {
    forms.push(html`<form method="post" action="${base}/integrity-approvals">${csrfField(p.csrf)}<input type="hidden" name="promise" value="${d.key}"><input type="hidden" name="record" value="${d.latestRecord}">${reasonField("why this change is approved")}<button type="submit">Approve this state</button></form>`);
  }
  return html`${forms}`;
}

function deficiencies(h: HostDecisions): Safe {
  const rows = h.deficiencies.map(
    (d) => html`<tr><td><code>${d.id}</code></td><td>${controlLink(d.control)}</td><td><code>${d.key}</code></td><td>${outcome(d.outcome)}</td><td class="free">${d.reason}</td><td>${when(d.openedAt)}</td>
<td>${d.ackedBy === null ? html`<span class="muted">no</span>` : html`by ${d.ackedBy}`}</td><td class="actions">${deficiencyActions(h, d)}</td></tr>`,
  );
  return html`<section id="deficiencies"><h2>Open deficiencies</h2>
<p>As the host's records say, with the ids the host gives them (<code>covenant ack</code> on the host takes the same). An acknowledgement or an approval given here reaches the host with its next push reply.</p>
${tableOr(html`class="deficiencies"`, ["id", "control", "promise", "outcome", "reason", "opened (host clock)", "acknowledged", "actions"], rows, "None open within your reach.")}</section>`;
}

function subjectText(d: DecisionRow): string {
  const s = d.subject ?? {};
  if (d.kind === "ack") return `deficiency ${String(s["deficiency"] ?? "?")}`;
  if (d.kind === "integrity-approval") return `${String(s["key"] ?? "?")} as record ${String(s["record"] ?? "?")} found it`;
  if (d.kind === "waiver") return `${s["from"] ? `from ${String(s["from"])} ` : ""}until ${String(s["until"] ?? "?")}`;
  return "";
}

function stateCell(h: HostDecisions, d: DecisionRow): Safe {
  if (d.state === "applied") return html`applied: host record #${d.hostRecord ?? "?"}`;
  if (d.state === "refused") return html`<strong class="bad">refused</strong> (record #${d.hostRecord ?? "?"}): ${d.hostReason ?? ""}`;
  if (d.state === "withdrawn") return html`withdrawn by ${d.withdrawnBy ?? "?"}`;
  if (d.state === "pending" && h.powers.withdraw(d)) {
    return html`pending <form method="post" action="/ui/decisions/${d.id}/withdraw">${csrfField(h.powers.csrf)}<button type="submit">Withdraw</button></form>`;
  }
  return html`${d.state}`;
}

function decisions(h: HostDecisions): Safe {
  const rows = h.decisions.map(
    (d) => html`<tr><td>${d.id}</td><td>${d.kind}</td><td>${controlLink(d.control)}</td><td class="free">${subjectText(d)}</td><td class="free">${d.reason}</td><td>${d.givenBy}</td><td>${when(d.givenAt)}</td><td class="actions">${stateCell(h, d)}</td></tr>`,
  );
  return html`<section id="decisions"><h2>Decisions given on the hub</h2>
<p>Pending until a push reply carries one, then delivered, and applied or refused by the host (its record says which). One no reply has carried yet can be withdrawn.</p>
${tableOr(html`class="decisions"`, ["#", "kind", "control", "what", "reason", "given by", "given", "state"], rows, "No decision was given on the hub for this host within your reach.")}</section>`;
}

/** The host's deficiencies and decisions, for the host's page. */
export function hostDecisionsPart(h: HostDecisions): Safe {
  return html`${deficiencies(h)}${decisions(h)}`;
}

/** The form that waives a control on one host (the host's page, under the control). */
export function hostWaiverForm(host: string, control: string, csrf: string): Safe {
  return html`<details class="waive"><summary>Waive this control on this host</summary><form method="post" class="waive" action="/ui/controls/${encodeURIComponent(control)}/waivers">${csrfField(csrf)}<input type="hidden" name="host" value="${host}">
<label>from <input type="date" name="from"></label> <label>until <input type="date" name="until" required></label> ${reasonField("the risk accepted, and why")}<button type="submit">Waive</button></form></details>`;
}

/** The form that waives a control on every host of a group (the control's page). */
export function groupWaiverForm(control: string, groups: readonly string[], csrf: string): Safe {
  if (groups.length === 0) return html`<p class="muted">No host group to waive it on.</p>`;
  return html`<form method="post" action="/ui/controls/${encodeURIComponent(control)}/waivers" class="waive">${csrfField(csrf)}
<label>on the hosts of <select name="group" required>${groups.map((g) => html`<option value="${g}">${g}</option>`)}</select></label>
<label>from <input type="date" name="from"></label> <label>until <input type="date" name="until" required></label> ${reasonField("the risk accepted, and why")}<button type="submit">Waive</button></form>
<p class="muted">A waiver of a host group is one decision per host, each reaching its host with its next push reply; a single host's is given on the host's page. Nobody waives the hosts they run (separation of duties).</p>`;
}
