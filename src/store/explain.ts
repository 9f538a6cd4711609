// Explaining past runs: for each promise a run evaluated, the outcome it had and what was
// observed, rebuilt from the history, and proven against the run's summary. The history keeps
// changes of state only, so a promise's outcome at run R is the one its last change record
// before R's summary gave it (a run that found the same state wrote nothing); which promises R
// evaluated is its roster (rosters.ts). Hashing `key=outcome` of every one of them, sorted, must
// give the summary's `outcomes` digest: when it does, the explanation is exactly what the run
// found; when it does not (a store that failed mid-run, a record lost), it says so.
import type Database from "better-sqlite3";
import { createHash } from "node:crypto";
import type { Outcome } from "../evaluator/outcomes.js";
import type { ChangeBody, RunBody, RunKind } from "./records.js";
import { runKindOf } from "./records.js";
import { Rosters } from "./rosters.js";

/** A promise as a run found it: the outcome, and the change record that last set its state. */
export interface PromiseAtRun {
  key: string;
  control: string;
  type: string;
  promiser: string;
  outcome: Outcome;
  /** the change record that set this state, its run and time: the state held from then to this run */
  record: number;
  recordRun: number;
  since: string;
  /** what was observed, as that record says it: why, and what differed (no file content) */
  reason: string;
  differences: string[];
  changes: string[];
  /** paths whose integrity findings the record holds */
  findings?: string[];
}

export interface RunExplanation {
  run: number;
  kind: RunKind;
  /** the summary's record number */
  summaryRecord: number;
  started: string;
  finished: string;
  dryRun: boolean;
  sandbox: boolean;
  policy: { hash: string; record?: number };
  roster?: number;
  promises: PromiseAtRun[];
  /** whether the promises' outcomes hash to the summary's digest, and when not why */
  proof: { proven: true; digest: string } | { proven: false; why: string };
}

interface SummaryRow {
  seq: number;
  run: number;
  body: string;
}

const KEY_OF = "CASE WHEN json_valid(body) THEN json_extract(body, '$.key') END";

/** The outcomes digest a summary carries, over these promises (as src/run/record.ts computes it). */
export function outcomesDigest(promises: readonly { key: string; outcome: string }[]): string {
  return createHash("sha256")
    .update(
      promises
        .map((p) => `${p.key}=${p.outcome}`)
        .sort()
        .join("\n"),
    )
    .digest("hex");
}

/**
 * Explains each of `runs` that has a summary (runs without one are left out: killed before it).
 * One pass over the change records up to the latest summary asked for, whatever the number of
 * runs: an auditor's sample of 25 runs over a year costs about what one does.
 */
export function explainRuns(db: Database.Database, runs: readonly number[]): Map<number, RunExplanation> {
  const out = new Map<number, RunExplanation>();
  if (runs.length === 0) return out;
  const summaries = summariesOf(db, runs);
  if (summaries.length === 0) return out;
  const rosters = new Rosters(db);
  const lastSeq = summaries[summaries.length - 1]!.seq;
  const latest = new Map<string, number>();
  const changes = db.prepare(`SELECT seq, ${KEY_OF} AS key FROM ledger WHERE kind = 'change' AND seq < ? ORDER BY seq`).iterate(lastSeq) as IterableIterator<{ seq: number; key: unknown }>;
  let next = 0;
  const wanted: { summary: SummaryRow; body: Partial<RunBody>; keys: string[] | undefined; at: Map<string, number> }[] = [];
  const snapshot = (s: SummaryRow) => {
    const body = parseObject(s.body) as Partial<RunBody>;
    const keys = typeof body.roster === "number" ? rosters.read(body.roster)?.keys : undefined;
    const at = new Map<string, number>();
    for (const k of keys ?? []) {
      const seq = latest.get(k);
      if (seq !== undefined) at.set(k, seq);
    }
    wanted.push({ summary: s, body, keys, at });
  };
  for (const c of changes) {
    while (next < summaries.length && summaries[next]!.seq < c.seq) snapshot(summaries[next++]!);
    if (typeof c.key === "string") latest.set(c.key, c.seq);
  }
  while (next < summaries.length) snapshot(summaries[next++]!);
  const bodies = changeBodies(db, new Set(wanted.flatMap((w) => [...w.at.values()])));
  for (const w of wanted) out.set(w.summary.run, explanation(w.summary, w.body, w.keys, w.at, bodies));
  return out;
}

