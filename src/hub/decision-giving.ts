// Giving decisions on the hub: an acknowledgement of a host's deficiency, a waiver of a control on
// one host or every host of a group, an integrity approval, and withdrawing one not yet delivered.
// Shared by the API (server/api/decision-routes.ts, after the access rules) and the admin
// commands (`covenant hub ack`, `waive`, `withdraw`), which talk to the database directly. Each is
// one transaction with its entry in the hub's audit log; the decision waits (pending) for the
// host's next push reply (server/decisions.ts).
import type { Pool, PoolClient } from "pg";
import { inTransaction } from "./db/transaction.js";
import { audit } from "./server/audit.js";
import { integrityStateOf, isHostId } from "./protocol.js";
import { isDeficiency, outcomeOrder, type Outcome } from "../evaluator/outcomes.js";

/** A decision refused, with the status the API answers (404 when it names nothing the user may see). */
export class DecisionError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export const DEFICIENCY_ID = /^d-[a-z0-9]{4,32}$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
/** The longest reason taken: it travels to the host and into its messages, as `covenant ack`'s does. */
export const MAX_DECISION_REASON = 1000;

export interface GivenDecision {
  id: number;
  host: string;
  kind: string;
  control: string;
  state: string;
}

function reasonOk(reason: string): string {
  const r = reason.trim();
  if (r === "" || r.length > MAX_DECISION_REASON) throw new DecisionError(`give a reason in words (at most ${MAX_DECISION_REASON} characters): it is kept on the hub and on the host`, 400);
  return r;
}

async function insertDecision(c: PoolClient, host: string, kind: string, control: string, subject: Record<string, unknown>, reason: string, by: string): Promise<GivenDecision> {
  const r = await c.query<{ id: string }>("INSERT INTO hub_decisions (host_id, kind, control, subject, reason, given_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id", [host, kind, control, subject, reason, by]);
  return { id: Number(r.rows[0]!.id), host, kind, control, state: "pending" };
}

/** What an ack is checked against: the deficiency as the host's records say it. */
export interface DeficiencyOnHub {
  id: string;
  key: string;
  control: string;
  resolved: boolean;
}

export async function deficiencyOnHub(db: Pool | PoolClient, host: string, id: string): Promise<DeficiencyOnHub | undefined> {
  if (!isHostId(host) || !DEFICIENCY_ID.test(id)) return undefined;
  const r = await db.query<{ id: string; key: string; control: string; resolved_seq: string | null }>("SELECT id, key, control, resolved_seq FROM hub_deficiencies WHERE host_id = $1 AND id = $2", [host, id]);
  const d = r.rows[0];
  return d ? { id: d.id, key: d.key, control: d.control, resolved: d.resolved_seq !== null } : undefined;
}

/** A revoked host collects nothing more (the hub takes no push from it): a decision for it is refused. */
async function refuseRevoked(c: PoolClient, host: string): Promise<void> {
  const r = await c.query<{ revoked_at: Date | null }>("SELECT revoked_at FROM hub_hosts WHERE id = $1", [host]);
  if (r.rows[0]?.revoked_at) throw new DecisionError("this host's enrolment was revoked: it takes no decision from the hub any more", 409);
}

/**
 * Acknowledges a host's open deficiency: refused when it is resolved (as `covenant ack` refuses)
 * or when an acknowledgement of it already waits. `reaches` says whether the giver may act on the
 * deficiency's control (a control owner: only theirs); not reached is not found.
 */
