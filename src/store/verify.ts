// `verify`: everything in the store that reaches a report must be as Covenant wrote it. The
// chain is walked from its first record (after a prune, from the checkpoint's cut, with the
// records kept below it held to their recorded predecessors: checkpoint.ts); its end must match
// both head anchors; the sealed tables (baselines, current state, learnt bands, from schema 5
// deficiencies and the outbox, from schema 6 the watcher's heartbeat, and from schema 7 the
// approved integrity states) must carry their seals; the current state of each promise must be
// the one its last change record says; the deficiencies and outbox must agree with the history
// (notify-verify.ts); each policy version must be the text it is stored as and be held for every
// run that names it (policy-verify.ts); and each rotation of the signing key must carry both
// keys' signatures and follow the one before (rotation.ts). The history is read once, a record
// at a time, by every check together (row-check.ts); the first problem found, in the order
// below, is reported with the record it concerns.
import type Database from "better-sqlite3";
import { anchoredSchema, dbHeadOf, endTampering, runCounter, type FileHead } from "./anchors.js";
import type { LedgerRow, RecordKind, Tampering } from "./ledger.js";
import { ChainCheck, readCheckpoint, type CheckpointState } from "./checkpoint.js";
import { hostKeyId } from "./deficiencies.js";
import type { HostKeys } from "./host-keys.js";
import { HostRotationCheck } from "./host-rotation-verify.js";
import type { PruneEvidence } from "./records.js";
import { NotifyCheck } from "./notify-verify.js";
import { PolicyCheck } from "./policy-verify.js";
import { RosterCheck } from "./roster-verify.js";
import { RotationCheck } from "./rotation.js";
import { runKindOf } from "./records.js";
import { INTEGRITY_SCHEMA, NOTIFY_SCHEMA, WATCH_SCHEMA } from "./schema.js";
import { ApprovedCheck } from "./approved-verify.js";
import { BaselineCheck, CurrentCheck, RollbackCheck, RunCounterCheck, SummaryCheck, type KnownHead } from "./history-checks.js";
import { RecordView, type RowCheck } from "./row-check.js";
import { RunMarks } from "./run-marks.js";
import { bandsDigest, sealBand, sealMatches, type BandRow } from "./seals.js";
import { WatcherCheck } from "./watcher.js";
import { readMeta } from "./meta.js";

export { hasColumn, type KnownHead } from "./history-checks.js";

export interface VerifyReport {
  records: number;
  runs: number[];
  /** how many of `runs` the watcher made (summaries of kind "watch"); the others are `covenant run`s */
  watchRuns: number;
  firstRun?: string;
  lastRun?: string;
  tampering?: Tampering;
  /** the end of the chain this report vouches for: keep it off the host to detect a rollback of the whole store */
  head?: { seq: number; mac: string };
  /** runs that wrote changes but no summary: killed before they finished */
  interrupted: number[];
  /** run numbers allocated but without any record (stopped before recording anything): the newest 100 */
  silent: number[];
  /** how many such runs there are in all */
  silentCount: number;
  /** the head anchor file ledger.head is absent */
  headMissing: boolean;
  /** what else the reader should know (a store written by an older Covenant) */
  notes: string[];
  /**
   * the checkpoint a prune left (present only after one): the history before record `seq` + 1
   * was removed, through run `run`, on `at`, and is in the evidence pack named (and the earlier ones)
   */
  checkpoint?: { seq: number; run: number; at: string; before: string; kept: number; removed: number; evidence: PruneEvidence; earlier: PruneEvidence[] };
}

export interface StoreView {
  db: Database.Database;
  /** the key in force: what the seals and anchors are made with */
  key: Buffer;
  /** which key MACs which record (host-keys.ts) */
  keys: HostKeys;
  /** read before the read transaction starts: a run finishing meanwhile only makes it older */
  fileHead: FileHead;
  schema: number;
  /** whether `current` and `bands` carry seals (schema 4 on) */
  sealedTables: boolean;
  /** whether the store has the deficiency and outbox tables (schema 5 on) */
  notifyTables: boolean;
  /** whether the store has the watcher's heartbeat table (schema 6 on) */
  watcherTable: boolean;
  /** whether the store has the approved integrity states (schema 7 on) */
  approvedTable?: boolean;
  /** a head an earlier `verify` printed, kept off the host: it must still be in the chain */
  knownHead?: KnownHead;
}