function summariesOf(db: Database.Database, runs: readonly number[]): SummaryRow[] {
  const stmt = db.prepare("SELECT seq, run, body FROM ledger WHERE kind = 'run' AND run = ? ORDER BY seq DESC LIMIT 1");
  const rows: SummaryRow[] = [];
  for (const run of new Set(runs)) {
    const row = stmt.get(run) as SummaryRow | undefined;
    if (row) rows.push(row);
  }
  return rows.sort((a, b) => a.seq - b.seq);
}

function changeBodies(db: Database.Database, seqs: Set<number>): Map<number, { run: number; time: string; body: Partial<ChangeBody> }> {
  const stmt = db.prepare("SELECT run, time, body FROM ledger WHERE seq = ? AND kind = 'change'");
  const out = new Map<number, { run: number; time: string; body: Partial<ChangeBody> }>();
  for (const seq of seqs) {
    const row = stmt.get(seq) as { run: number; time: string; body: string } | undefined;
    if (row) out.set(seq, { run: row.run, time: row.time, body: parseObject(row.body) as Partial<ChangeBody> });
  }
  return out;
}

function explanation(s: SummaryRow, body: Partial<RunBody>, keys: string[] | undefined, at: Map<string, number>, bodies: ReturnType<typeof changeBodies>): RunExplanation {
  const promises: PromiseAtRun[] = [];
  for (const key of keys ?? []) {
    const seq = at.get(key);
    const rec = seq === undefined ? undefined : bodies.get(seq);
    if (seq === undefined || !rec) continue;
    const b = rec.body;
    promises.push({
      key,
      control: String(b.control ?? ""),
      type: String(b.type ?? ""),
      promiser: String(b.promiser ?? ""),
      outcome: b.to as Outcome,
      record: seq,
      recordRun: rec.run,
      since: rec.time,
      reason: String(b.reason ?? ""),
      differences: Array.isArray(b.differences) ? b.differences.map(String) : [],
      changes: Array.isArray(b.changes) ? b.changes.map(String) : [],
      ...(Array.isArray(b.findings) && b.findings.length > 0 ? { findings: b.findings.map((f) => String(f.path)) } : {}),
    });
  }
  return {
    run: s.run,
    kind: runKindOf(body),
    summaryRecord: s.seq,
    started: String(body.started ?? ""),
    finished: String(body.finished ?? ""),
    dryRun: body.dryRun === true,
    sandbox: body.sandbox === true,
    policy: { hash: String(body.policy ?? ""), ...(typeof body.policyRecord === "number" ? { record: body.policyRecord } : {}) },
    ...(typeof body.roster === "number" ? { roster: body.roster } : {}),
    promises,
    proof: proofOf(body, keys, promises),
  };
}

function proofOf(body: Partial<RunBody>, keys: string[] | undefined, promises: PromiseAtRun[]): RunExplanation["proof"] {
  if (body.dryRun === true) return { proven: false, why: "a dry run records no promise's state: only its summary's counts say what it found" };
  if (typeof body.roster !== "number") return { proven: false, why: "its summary was written before Covenant kept which promises a run evaluated" };
  if (keys === undefined) return { proven: false, why: `its roster (record ${body.roster}) is missing or not one Covenant wrote` };
  const missing = keys.length - promises.length;
  if (missing > 0) return { proven: false, why: `${missing} of its ${keys.length} promises have no change record before its summary (the store failed during the run, or records were lost)` };
  const digest = outcomesDigest(promises);
  if (digest !== body.outcomes) return { proven: false, why: "the outcomes rebuilt from the history do not hash to the digest in its summary (the store failed during the run, or records were lost)" };
  return { proven: true, digest };
}

/** A record body as an object: {} for one that is not a JSON object (the chain walk judges those). */
export function parseObject(text: string): object {
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === "object" && v !== null ? v : {};
  } catch {
    return {};
  }
}