export async function giveAck(pool: Pool, input: { host: string; deficiency: string; reason: string; by: string; reaches?: (control: string) => Promise<boolean> }): Promise<GivenDecision> {
  const reason = reasonOk(input.reason);
  const id = input.deficiency.trim().toLowerCase();
  return inTransaction(pool, async (c) => {
    await refuseRevoked(c, input.host);
    const d = await deficiencyOnHub(c, input.host, id);
    if (!d || (input.reaches && !(await input.reaches(d.control)))) throw new DecisionError(`no deficiency ${id} on this host (its open deficiencies: GET /api/hosts/:host/deficiencies, \`covenant hub deficiencies HOST\`)`, 404);
    if (d.resolved) throw new DecisionError(`the deficiency ${d.id} is resolved: there is nothing open to acknowledge`, 409);
    const waiting = await c.query("SELECT id FROM hub_decisions WHERE host_id = $1 AND kind = 'ack' AND subject->>'deficiency' = $2 AND state IN ('pending', 'delivered') FOR UPDATE", [input.host, d.id]);
    if (waiting.rowCount) throw new DecisionError(`an acknowledgement of ${d.id} already waits for the host (decision ${(waiting.rows[0] as { id: string }).id})`, 409);
    const given = await insertDecision(c, input.host, "ack", d.control, { deficiency: d.id, key: d.key }, reason, input.by);
    await audit(c, input.by, "decision.ack", `host:${input.host}`, { decision: given.id, deficiency: d.id, control: d.control, reason });
    return given;
  });
}

/**
 * Approves the observed state of an integrity promise the host reported drifted: the change record
 * named must be the promise's latest on the hub (its state since), deficient, with findings; the
 * decision carries the state's digest (integrityStateOf), and the host applies it only while it
 * still observes that state. `reaches` as for giveAck.
 */
export async function giveIntegrityApproval(pool: Pool, input: { host: string; promise: string; record: number; reason: string; by: string; reaches?: (control: string) => Promise<boolean> }): Promise<GivenDecision> {
  const reason = reasonOk(input.reason);
  if (!isHostId(input.host) || !Number.isSafeInteger(input.record) || input.record < 1) throw new DecisionError("name the host's promise and the change record whose state is approved", 400);
  return inTransaction(pool, async (c) => {
    await refuseRevoked(c, input.host);
    const r = await c.query<{ control: string; outcome: string; seq: string; line: string | null }>(
      `SELECT s.control, s.outcome, s.seq, r.line FROM hub_promise_state s JOIN hub_hosts h ON h.id = s.host_id
       LEFT JOIN hub_records r ON r.host_id = s.host_id AND r.epoch = h.epoch AND r.seq = s.seq WHERE s.host_id = $1 AND s.key = $2`,
      [input.host, input.promise],
    );
    const p = r.rows[0];
    if (!p || (input.reaches && !(await input.reaches(p.control)))) throw new DecisionError("no such promise on this host", 404);
    if (Number(p.seq) !== input.record) throw new DecisionError(`the promise's state changed since record ${input.record}: its latest change record is ${p.seq}`, 409);
    const outcome = (outcomeOrder as readonly string[]).includes(p.outcome) ? (p.outcome as Outcome) : undefined;
    let state: string | undefined;
    try {
      state = p.line ? integrityStateOf((JSON.parse(p.line) as { body?: { findings?: unknown } }).body?.findings) : undefined;
    } catch {
      state = undefined;
    }
    if (!outcome || !isDeficiency(outcome) || !state) throw new DecisionError(`record ${input.record} reports no unapproved integrity change of this promise`, 409);
    const waiting = await c.query("SELECT id FROM hub_decisions WHERE host_id = $1 AND kind = 'integrity-approval' AND subject->>'key' = $2 AND state IN ('pending', 'delivered') FOR UPDATE", [input.host, input.promise]);
    if (waiting.rowCount) throw new DecisionError(`an approval of this promise's state already waits for the host (decision ${(waiting.rows[0] as { id: string }).id})`, 409);
    const given = await insertDecision(c, input.host, "integrity-approval", p.control, { key: input.promise, record: input.record, state }, reason, input.by);
    await audit(c, input.by, "decision.approve-change", `host:${input.host}`, { decision: given.id, promise: input.promise, record: input.record, control: p.control, reason });
    return given;
  });
}

