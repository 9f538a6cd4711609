// Retention: `covenant prune --before DATE` removes whole runs older than a date, once an evidence
// pack holds them, and leaves a sealed checkpoint (checkpoint.ts) so that what remains still
// verifies. The cut is the end of the last run whose summary was written before the date (run-0
// records after that summary, acknowledgements and deliveries, go with it). Below the cut every
// record goes except those something after it still names, which `verify` needs to prove what
// remains: the last change record of each promise (its state at the cut: the current state and
// any later run's explanation rest on it), the policy and roster records later summaries name,
// the change and ack records the deficiencies in the store name, the approval records approved
// integrity states name, and the last baseline record of each path. Settled outbox messages go
// with their delivery records (verify holds each settled message to its delivery record), and
// resolved deficiencies whose records all go are retired with them.
import { parseObject } from "./explain.js";
import type Database from "better-sqlite3";
import type { Checkpoint, KeptRecord } from "./checkpoint.js";
import { StoreError } from "./errors.js";
import { GENESIS, type RecordKind } from "./ledger.js";
import type { PruneEvidence } from "./records.js";
import { deleteMeta, metaLike } from "./meta.js";

export interface PrunePlan {
  /** the last record removed or kept: the end of the cut run */
  cut: { seq: number; mac: Buffer; run: number; time: string };
  /** the summary of the cut run */
  summary: number;
  /** the first record this prune removes from (1, or the record after the previous checkpoint's cut): the pack must hold it on */
  from: number;
  removed: Partial<Record<RecordKind, number>>;
  removedCount: number;
  /** runs whose summary goes */
  runs: number;
  kept: KeptRecord[];
  /** settled outbox messages whose delivery records go */
  messages: string[];
  /** resolved deficiencies whose records all go, retired with them (and their events) */
  retired: string[];
}

const VALID = "json_valid(body)";

/** What a prune before `beforeMs` would remove and keep; StoreError when nothing would go. */
export function planPrune(db: Database.Database, beforeMs: number, before: string, previous: Checkpoint | undefined): PrunePlan {
  const summary = cutSummary(db, beforeMs);
  if (previous && (!summary || summary.seq <= previous.cut.seq)) {
    throw new StoreError(`nothing to prune before ${before}: the history before it was pruned already (records up to ${previous.cut.seq}, through run ${previous.cut.run}, on ${previous.at})`);
  }
  if (!summary) throw new StoreError(`nothing to prune before ${before}: no run finished before it`);
  const next = db.prepare("SELECT min(seq) FROM ledger WHERE seq > ? AND run > 0").pluck().get(summary.seq) as number | null;
  const cutSeq = next === null ? (db.prepare("SELECT max(seq) FROM ledger").pluck().get() as number) : next - 1;
  const { keep, retired } = keptSeqs(db, cutSeq);
  const macs = db.prepare("SELECT mac FROM ledger WHERE seq = ?").pluck();
  const earlierKept = new Map((previous?.kept ?? []).map((k) => [k.seq, k.prev]));
  const prevOf = (seq: number): string => {
    const before = macs.get(seq - 1) as Buffer | undefined;
    if (before) return before.toString("hex");
    if (seq === 1) return GENESIS.toString("hex");
    if (previous && seq === previous.cut.seq + 1) return previous.cut.mac;
    const recorded = earlierKept.get(seq);
    if (recorded === undefined) throw new Error(`record ${seq}'s predecessor is neither in the store nor in the checkpoint (verify passed)`);
    return recorded;
  };
  const kept: KeptRecord[] = [...keep].sort((a, b) => a - b).map((seq) => ({ seq, prev: prevOf(seq), mac: (macs.get(seq) as Buffer).toString("hex") }));
  const removed: Partial<Record<RecordKind, number>> = {};
  let removedCount = 0;
  for (const r of db.prepare("SELECT seq, kind FROM ledger WHERE seq <= ?").iterate(cutSeq) as IterableIterator<{ seq: number; kind: RecordKind }>) {
    if (keep.has(r.seq)) continue;
    removed[r.kind] = (removed[r.kind] ?? 0) + 1;
    removedCount++;
  }
  const messages = db
    .prepare(`SELECT DISTINCT json_extract(body, '$.message') FROM ledger WHERE kind = 'delivery' AND seq <= ? AND ${VALID}`)
    .pluck()
    .all(cutSeq)
    .filter((m): m is string => typeof m === "string");
  const cutRow = db.prepare("SELECT mac FROM ledger WHERE seq = ?").pluck().get(cutSeq) as Buffer;
  return { cut: { seq: cutSeq, mac: cutRow, run: summary.run, time: summary.time }, summary: summary.seq, from: previous ? previous.cut.seq + 1 : 1, removed, removedCount, runs: removed.run ?? 0, kept, messages, retired };
}