/** The runs the history holds, as the report lists them: summaries, watcher runs, runs with changes but no summary. */
class RunTally implements RowCheck {
  readonly runs: number[] = [];
  watchRuns = 0;
  firstRun: string | undefined;
  lastRun: string | undefined;
  records = 0;
  last: LedgerRow | undefined;
  readonly summarised = new RunMarks();
  readonly withChanges = new RunMarks();
  /** runs with changes, in the order first seen (for those without a summary) */
  readonly changed: number[] = [];

  visit(v: RecordView): void {
    const r = v.row;
    this.records++;
    this.last = r;
    if (r.kind === "run") {
      this.summarised.add(r.run);
      this.runs.push(r.run);
      if (String(r.body).includes('"watch"') && runKindOf(v.object() ?? {}) === "watch") this.watchRuns++;
      this.firstRun ??= r.time;
      this.lastRun = r.time;
    } else if (r.run > 0 && !this.withChanges.has(r.run)) {
      this.withChanges.add(r.run);
      this.changed.push(r.run);
    }
  }

  result(): undefined {
    return undefined;
  }
}

/** Every check of the history, in the order their problems are reported: the first one found is the one `verify` names. */
function historyChecks(v: StoreView, cp: CheckpointState, cutRun: number) {
  const retired = cp.state === "sealed" ? cp.checkpoint.retired : undefined;
  return {
    hostRotation: new HostRotationCheck(v.keys, cp.state === "sealed" ? cp.checkpoint.cut.seq : 0),
    chain: new ChainCheck(v.keys, cp),
    counter: new RunCounterCheck(v.db, cutRun),
    summary: new SummaryCheck(),
    policy: new PolicyCheck(),
    roster: new RosterCheck(),
    rotation: new RotationCheck(),
    baseline: new BaselineCheck(v.db, v.key),
    current: new CurrentCheck(v.db, v.key, v.sealedTables),
    notify: v.notifyTables ? new NotifyCheck(v.db, v.key, retired) : undefined,
    watcher: v.watcherTable ? new WatcherCheck(v.db, v.key) : undefined,
    approved: v.approvedTable ? new ApprovedCheck(v.db, v.key) : undefined,
    rollback: v.knownHead ? new RollbackCheck(v.knownHead) : undefined,
  };
}

/** Reads the history once, a record at a time (rows as arrays: a year's ~315,000 row objects cost ~1 s more), giving each to every check. */
function walkHistory(db: Database.Database, checks: readonly RowCheck[]): void {
  const view = new RecordView();
  const rows = db.prepare("SELECT seq, kind, run, time, body, mac FROM ledger ORDER BY seq").raw().iterate() as IterableIterator<[number, RecordKind, number, string, string, Buffer]>;
  for (const [seq, kind, run, time, body, mac] of rows) {
    view.at({ seq, kind, run, time, body, mac });
    for (const c of checks) c.visit(view);
  }
}

