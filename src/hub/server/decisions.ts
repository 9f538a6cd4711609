// Decisions given on the hub (acknowledgements, integrity approvals, waivers) on their way to a
// host and back, in the push's transaction: the push reply carries the host's unanswered ones,
// each signed with the hub's key (marked delivered, and carried again in every reply until the
// host's record of it arrives, so that a host that crashed between receiving and applying gets it
// again); and the records a push brings say what the host did with each (applied or refused, with
// its record number and reason). The host's deficiencies are derived here too, from its change
// records, with the ids the host gives them (store/deficiencies.ts deficiencyId), so that people
// on the hub name a deficiency as the host's messages do.
import type { KeyObject } from "node:crypto";
import type { PoolClient } from "pg";
import { isDeficiency, outcomeOrder, type Outcome } from "../../evaluator/outcomes.js";
import { deficiencyId } from "../../store/deficiencies.js";
import { bodyOf, text } from "./record-body.js";
import { MAX_DECISIONS_PER_REPLY, signDecision, type HubDecision, type PushedRecord, type SignedDecision } from "../protocol.js";

const OUTCOMES = new Set<string>(outcomeOrder);
/** The record kinds that answer a decision: what applied it (ack, approval, waiver), or its refusal (decision). */
const ANSWERS = new Set(["ack", "approval", "waiver", "decision"]);
/** A decision's id as hosts are sent it: its number on the hub and its nonce (migration 7). */
export const DECISION_ID = /^([1-9][0-9]{0,17})-([0-9a-f]{16})$/;
export const DEFICIENCY_KEY = /^[0-9a-f]{16}$/;

interface DecisionRow {
  id: string;
  nonce: string;
  kind: HubDecision["kind"];
  control: string;
  subject: Record<string, unknown>;
  reason: string;
  given_by: string;
  given_at: Date;
}

/** The decision as the host gets it, from its row. */
export function decisionOf(host: string, r: DecisionRow): HubDecision {
  const s = r.subject;
  const pick = (k: string) => (s[k] !== undefined && s[k] !== null ? { [k]: s[k] } : {});
  return { id: `${r.id}-${r.nonce}`, host, kind: r.kind, control: r.control, by: r.given_by, reason: r.reason, at: r.given_at.toISOString(), ...pick("deficiency"), ...pick("key"), ...pick("from"), ...pick("until"), ...pick("record"), ...pick("state") } as HubDecision;
}

/**
 * The host's unanswered decisions (at most MAX_DECISIONS_PER_REPLY), signed and marked delivered,
 * in one statement: what a push reply carries. None without the hub's key. The least carried come
 * first, then the oldest: decisions a host leaves unanswered for a while (integrity approvals wait
 * while its watcher runs) take turns with the rest instead of filling every reply, so that a
 * later acknowledgement or waiver still reaches the host. The reply lists them oldest first.
 */
export async function decisionsForReply(client: PoolClient, host: string, key: KeyObject | undefined, now: Date): Promise<SignedDecision[]> {
  if (!key) return [];
  const rows = await client.query<DecisionRow>({
    name: "hub-push-decisions",
    text: `WITH due AS (SELECT id FROM hub_decisions WHERE host_id = $1 AND state IN ('pending', 'delivered') ORDER BY deliveries, id LIMIT $2 FOR UPDATE)
     UPDATE hub_decisions d SET state = 'delivered', delivered_at = coalesce(d.delivered_at, $3), deliveries = d.deliveries + 1 FROM due WHERE d.id = due.id
     RETURNING d.id, d.nonce, d.kind, d.control, d.subject, d.reason, d.given_by, d.given_at`,
    values: [host, MAX_DECISIONS_PER_REPLY, now],
  });
  return rows.rows.sort((a, b) => Number(a.id) - Number(b.id)).map((r) => signDecision(decisionOf(host, r), key));
}

interface DeficientChange {
  seq: number;
  run: number;
  time: string;
  key: string;
  control: string;
  type: string;
  promiser: string;
  to: Outcome;
  reason: string;
}

interface Answer {
  seq: number;
  /** the decision's number on the hub, and its nonce */
  id: string;
  nonce: string;
  outcome: "applied" | "refused";
  reason: string | null;
}

interface Read {
  changes: DeficientChange[];
  acks: { seq: number; deficiency: string; by: string }[];
  answers: Answer[];
}

/** What of a push's records moves deficiencies and decisions. */
function readRecords(records: readonly PushedRecord[]): Read {
  const out: Read = { changes: [], acks: [], answers: [] };
  for (const r of records) {
    if (r.kind !== "change" && !ANSWERS.has(r.kind)) continue;
    const b = bodyOf(r.line);
    if (!b) continue;
    if (r.kind === "change") {
      const [key, control, type, promiser, to] = [text(b["key"]), text(b["control"], 256), text(b["type"], 64), text(b["promiser"]), text(b["to"], 16)];
      if (key && control && type && promiser !== undefined && to && OUTCOMES.has(to)) out.changes.push({ seq: r.seq, run: r.run, time: r.time, key, control, type, promiser, to: to as Outcome, reason: text(b["reason"], 2000) ?? "" });
      continue;
    }
    const deficiency = text(b["deficiency"], 64);
    if (r.kind === "ack" && deficiency) out.acks.push({ seq: r.seq, deficiency, by: text(b["by"], 200) ?? "" });
    const named = DECISION_ID.exec(text(b["decision"], 40) ?? "");
    if (named) out.answers.push({ seq: r.seq, id: named[1]!, nonce: named[2]!, outcome: r.kind === "decision" ? "refused" : "applied", reason: r.kind === "decision" ? (text(b["refused"], 1000) ?? "refused") : null });
  }
  return out;
}

