// Decisions given on the fleet hub, as the host's history keeps them. Each decision the hub sends
// (hub/client/decisions.ts checks its signature) yields exactly one record, written once: an `ack`
// record (the acknowledgement, as `covenant ack` writes it, naming the decision), a `waiver`
// record (a waiver the evaluator honours from the next run as one written in the policy), or a
// `decision` record saying why it was refused. Which decisions a record answers is read from the
// history itself, so that a decision delivered again (the hub carries it until it holds the
// host's record) or replayed is applied once.
import type Database from "better-sqlite3";

/** A waiver given on the hub, as its `waiver` record keeps it. */
export interface WaiverBody {
  /** the hub's decision id */
  decision: string;
  control: string;
  reason: string;
  /** who granted it on the hub, marked "(hub)" */
  approvedBy: string;
  /** the dates it holds from and until (YYYY-MM-DD, in the policy calendar's zone) */
  from?: string;
  until: string;
  /** when it was granted on the hub */
  givenAt: string;
  /** when the host applied it */
  at: string;
  /** the fingerprint of the hub key that signed it */
  hub: string;
}

/** A decision of the hub the host refused, and why (a `decision` record). */
export interface DecisionRefusalBody {
  decision: string;
  kind: string;
  control: string;
  /** why, in words */
  refused: string;
  by: string;
  at: string;
  hub: string;
}

/** The kinds of record that answer a hub decision. */
export const DECISION_ANSWERS = ["ack", "approval", "waiver", "decision"] as const;

/** The record that answered the hub's decision `id`, or undefined. */
export function answerOf(db: Database.Database, id: string): number | undefined {
  const seq = db
    .prepare(`SELECT seq FROM ledger WHERE kind IN (${DECISION_ANSWERS.map((k) => `'${k}'`).join(", ")}) AND json_valid(body) AND json_extract(body, '$.decision') = ? ORDER BY seq LIMIT 1`)
    .pluck()
    .get(id) as number | undefined;
  return seq;
}

/**
 * The waiver records, oldest first: every run reads them, through the partial index that holds
 * only them (schema 8, schema.ts), so that a run reads its waivers, not the whole history. A store
 * not yet migrated (read-only, as `verify` and `report` read it) has no index: read all the same.
 */
export const WAIVERS_SQL = "SELECT body FROM ledger WHERE kind = 'waiver' ORDER BY seq";

/** The waivers given on the hub, as their records keep them (the evaluator holds each to its dates). */
export function hubWaivers(db: Database.Database): WaiverBody[] {
  const out: WaiverBody[] = [];
  for (const body of db.prepare(WAIVERS_SQL).pluck().iterate() as IterableIterator<string>) {
    try {
      const b = JSON.parse(body) as Partial<WaiverBody>;
      if (typeof b.control === "string" && typeof b.until === "string" && typeof b.reason === "string" && typeof b.approvedBy === "string" && typeof b.decision === "string") out.push(b as WaiverBody);
    } catch {
      // an edited row: `verify` says which
    }
  }
  return out;
}

/** The newest change record of a promise: its number and findings (what an integrity approval from the hub names). */
export function lastChangeOf(db: Database.Database, key: string): { seq: number; findings: unknown } | undefined {
  const row = db.prepare("SELECT seq, body FROM ledger WHERE kind = 'change' AND json_valid(body) AND json_extract(body, '$.key') = ? ORDER BY seq DESC LIMIT 1").get(key) as { seq: number; body: string } | undefined;
  if (!row) return undefined;
  return { seq: row.seq, findings: (JSON.parse(row.body) as { findings?: unknown }).findings };
}

/** The policy hash the newest run summary that counts (not a dry run, not a sandbox) names. */
export function lastRunPolicy(db: Database.Database): string | undefined {
  for (const body of db.prepare("SELECT body FROM ledger WHERE kind = 'run' ORDER BY seq DESC LIMIT 50").pluck().iterate() as IterableIterator<string>) {
    try {
      const b = JSON.parse(body) as { policy?: unknown; dryRun?: unknown; sandbox?: unknown };
      if (b.dryRun !== true && b.sandbox !== true && typeof b.policy === "string") return b.policy;
    } catch {
      // an edited row: `verify` says which
    }
  }
  return undefined;
}