/** `extra`: more checks that see every record in the same walk (the evidence pack's scan), after verify's own. */
export function verifyStore(v: StoreView, extra: readonly RowCheck[] = []): VerifyReport {
  // one read transaction: a run finishing meanwhile must not look like records cut off
  return v.db.transaction(() => {
    const cp = readCheckpoint(v.db, v.keys);
    // runs at or before the checkpoint's cut were pruned whole: none of them is interrupted or silent
    const cutRun = cp.state === "sealed" ? cp.checkpoint.cut.run : 0;
    const checks = historyChecks(v, cp, cutRun);
    const tally = new RunTally();
    walkHistory(v.db, [tally, ...Object.values(checks).filter((c): c is NonNullable<typeof c> => c !== undefined), ...extra]);
    const report: VerifyReport = { records: tally.records, runs: tally.runs, watchRuns: tally.watchRuns, interrupted: [], silent: [], silentCount: 0, headMissing: !v.fileHead.present, notes: [] };
    if (tally.firstRun !== undefined) report.firstRun = tally.firstRun;
    if (tally.lastRun !== undefined) report.lastRun = tally.lastRun;
    if (cp.state === "sealed") {
      const c = cp.checkpoint;
      const removed = Object.values(c.removed).reduce((n: number, k) => n + (typeof k === "number" ? k : 0), 0);
      report.checkpoint = { seq: c.cut.seq, run: c.cut.run, at: c.at, before: c.before, kept: c.kept.length, removed, evidence: c.evidence, earlier: c.earlier };
    }
    // a store whose host key was rotated: its rotation records' problems explain the chain's (a
    // schedule edited makes records look altered); one never rotated: a record forged into a
    // rotation is an altered record first, as the chain names it
    const rotated = v.keys.rotations.length > 0 || hostKeyIdOf(v) !== undefined;
    const tampering =
      checks.hostRotation.keysProblem() ??
      (rotated ? checks.hostRotation.result() : undefined) ??
      checks.chain.result() ??
      endTampering(v.db, v.keys, v.fileHead) ??
      schemaTampering(v) ??
      checks.hostRotation.result() ??
      keyInForceTampering(v) ??
      checks.counter.result() ??
      checks.summary.result() ??
      checks.policy.result() ??
      checks.roster.result() ??
      checks.rotation.result() ??
      checks.baseline.result() ??
      checks.current.result() ??
      bandTampering(v) ??
      checks.notify?.result() ??
      checks.watcher?.result() ??
      checks.approved?.result() ??
      checks.rollback?.result();
    if (tampering) report.tampering = tampering;
    if (!v.sealedTables) report.notes.push(`the store was written by an older Covenant (schema ${v.schema}): the current state and the learnt bands are sealed at its next run`);
    if (!v.notifyTables) report.notes.push(`the store keeps no deficiencies yet (schema ${v.schema}): its next run adds them, opening one for each promise whose last record is drift, failed or error`);
    const last = tally.last;
    if (!report.tampering && last && Buffer.isBuffer(last.mac)) report.head = { seq: last.seq, mac: last.mac.toString("hex") };
    report.interrupted = tally.changed.filter((r) => !tally.summarised.has(r) && r > cutRun).sort((a, b) => a - b);
    // the counter is bounded when it is not tampering (RunCounterCheck): at most MAX_SILENT past the last recorded run
    const counter = report.tampering ? 0 : runCounter(v.db);
    for (let n = counter; n > cutRun; n--) {
      if (tally.summarised.has(n) || tally.withChanges.has(n)) continue;
      report.silentCount++;
      if (report.silent.length < SILENT_LISTED) report.silent.unshift(n);
    }
    return report;
  })();
}

function schemaTampering(v: StoreView): Tampering | undefined {
  const anchored = anchoredSchema(v.db, v.keys, v.fileHead);
  if (anchored > v.schema || (anchored >= 4 && !v.sealedTables) || (anchored >= NOTIFY_SCHEMA && !v.notifyTables) || (anchored >= WATCH_SCHEMA && !v.watcherTable) || (anchored >= INTEGRITY_SCHEMA && !v.approvedTable)) return { kind: "altered", seq: 0, message: `the store says schema ${v.schema}, but its sealed head anchor was written with schema ${anchored}: its tables were set back to escape their seals` };
  return undefined;
}

/** The id of the host key in force as the store records it: written by the first rotation, absent before. */
function hostKeyIdOf(v: StoreView): unknown {
  return readMeta(v.db, "host_key_id");
}

/** The store's record of which host key is in force (`host_key_id`, which writers check) must be the key the schedule puts in force. */
function keyInForceTampering(v: StoreView): Tampering | undefined {
  const id = hostKeyIdOf(v);
  if (id === undefined || id === hostKeyId(v.keys.current)) return undefined;
  return { kind: "altered", seq: 0, message: "the store's record of the host key in force (host_key_id) is not the key its rotations put in force: it was edited, and every run would be refused as if the key had just been rotated" };
}

/** Silent runs listed by number (the newest); the rest are counted. */
const SILENT_LISTED = 100;

/** Every band must carry its seal, and the bands must be the ones the last summary left (their digest is in the database's head anchor). */
function bandTampering(v: StoreView): Tampering | undefined {
  if (!v.sealedTables) return undefined;
  for (const b of v.db.prepare("SELECT * FROM bands ORDER BY metric, hour").iterate() as IterableIterator<BandRow>) {
    if (!sealMatches(b.seal, sealBand(v.key, b))) return { kind: "altered", seq: 0, message: `the learnt band of ${b.metric} at hour ${b.hour} of the week was changed outside Covenant: its seal does not match` };
  }
  const head = dbHeadOf(v.db);
  const anchored = head.present ? (head.value as { bands?: unknown }).bands : undefined;
  if (typeof anchored === "string" && bandsDigest(v.db) !== anchored) {
    return { kind: "altered", seq: 0, message: "the learnt bands are not the ones the last run left (the head anchor in the database records their digest): a band was put back from an older copy, added or deleted" };
  }
  return undefined;
}