/** The hosts a waiver covers: one host, or every host of a group not revoked. */
async function waiverHosts(c: PoolClient, target: { host?: string; group?: string }): Promise<{ id: string; group: string | null }[]> {
  if (target.host !== undefined) {
    if (!isHostId(target.host)) throw new DecisionError("host is not a host id", 400);
    const r = await c.query<{ id: string; host_group: string | null }>("SELECT id, host_group FROM hub_hosts WHERE id = $1 AND revoked_at IS NULL", [target.host]);
    return r.rows.map((h) => ({ id: h.id, group: h.host_group }));
  }
  const r = await c.query<{ id: string; host_group: string | null }>("SELECT id, host_group FROM hub_hosts WHERE host_group = $1 AND revoked_at IS NULL ORDER BY id", [target.group]);
  return r.rows.map((h) => ({ id: h.id, group: h.host_group }));
}

export interface WaiverInput {
  control: string;
  host?: string;
  group?: string;
  reason: string;
  from?: string;
  until: string;
  by: string;
  /** the host groups the giver runs (operations): a waiver on them is refused (separation of duties) */
  runsGroups?: readonly string[];
  /** whether the giver reaches a host (an unknown or unreached host is not found) */
  reachesHost?: (host: { id: string; group: string | null }) => boolean;
  today?: string;
}

/** Grants a waiver of a control, one decision per host covered. */
export async function grantWaiver(pool: Pool, w: WaiverInput): Promise<GivenDecision[]> {
  const reason = reasonOk(w.reason);
  if ((w.host === undefined) === (w.group === undefined)) throw new DecisionError("name either a host or a host group", 400);
  if (!DAY.test(w.until) || Number.isNaN(Date.parse(w.until)) || (w.from !== undefined && (!DAY.test(w.from) || Number.isNaN(Date.parse(w.from))))) throw new DecisionError("until (and from) are dates, YYYY-MM-DD, in the hosts' calendar zone", 400);
  if (w.from !== undefined && w.from > w.until) throw new DecisionError("from is after until", 400);
  const today = w.today ?? new Date().toISOString().slice(0, 10);
  if (w.until < today) throw new DecisionError(`until (${w.until}) is past`, 400);
  return inTransaction(pool, async (c) => {
    const hosts = (await waiverHosts(c, w)).filter((h) => !w.reachesHost || w.reachesHost(h));
    if (hosts.length === 0) throw new DecisionError(w.host !== undefined ? "no such host" : `no host in the group ${w.group}`, 404);
    // whoever runs the hosts does not accept the risk of their own hosts' drift: a second person does
    const own = hosts.find((h) => h.group !== null && (w.runsGroups ?? []).includes(h.group));
    if (own) throw new DecisionError(`you run the host group ${own.group} (operations): a waiver on its hosts is a risk acceptance that someone else gives (separation of duties)`, 403);
    const given: GivenDecision[] = [];
    for (const h of hosts) given.push(await insertDecision(c, h.id, "waiver", w.control, { from: w.from ?? null, until: w.until }, reason, w.by));
    await audit(c, w.by, "decision.waive", `control:${w.control}`, { decisions: given.map((g) => g.id), ...(w.host ? { host: w.host } : { group: w.group }), from: w.from ?? null, until: w.until, reason });
    return given;
  });
}

/** Withdraws a decision no push reply has carried yet; `mayWithdraw` holds the giver to their own (an administrator: any). */
export async function withdrawDecision(pool: Pool, id: number, by: string, mayWithdraw: (givenBy: string) => boolean = () => true): Promise<GivenDecision> {
  return inTransaction(pool, async (c) => {
    const r = await c.query<{ host_id: string; kind: string; control: string; state: string; given_by: string }>("SELECT host_id, kind, control, state, given_by FROM hub_decisions WHERE id = $1 FOR UPDATE", [id]);
    const d = r.rows[0];
    if (!d) throw new DecisionError(`no decision ${id}`, 404);
    if (!mayWithdraw(d.given_by)) throw new DecisionError("only the person who gave a decision, or an administrator, withdraws it", 403);
    if (d.state !== "pending") throw new DecisionError(`decision ${id} is ${d.state}: only one no push reply has carried yet can be withdrawn`, 409);
    await c.query("UPDATE hub_decisions SET state = 'withdrawn', withdrawn_by = $2, withdrawn_at = now() WHERE id = $1", [id, by]);
    await audit(c, by, "decision.withdraw", `decision:${id}`, { host: d.host_id, kind: d.kind, control: d.control });
    return { id, host: d.host_id, kind: d.kind, control: d.control, state: "withdrawn" };
  });
}

