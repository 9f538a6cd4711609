// `verify`: everything in the store that reaches a report must be as Covenant wrote it. The
// chain is walked from its first record (after a prune, from the checkpoint's cut, with the
// records kept below it held to their recorded predecessors: checkpoint.ts); its end must
// match both head anchors; the sealed
// tables (baselines, current state, learnt bands, from schema 5 deficiencies and the outbox,
// from schema 6 the watcher's heartbeat, and from schema 7 the approved integrity states) must carry their seals, the current state of each promise must be the one its last change
// record says, the deficiencies and outbox must agree with the history (notify-verify.ts), and each policy version
// must be the text it is stored as and be held for every run that names it (policy-verify.ts), and each
// rotation of the signing key must carry both keys' signatures and follow the one before (rotation.ts). The first problem found is
// reported, with the record it concerns.
import type Database from "better-sqlite3";
import { anchoredSchema, dbHeadOf, endTampering, runCounter, type FileHead } from "./anchors.js";
import type { LedgerRow, Tampering } from "./ledger.js";
import { chainTampering, readCheckpoint } from "./checkpoint.js";
import type { HostKeys } from "./host-keys.js";
import { hostRotationTampering } from "./host-rotation.js";
import type { PruneEvidence } from "./records.js";
import { notifyTampering } from "./notify-verify.js";
import { policyTampering } from "./policy-verify.js";
import { rosterTampering } from "./roster-verify.js";
import { rotationTampering } from "./rotation.js";
import { runKindOf } from "./records.js";
import { INTEGRITY_SCHEMA, NOTIFY_SCHEMA, WATCH_SCHEMA } from "./schema.js";
import { approvedTampering } from "./approved-verify.js";
import { bandsDigest, sealBand, sealBaseline, sealCurrent, sealMatches, type BandRow, type BaselineRow, type CurrentRow } from "./seals.js";
import { watcherTampering } from "./watcher.js";

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

/** A record number and the start (at least 16 hex digits) of its MAC, as `verify` prints the head. */
export interface KnownHead {
  seq: number;
  mac: string;
}

/** The deficiencies the checkpoint says were retired up to its cut, with the last prune record (which vouches for the checkpoint). */
function prunedRetired(rows: LedgerRow[], cp: ReturnType<typeof readCheckpoint>): { ids: readonly string[]; seq: number } | undefined {
  if (cp.state !== "sealed" || !cp.checkpoint.retired) return undefined;
  let seq = 0;
  for (const r of rows) if (r.kind === "prune") seq = r.seq;
  return { ids: cp.checkpoint.retired, seq };
}

/** Whether the chain still holds a head vouched for earlier: a store rolled back with its anchors does not. */
function rollbackTampering(rows: LedgerRow[], known: KnownHead): Tampering | undefined {
  const last = rows.at(-1)?.seq ?? 0;
  const row = rows.find((r) => r.seq === known.seq);
  if (!row) return { kind: "deleted", seq: known.seq, message: `record ${known.seq}, vouched for by an earlier verify, is not in the history (it ends at record ${last}): the store was rolled back` };
  if (!Buffer.isBuffer(row.mac) || !row.mac.toString("hex").startsWith(known.mac)) return { kind: "altered", seq: known.seq, message: `record ${known.seq} is not the one an earlier verify vouched for (MAC ${known.mac.slice(0, 16)}…): the store was rolled back and rewritten` };
  return undefined;
}

