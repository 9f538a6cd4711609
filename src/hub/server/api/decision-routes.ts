// Decisions given on the hub, as people reach them (rules.ts says who): a host's deficiencies as
// its records say, acknowledging one, waiving a control, withdrawing a decision not yet delivered,
// and the list of decisions with their state. The registry has already held the route's target
// (the host, the control, the decision) to the user's reach; what a target alone does not settle
// (a control owner reaches every host, but only their controls' deficiencies) is held here, and
// answered as not found, as elsewhere.
import { accessParams, controlVisible, hostFullyVisible, type Access } from "../../auth/access.js";
import { AccessInputError } from "../../auth/users.js";
import { DecisionError, type DecisionFilter, giveAck, giveIntegrityApproval, grantWaiver, hostDeficiencies, listDecisions, withdrawDecision } from "../../decision-giving.js";
import { controlOwner } from "./targets.js";
import { paging } from "./fleet-routes.js";
import type { Answer, Call, Handler } from "./registry.js";
import type { Pool } from "pg";

function field(call: Call, name: string, required = true): string | undefined {
  const v = call.body[name];
  if (v === undefined || v === null || v === "") {
    if (required) throw new AccessInputError(`${name} is missing`);
    return undefined;
  }
  if (typeof v !== "string" || v.length > 1000) throw new AccessInputError(`${name} is not a text of at most 1000 characters`);
  return v;
}

export async function hostGroup(pool: Pool, host: string): Promise<string | null> {
  return (await pool.query<{ host_group: string | null }>("SELECT host_group FROM hub_hosts WHERE id = $1", [host])).rows[0]?.host_group ?? null;
}

/** Whether the user reaches a control's data on a host: the whole host (its group, or all), or the control itself. */
export async function reachesControl(pool: Pool, access: Access, group: string | null, control: string): Promise<boolean> {
  return hostFullyVisible(access, group) || controlVisible(access, control, await controlOwner(pool, control));
}

/** The decision layer's refusals as the API's. */
async function answering(work: () => Promise<Answer>): Promise<Answer> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof DecisionError) throw new AccessInputError(err.status === 404 ? "not found" : err.message, err.status);
    throw err;
  }
}

async function deficienciesOf(call: Call): Promise<Answer> {
  const host = call.params["host"]!;
  const pool = call.deps.pool;
  const group = await hostGroup(pool, host);
  const all = call.query["all"] === "1" || call.query["all"] === "true";
  const rows = await hostDeficiencies(pool, host, all);
  const seen: typeof rows = [];
  for (const d of rows) if (await reachesControl(pool, call.access!, group, d.control)) seen.push(d);
  return { status: 200, body: { host, deficiencies: seen } };
}

/** The decisions a user's access reaches, as listDecisions filters them. */
export function decisionReach(access: Access): Pick<DecisionFilter, "allHosts" | "groups" | "allControls" | "controls" | "owners"> {
  const [allHosts, groups, allControls, controls, owners] = accessParams(access);
  // a control owner reaches every host (controls-data), but only their controls' decisions
  return { allHosts, groups, allControls: allControls || !access.hostsForControls, controls, owners };
}

async function decisionsList(call: Call): Promise<Answer> {
  const { limit, offset, page } = paging(call.query);
  return answering(async () => {
    const rows = await listDecisions(call.deps.pool, {
      ...(call.query["host"] ? { host: call.query["host"] } : {}),
      ...(call.query["state"] ? { state: call.query["state"] } : {}),
      ...decisionReach(call.access!),
      limit,
      offset,
    });
    return { status: 200, body: { page, size: limit, decisions: rows } };
  });
}

async function ack(call: Call): Promise<Answer> {
  const host = call.params["host"]!;
  const pool = call.deps.pool;
  const group = await hostGroup(pool, host);
  return answering(async () => {
    const given = await giveAck(pool, { host, deficiency: field(call, "deficiency")!, reason: field(call, "reason")!, by: call.principal!.name, reaches: (control) => reachesControl(pool, call.access!, group, control) });
    return { status: 201, body: { status: "ok", decision: given } };
  });
}

async function approveChange(call: Call): Promise<Answer> {
  const host = call.params["host"]!;
  const pool = call.deps.pool;
  const group = await hostGroup(pool, host);
  // a number in JSON; the dashboard's form sends it as text
  const sent = call.body["record"];
  const record = typeof sent === "string" && /^[1-9][0-9]{0,15}$/.test(sent) ? Number(sent) : sent;
  if (!Number.isSafeInteger(record)) throw new AccessInputError("record is the number of the change record whose state is approved");
  return answering(async () => {
    const given = await giveIntegrityApproval(pool, { host, promise: field(call, "promise")!, record: record as number, reason: field(call, "reason")!, by: call.principal!.name, reaches: (control) => reachesControl(pool, call.access!, group, control) });
    return { status: 201, body: { status: "ok", decision: given } };
  });
}

async function waive(call: Call): Promise<Answer> {
  const control = call.params["control"]!;
  const p = call.principal!;
  const host = field(call, "host", false);
  const group = field(call, "group", false);
  const from = field(call, "from", false);
  return answering(async () => {
    const given = await grantWaiver(call.deps.pool, {
      control,
      ...(host !== undefined ? { host } : {}),
      ...(group !== undefined ? { group } : {}),
      ...(from !== undefined ? { from } : {}),
      until: field(call, "until")!,
      reason: field(call, "reason")!,
      by: p.name,
      runsGroups: p.grants.filter((g) => g.role === "operations" && g.scopeKind === "group" && g.scopeValue).map((g) => g.scopeValue!),
    });
    return { status: 201, body: { status: "ok", decisions: given } };
  });
}

async function withdraw(call: Call): Promise<Answer> {
  const p = call.principal!;
  const admin = p.grants.some((g) => g.role === "administrator");
  return answering(async () => {
    const done = await withdrawDecision(call.deps.pool, Number(call.params["decision"]), p.name, (givenBy) => admin || givenBy === p.name);
    return { status: 200, body: { status: "ok", decision: done } };
  });
}

export const decisionHandlers: Record<string, Handler> = {
  "hosts.deficiencies": deficienciesOf,
  "decisions.list": decisionsList,
  "decisions.ack": ack,
  "decisions.waive": waive,
  "decisions.approve-change": approveChange,
  "decisions.withdraw": withdraw,
};
