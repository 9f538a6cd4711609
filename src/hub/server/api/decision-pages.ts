// Decisions on the dashboard, server side: what the host's page shows of them (the host's open
// deficiencies and the decisions given for it, within the user's reach) with the forms the user
// may send, decided from the rules (a form drawn is one the guard lets through), and the forms'
// routes (ui.host.ack and the rest), which are the API's handlers answered as a page: done, a 303
// back to the page the form was on; refused, a page saying why (refusals.ts).
import { accessFor, controlVisible, type Access } from "../../auth/access.js";
import { findRule } from "../../auth/rules.js";
import { hostDeficiencies, listDecisions } from "../../decision-giving.js";
import { groupWaiverForm, type DecisionRow, type HostDecisions } from "../../dashboard/decision-forms.js";
import type { Safe } from "../../dashboard/html.js";
import { controlOwner } from "./targets.js";
import { decisionHandlers, decisionReach, reachesControl } from "./decision-routes.js";
import type { Answer, Call, Handler } from "./registry.js";

/** The decisions the host's page lists (the newest; the API lists every one). */
const SHOWN_DECISIONS = 100;

/** The access a user's grants give on a form's rule, or undefined when they may not send it. */
function formAccess(call: Call, path: string): Access | undefined {
  const rule = findRule("POST", path);
  return rule && accessFor(rule, call.principal!.grants);
}

/** The controls of the host page's blocks the user may waive there (a control owner: their own). */
export function waivableControls(call: Call, controls: readonly { control: string; owner: string | null }[]): Set<string> {
  const a = formAccess(call, "/ui/controls/:control/waivers");
  return new Set(a ? controls.filter((c) => controlVisible(a, c.control, c.owner)).map((c) => c.control) : []);
}

/** The control page's form that waives the control on a host group, or none when the user may not waive it. */
export async function waiveFormFor(call: Call, control: string, csrf: string): Promise<Safe | undefined> {
  const a = formAccess(call, "/ui/controls/:control/waivers");
  if (!a || !controlVisible(a, control, await controlOwner(call.deps.pool, control))) return undefined;
  const groups = await call.deps.pool.query<{ g: string }>("SELECT DISTINCT host_group AS g FROM hub_hosts WHERE host_group IS NOT NULL AND revoked_at IS NULL ORDER BY 1 LIMIT 500");
  return groupWaiverForm(control, groups.rows.map((r) => r.g), csrf);
}

/** The host's open deficiencies and decisions within the user's reach, with what the user may do. */
export async function hostDecisions(call: Call, host: { id: string; group: string | null; revoked: boolean }, csrf: string): Promise<HostDecisions> {
  const pool = call.deps.pool;
  const access = call.access!;
  const { id, group, revoked } = host;
  const reached = new Map<string, boolean>();
  const reaches = async (control: string) => {
    if (!reached.has(control)) reached.set(control, await reachesControl(pool, access, group, control));
    return reached.get(control)!;
  };
  const deficiencies = [];
  for (const d of await hostDeficiencies(pool, id, false)) if (await reaches(d.control)) deficiencies.push(d);
  const decisions = (await listDecisions(pool, { host: id, ...decisionReach(access), limit: SHOWN_DECISIONS })) as unknown as DecisionRow[];
  const me = call.principal!;
  const admin = me.grants.some((g) => g.role === "administrator");
  // a revoked host takes no decision any more: no form is drawn (the hub refuses them anyway)
  const may = (path: string) => !revoked && formAccess(call, path) !== undefined;
  const mayWithdraw = may("/ui/decisions/:decision/withdraw");
  return {
    host: id,
    deficiencies,
    decisions,
    powers: {
      csrf,
      ack: may("/ui/hosts/:host/acks"),
      approveChange: may("/ui/hosts/:host/integrity-approvals"),
      withdraw: (d) => mayWithdraw && d.state === "pending" && (admin || d.givenBy === me.name),
    },
  };
}

/** An API handler answered as a form's: done, back to `back`; a refusal goes on as it is (a page). */
function asForm(handler: Handler, back: (call: Call, done: Answer) => string): Handler {
  return async (call) => {
    const done = await handler(call);
    if (done.status >= 400) return done;
    return { status: 303, headers: { location: back(call, done) } };
  };
}

const hostPage = (host: string, part: string) => `/ui/hosts/${encodeURIComponent(host)}#${part}`;

export const decisionPageHandlers: Record<string, Handler> = {
  "ui.host.ack": asForm(decisionHandlers["decisions.ack"]!, (call) => hostPage(call.params["host"]!, "decisions")),
  "ui.host.approve-change": asForm(decisionHandlers["decisions.approve-change"]!, (call) => hostPage(call.params["host"]!, "decisions")),
  // from the host's page (it names the host) back there; from the control's page (a group) back there
  "ui.control.waive": asForm(decisionHandlers["decisions.waive"]!, (call) =>
    typeof call.body["host"] === "string" && call.body["host"] !== "" ? hostPage(call.body["host"], "decisions") : `/ui/controls/${encodeURIComponent(call.params["control"]!)}#waivers`,
  ),
  "ui.decisions.withdraw": asForm(decisionHandlers["decisions.withdraw"]!, (_call, done) => hostPage((done.body as { decision: { host: string } }).decision.host, "decisions")),
};