export function verifyStore(v: StoreView): VerifyReport {
  // one read transaction: a run finishing meanwhile must not look like records cut off
  return v.db.transaction(() => {
    const rows = v.db.prepare("SELECT seq, kind, run, time, body, mac FROM ledger ORDER BY seq").all() as LedgerRow[];
    const report: VerifyReport = { records: rows.length, runs: [], watchRuns: 0, interrupted: [], silent: [], silentCount: 0, headMissing: !v.fileHead.present, notes: [] };
    const cp = readCheckpoint(v.db, v.keys);
    // runs at or before the checkpoint's cut were pruned whole: none of them is interrupted or silent
    const cutRun = cp.state === "sealed" ? cp.checkpoint.cut.run : 0;
    if (cp.state === "sealed") {
      const c = cp.checkpoint;
      const removed = Object.values(c.removed).reduce((n: number, k) => n + (typeof k === "number" ? k : 0), 0);
      report.checkpoint = { seq: c.cut.seq, run: c.cut.run, at: c.at, before: c.before, kept: c.kept.length, removed, evidence: c.evidence, earlier: c.earlier };
    }
    report.tampering =
      hostRotationTampering(rows, v.keys, cp.state === "sealed" ? cp.checkpoint.cut.seq : 0) ??
      chainTampering(v.keys, rows, cp) ??
      endTampering(v.db, v.keys, v.fileHead) ??
      schemaTampering(v) ??
      runCounterTampering(v.db, rows, cutRun) ??
      summaryTampering(rows) ??
      policyTampering(rows) ??
      rosterTampering(rows) ??
      rotationTampering(rows) ??
      baselineTampering(v, rows) ??
      currentTampering(v, rows) ??
      bandTampering(v) ??
      (v.notifyTables ? notifyTampering(v.db, v.key, rows, prunedRetired(rows, cp)) : undefined) ??
      (v.watcherTable ? watcherTampering(v.db, v.key, rows) : undefined) ??
      (v.approvedTable ? approvedTampering(v.db, v.key, rows) : undefined) ??
      (v.knownHead ? rollbackTampering(rows, v.knownHead) : undefined);
    if (!v.sealedTables) report.notes.push(`the store was written by an older Covenant (schema ${v.schema}): the current state and the learnt bands are sealed at its next run`);
    if (!v.notifyTables) report.notes.push(`the store keeps no deficiencies yet (schema ${v.schema}): its next run adds them, opening one for each promise whose last record is drift, failed or error`);
    const last = rows.at(-1);
    if (!report.tampering && last && Buffer.isBuffer(last.mac)) report.head = { seq: last.seq, mac: last.mac.toString("hex") };
    const summarised = new Set<number>();
    const withChanges = new Set<number>();
    for (const r of rows) {
      if (r.kind === "run") {
        summarised.add(r.run);
        report.runs.push(r.run);
        if (String(r.body).includes('"watch"') && runKindOf((parse(r.body) ?? {}) as { kind?: unknown }) === "watch") report.watchRuns++;
        report.firstRun ??= r.time;
        report.lastRun = r.time;
      } else if (r.run > 0) withChanges.add(r.run);
    }
    report.interrupted = [...withChanges].filter((r) => !summarised.has(r) && r > cutRun).sort((a, b) => a - b);
    // the counter is bounded when it is not tampering (runCounterTampering): at most MAX_SILENT past the last recorded run
    const counter = report.tampering ? 0 : runCounter(v.db);
    for (let n = counter; n > cutRun; n--) {
      if (summarised.has(n) || withChanges.has(n)) continue;
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

/** Silent runs listed by number (the newest); the rest are counted. */
const SILENT_LISTED = 100;

/**
 * Runs that stopped before recording anything, past the last recorded run, that a store without
 * the run anchor (written by an older Covenant) may show before its counter is called forged.
 */
const MAX_SILENT = 100_000;

/**
 * Run numbers only grow: a run counter set back would make two runs share a number; one set far
 * forward would name runs that never were. After a prune, the checkpoint's run was recorded too.
 */
function runCounterTampering(db: Database.Database, rows: LedgerRow[], cutRun: number): Tampering | undefined {
  let highest = 0;
  for (const r of rows) {
    if (r.run < highest && r.run > 0) return { kind: "altered", seq: r.seq, message: `record ${r.seq} belongs to run ${r.run}, after records of run ${highest}: run numbers were reused` };
    highest = Math.max(highest, r.run);
  }
  const counter = runCounter(db);
  highest = Math.max(highest, cutRun);
  if (Number.isNaN(counter)) return { kind: "altered", seq: 0, message: "the run counter in the database is not a run number: it was edited" };
  if (counter < highest) return { kind: "altered", seq: 0, message: `the run counter in the database says ${counter}, but run ${highest} is recorded: it was set back` };
  // with the run anchor, endTampering holds the counter to it; without, a bound
  if (counter > highest + MAX_SILENT) return { kind: "altered", seq: 0, message: `the run counter in the database says ${counter}, far past the last recorded run (${highest}): it was set forward` };
  return undefined;
}

/**
 * Each run's summary says how many change records the run wrote: fewer in the history were
 * dropped (as they were written, by SQL planted in the store, or after), more were added.
 */
function summaryTampering(rows: LedgerRow[]): Tampering | undefined {
  const changes = new Map<number, number>();
  for (const r of rows) if (r.kind === "change") changes.set(r.run, (changes.get(r.run) ?? 0) + 1);
  for (const r of rows) {
    if (r.kind !== "run") continue;
    const said = (parse(r.body) as { changed?: unknown } | undefined)?.changed;
    const held = changes.get(r.run) ?? 0;
    if (typeof said !== "number" || said === held) continue;
    return held < said
      ? { kind: "deleted", seq: r.seq, message: `run ${r.run}'s summary (record ${r.seq}) says it wrote ${said} change record${said === 1 ? "" : "s"}, but the history holds ${held}: records were dropped` }
      : { kind: "inserted", seq: r.seq, message: `run ${r.run}'s summary (record ${r.seq}) says it wrote ${said} change record${said === 1 ? "" : "s"}, but the history holds ${held}: records were added` };
  }
  return undefined;
}

/** Every stored baseline must carry its seal and match its approval in the chain. */
function baselineTampering(v: StoreView, rows: LedgerRow[]): Tampering | undefined {
  const approved = new Map<string, { seq: number; digest: string }>();
  for (const r of rows) {
    if (r.kind !== "baseline") continue;
    const b = parse(r.body) as { path?: unknown; digest?: unknown } | undefined;
    if (typeof b?.path === "string" && typeof b.digest === "string") approved.set(b.path, { seq: r.seq, digest: b.digest });
  }
  const stored = v.db.prepare("SELECT * FROM baselines ORDER BY path").all() as BaselineRow[];
  for (const b of stored) {
    const a = approved.get(b.path);
    if (!sealMatches(b.seal, sealBaseline(v.key, b))) return { kind: "altered", seq: a?.seq ?? 0, message: `the stored baseline of ${b.path} was changed outside Covenant` };
    if (a && a.digest !== b.digest) return { kind: "altered", seq: a.seq, message: `the stored baseline of ${b.path} differs from its approval in record ${a.seq}` };
    approved.delete(b.path);
  }
  for (const [path, a] of approved) return { kind: "deleted", seq: a.seq, message: `the stored baseline of ${path}, approved in record ${a.seq}, was deleted` };
  return undefined;
}

/**
 * Each promise's current state decides whether the next run writes a record: it must carry its
 * seal and be what the promise's last change record says (a sealed row put back from an older
 * copy fails this), and every promise with a record must have one.
 */
function currentTampering(v: StoreView, rows: LedgerRow[]): Tampering | undefined {
  const lastChange = new Map<string, { seq: number; run: number; control: unknown; to: unknown; reason: unknown }>();
  for (const r of rows) {
    if (r.kind !== "change") continue;
    const b = parse(r.body) as { key?: unknown; control?: unknown; to?: unknown; reason?: unknown } | undefined;
    if (typeof b?.key === "string") lastChange.set(b.key, { seq: r.seq, run: r.run, control: b.control, to: b.to, reason: b.reason });
  }
  const columns = v.sealedTables ? "*" : "key, control, outcome, state, since, reason, NULL AS seal, " + (hasColumn(v.db, "current", "run") ? "run" : "last_run AS run");
  const stored = v.db.prepare(`SELECT ${columns} FROM current ORDER BY key`).all() as CurrentRow[];
  for (const c of stored) {
    const last = lastChange.get(c.key);
    if (v.sealedTables && !sealMatches(c.seal, sealCurrent(v.key, c))) return { kind: "altered", seq: last?.seq ?? 0, message: `the current state of ${c.key} was changed outside Covenant: its seal does not match` };
    if (!last) return { kind: "inserted", seq: 0, message: `the current state of ${c.key} has no record in the history: it was put there outside Covenant` };
    if (last.run !== c.run || last.to !== c.outcome || last.control !== c.control || last.reason !== c.reason) {
      return { kind: "altered", seq: last.seq, message: `the current state of ${c.key} is not the one its last record (${last.seq}) says: it was replaced` };
    }
    lastChange.delete(c.key);
  }
  for (const [key, last] of lastChange) return { kind: "deleted", seq: last.seq, message: `the current state of ${key}, recorded in record ${last.seq}, was deleted` };
  return undefined;
}

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

function parse(text: unknown): unknown {
  try {
    return JSON.parse(String(text)) as unknown;
  } catch {
    return undefined; // the chain walk has already judged this record
  }
}

export function hasColumn(db: Database.Database, table: string, column: string): boolean {
  return (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).some((c) => c.name === column);
}