/** Derives, from a push's new records, the host's deficiencies and its answers to decisions. */
export async function deriveDecisions(client: PoolClient, host: string, records: readonly PushedRecord[], deficiencyKey: string | undefined): Promise<void> {
  const read = readRecords(records);
  if (read.changes.length) await deriveDeficiencies(client, host, read.changes, deficiencyKey);
  if (read.acks.length) {
    await client.query(
      `UPDATE hub_deficiencies d SET acked_by = a.by, acked_seq = a.seq FROM unnest($2::text[], $3::text[], $4::bigint[]) AS a (id, by, seq) WHERE d.host_id = $1 AND d.id = a.id`,
      [host, read.acks.map((a) => a.deficiency), read.acks.map((a) => a.by), read.acks.map((a) => a.seq)],
    );
  }
  if (read.answers.length) {
    // only the host's own decisions, and only once: a record naming another host's decision, or one answered already, moves nothing
    await client.query(
      `UPDATE hub_decisions d SET state = a.outcome, answered_at = now(), host_record = a.seq, host_reason = a.reason
       FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::text[]) AS a (id, outcome, seq, reason, nonce)
       WHERE d.id = a.id AND d.nonce = a.nonce AND d.host_id = $1 AND d.state IN ('pending', 'delivered')`,
      [host, read.answers.map((a) => a.id), read.answers.map((a) => a.outcome), read.answers.map((a) => a.seq), read.answers.map((a) => a.reason), read.answers.map((a) => a.nonce)],
    );
  }
}

/**
 * A deficiency opens with a change to a deficient outcome when none is open for the promise, and
 * is resolved by a change to any other (as store/deficiencies.ts apply moves the host's). Its id
 * is the host's first try (deficiencyId attempt 0): the host makes another only for a 40-bit clash.
 */
async function deriveDeficiencies(client: PoolClient, host: string, changes: readonly DeficientChange[], pushed: string | undefined): Promise<void> {
  let keyId = pushed;
  if (pushed !== undefined) await client.query("UPDATE hub_hosts SET deficiency_key = $2 WHERE id = $1 AND deficiency_key IS DISTINCT FROM $2", [host, pushed]);
  else keyId = (await client.query<{ deficiency_key: string | null }>("SELECT deficiency_key FROM hub_hosts WHERE id = $1", [host])).rows[0]?.deficiency_key ?? undefined;
  if (!keyId) return;
  const keys = [...new Set(changes.map((c) => c.key))];
  const openRows = await client.query<{ key: string; id: string }>("SELECT key, id FROM hub_deficiencies WHERE host_id = $1 AND resolved_seq IS NULL AND key = ANY($2::text[])", [host, keys]);
  const open = new Map(openRows.rows.map((r) => [r.key, r.id]));
  const opened = new Map<string, DeficientChange & { id: string; resolved: number | null }>();
  const resolved: { id: string; seq: number }[] = [];
  const updated: { id: string; outcome: string; reason: string }[] = [];
  for (const c of changes) {
    const id = open.get(c.key);
    if (isDeficiency(c.to)) {
      if (id === undefined) {
        const made = deficiencyId(keyId, c.key, c.run, c.seq);
        opened.set(made, { ...c, id: made, resolved: null });
        open.set(c.key, made);
      } else updated.push({ id, outcome: c.to, reason: c.reason });
    } else if (id !== undefined) {
      const fresh = opened.get(id);
      if (fresh) fresh.resolved = c.seq;
      else resolved.push({ id, seq: c.seq });
      open.delete(c.key);
    }
  }
  const o = [...opened.values()];
  if (o.length) {
    await client.query(
      `INSERT INTO hub_deficiencies (host_id, id, key, control, type, promiser, outcome, reason, opened_seq, opened_at, resolved_seq)
       SELECT $1, d.id, d.key, d.control, d.type, d.promiser, d.outcome, d.reason, d.seq, d.time, d.resolved
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[], $10::text[], $11::bigint[]) AS d (id, key, control, type, promiser, outcome, reason, seq, time, resolved)
       ON CONFLICT DO NOTHING`,
      [host, o.map((d) => d.id), o.map((d) => d.key), o.map((d) => d.control), o.map((d) => d.type), o.map((d) => d.promiser), o.map((d) => d.to), o.map((d) => d.reason), o.map((d) => d.seq), o.map((d) => d.time), o.map((d) => d.resolved)],
    );
  }
  for (const u of updated) await client.query("UPDATE hub_deficiencies SET outcome = $3, reason = $4 WHERE host_id = $1 AND id = $2", [host, u.id, u.outcome, u.reason]);
  if (resolved.length) {
    await client.query("UPDATE hub_deficiencies d SET resolved_seq = r.seq FROM unnest($2::text[], $3::bigint[]) AS r (id, seq) WHERE d.host_id = $1 AND d.id = r.id", [host, resolved.map((r) => r.id), resolved.map((r) => r.seq)]);
  }
}