/** The last run summary written before the date (the latest by record number, whatever the clock did). */
function cutSummary(db: Database.Database, beforeMs: number): { seq: number; run: number; time: string } | undefined {
  for (const s of db.prepare("SELECT seq, run, time FROM ledger WHERE kind = 'run' AND run > 0 ORDER BY seq DESC").iterate() as IterableIterator<{ seq: number; run: number; time: string }>) {
    if (Date.parse(String(s.time)) < beforeMs) return s;
  }
  return undefined;
}

/**
 * The records at or below the cut that something after it names (see the top of this file), and
 * the resolved deficiencies retired with their records: every record of theirs is at or below the
 * cut, and no group of the notification log remembers telling of them (as a summary retires one,
 * but whether or not routing saw its events: on a host without notifications nothing routes them,
 * and a resolved deficiency kept would keep its records for ever).
 */
function keptSeqs(db: Database.Database, cut: number): { keep: Set<number>; retired: string[] } {
  const keep = new Set<number>();
  const retired: string[] = [];
  const add = (v: unknown) => {
    if (typeof v === "number" && Number.isSafeInteger(v) && v <= cut) keep.add(v);
  };
  const column = (sql: string, ...args: unknown[]) => db.prepare(sql).pluck().all(...args).forEach(add);
  column(`SELECT max(seq) FROM ledger WHERE kind = 'change' AND seq <= ? AND ${VALID} GROUP BY json_extract(body, '$.key')`, cut);
  column(`SELECT max(seq) FROM ledger WHERE kind = 'baseline' AND seq <= ? AND ${VALID} GROUP BY json_extract(body, '$.path')`, cut);
  column(`SELECT DISTINCT json_extract(body, '$.roster') FROM ledger WHERE kind = 'run' AND seq > ? AND ${VALID}`, cut);
  column(`SELECT DISTINCT json_extract(body, '$.policyRecord') FROM ledger WHERE kind = 'run' AND seq > ? AND ${VALID}`, cut);
  // summaries that name a policy by its hash alone are held to the first policy record of it
  column(
    `SELECT min(p.seq) FROM ledger AS p WHERE p.kind = 'policy' AND p.seq <= ? AND json_valid(p.body) AND json_extract(p.body, '$.hash') IN
       (SELECT json_extract(body, '$.policy') FROM ledger WHERE kind = 'run' AND seq > ? AND ${VALID} AND json_extract(body, '$.policyRecord') IS NULL)
     GROUP BY json_extract(p.body, '$.hash')`,
    cut,
    cut,
  );
  column("SELECT DISTINCT record FROM approved_states");
  const told = new Set<string>();
  for (const body of db.prepare("SELECT body FROM notify_groups").pluck().iterate() as IterableIterator<string>) {
    const g = parseObject(body) as { told?: unknown };
    if (typeof g.told === "object" && g.told !== null) for (const id of Object.keys(g.told)) told.add(id);
  }
  for (const body of db.prepare("SELECT body FROM deficiencies").pluck().iterate() as IterableIterator<string>) {
    const d = parseObject(body) as { id?: unknown; status?: unknown; openedRecord?: unknown; lastRecord?: unknown; ack?: { record?: unknown } };
    const records = [d.openedRecord, d.lastRecord, ...(d.ack ? [d.ack.record] : [])];
    const gone = records.every((r) => typeof r === "number" && r <= cut);
    if (d.status === "resolved" && typeof d.id === "string" && gone && !told.has(d.id)) retired.push(d.id);
    else records.forEach(add);
  }
  return { keep, retired };
}