export interface DecisionFilter {
  host?: string;
  state?: string;
  /** reach: every host, or those of groups; every control, or those named / owned */
  allHosts?: boolean;
  groups?: readonly string[];
  allControls?: boolean;
  controls?: readonly string[];
  owners?: readonly string[];
  limit?: number;
  offset?: number;
}

export const DECISION_STATES = ["pending", "delivered", "applied", "refused", "withdrawn"] as const;

/** Decisions, newest first, within the reach given (none given: all). */
export async function listDecisions(pool: Pool, f: DecisionFilter = {}): Promise<Record<string, unknown>[]> {
  if (f.host !== undefined && !isHostId(f.host)) throw new DecisionError("host is not a host id", 400);
  if (f.state !== undefined && !(DECISION_STATES as readonly string[]).includes(f.state)) throw new DecisionError(`state is one of ${DECISION_STATES.join(", ")}`, 400);
  const r = await pool.query(
    `SELECT d.id::int AS id, d.host_id AS host, h.name AS "hostName", h.host_group AS "group", d.kind, d.control, d.subject, d.reason, d.given_by AS "givenBy", d.given_at AS "givenAt",
       d.state, d.delivered_at AS "deliveredAt", d.deliveries, d.answered_at AS "answeredAt", d.host_record::int AS "hostRecord", d.host_reason AS "hostReason",
       d.withdrawn_by AS "withdrawnBy", d.withdrawn_at AS "withdrawnAt"
     FROM hub_decisions d JOIN hub_hosts h ON h.id = d.host_id
     LEFT JOIN hub_control_owners o ON o.control = d.control LEFT JOIN hub_controls k ON k.control = d.control
     WHERE ($1::uuid IS NULL OR d.host_id = $1) AND ($2::text IS NULL OR d.state = $2)
       AND ($3 OR h.host_group = ANY($4::text[])) AND ($5 OR d.control = ANY($6::text[]) OR coalesce(o.owner, k.owner) = ANY($7::text[]))
     ORDER BY d.id DESC LIMIT $8 OFFSET $9`,
    [f.host ?? null, f.state ?? null, f.allHosts ?? true, f.groups ?? [], f.allControls ?? true, f.controls ?? [], f.owners ?? [], f.limit ?? 100, f.offset ?? 0],
  );
  return r.rows as Record<string, unknown>[];
}

/** A host's deficiencies as its records say (open ones, or all), newest first. */
export async function hostDeficiencies(pool: Pool, host: string, all = false): Promise<{ id: string; key: string; control: string; type: string; promiser: string; outcome: string; reason: string; openedRecord: number; openedAt: string; resolvedRecord: number | null; ackedBy: string | null; latestRecord: number | null; integrityChange: boolean }[]> {
  // latestRecord: the promise's newest change record, the one an integrity approval names (integrityChange: it reports what changed)
  const r = await pool.query(
    `SELECT d.id, d.key, d.control, d.type, d.promiser, d.outcome, d.reason, d.opened_seq::int AS "openedRecord", d.opened_at AS "openedAt", d.resolved_seq::int AS "resolvedRecord", d.acked_by AS "ackedBy",
       s.seq::int AS "latestRecord", coalesce(r.line LIKE '%"findings":[{%', false) AS "integrityChange"
     FROM hub_deficiencies d JOIN hub_hosts h ON h.id = d.host_id LEFT JOIN hub_promise_state s ON s.host_id = d.host_id AND s.key = d.key
     LEFT JOIN hub_records r ON r.host_id = d.host_id AND r.epoch = h.epoch AND r.seq = s.seq
     WHERE d.host_id = $1 AND ($2 OR d.resolved_seq IS NULL) ORDER BY d.opened_seq DESC LIMIT 1000`,
    [host, all],
  );
  return r.rows as never;
}