/**
 * Whether the pack holds every record the prune removes: from `plan.from` through the cut; and,
 * when it gives the MAC of its last record, whether that is this history's record (a pack of
 * another store, even one signed with the same key, is not evidence of this one).
 */
export function coverageProblem(db: Database.Database, plan: PrunePlan, e: PruneEvidence): string | undefined {
  const shape = Number.isSafeInteger(e.firstRecord) && Number.isSafeInteger(e.lastRecord) && e.firstRecord >= 1 && e.lastRecord >= e.firstRecord && /^[0-9a-f]{64}$/.test(e.manifestSha256) && typeof e.fingerprint === "string" && e.fingerprint.length > 0;
  if (!shape || (e.lastMac !== undefined && !/^[0-9a-f]{64}$/.test(e.lastMac))) return "the evidence pack's description is not well formed (records, manifest sha256 and key fingerprint)";
  if (e.lastMac !== undefined) {
    const mac = db.prepare("SELECT mac FROM ledger WHERE seq = ?").pluck().get(e.lastRecord) as unknown;
    if (!Buffer.isBuffer(mac) || mac.toString("hex") !== e.lastMac) return `the evidence pack's last record (${e.lastRecord}) is not this history's record ${e.lastRecord}: the pack is of another store`;
  }
  if (e.firstRecord <= plan.from && e.lastRecord >= plan.cut.seq) return undefined;
  return `the evidence pack holds records ${e.firstRecord} to ${e.lastRecord}, but this prune removes records ${plan.from} to ${plan.cut.seq} (through run ${plan.cut.run}, finished ${plan.cut.time}): make a pack whose period covers them, or prune before an earlier date`;
}

/** Removes what the plan removes: the records below the cut that are not kept, and the settled messages of their deliveries. Inside the prune's transaction. */
export function removePruned(db: Database.Database, plan: PrunePlan): void {
  const del = db.prepare("DELETE FROM ledger WHERE seq > ? AND seq < ?");
  let low = 0;
  for (const k of plan.kept) {
    del.run(low, k.seq);
    low = k.seq;
  }
  del.run(low, plan.cut.seq + 1);
  const settled = db.prepare("DELETE FROM outbox_messages WHERE id = ? AND status IN ('sent', 'given-up')");
  for (const id of plan.messages) settled.run(id);
  const deficiency = db.prepare("DELETE FROM deficiencies WHERE id = ?");
  const events = db.prepare("DELETE FROM outbox_events WHERE deficiency = ?");
  for (const id of plan.retired) {
    deficiency.run(id);
    events.run(id);
  }
  // pointers to rosters that are gone: a run that meets that set of keys again writes a new roster
  const exists = db.prepare("SELECT EXISTS (SELECT 1 FROM ledger WHERE seq = ? AND kind = 'roster')").pluck();
  const gone = metaLike(db, "roster:%").filter((p) => exists.get(Number(p.value)) !== 1);
  deleteMeta(db, gone.map((p) => p.key));
}

/** Counts of two prunes' removals together. */
export function addCounts(a: Partial<Record<RecordKind, number>>, b: Partial<Record<RecordKind, number>>): Partial<Record<RecordKind, number>> {
  const out: Partial<Record<RecordKind, number>> = { ...a };
  for (const [k, n] of Object.entries(b) as [RecordKind, number][]) out[k] = (out[k] ?? 0) + n;
  return out;
}

/**
 * The deficiencies retired up to the cut, for the checkpoint: those the run summaries at or below
 * it retired (the summaries go), those this prune retires, and those earlier prunes listed, sorted
 * and distinct. A summary's list is all `verify` has to know that a deficiency put back was retired.
 */
export function retiredThrough(db: Database.Database, plan: PrunePlan, previous: Checkpoint | undefined): string[] {
  const ids = new Set<string>([...(previous?.retired ?? []), ...plan.retired]);
  const lists = db.prepare(`SELECT json_extract(body, '$.retired') FROM ledger WHERE kind = 'run' AND seq <= ? AND ${VALID}`).pluck().iterate(plan.cut.seq) as IterableIterator<unknown>;
  for (const text of lists) {
    if (typeof text !== "string") continue;
    const list = JSON.parse(text) as unknown;
    if (Array.isArray(list)) for (const id of list) if (typeof id === "string") ids.add(id);
  }
  return [...ids].sort();
}
