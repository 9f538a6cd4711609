// The host's state store, one SQLite file under the state directory: the current state of
// every promise, the hash-chained history of its changes, one summary per run, the integrity
// baselines and the learnt bands, (schema 5) the deficiencies, the outbox and the notification
// log, each moved in the transaction of the record that moved it, and (schema 6) the watcher's
// heartbeat. Written in WAL
// mode, one transaction per record, so that a run killed at any point leaves a store that
// opens, verifies and has lost nothing committed.
// `run` opens it for writing; `history` and `verify` read it and change nothing.
import type Database from "better-sqlite3";
import { hexDigest } from "../text/digest.js";
import { statSync } from "node:fs";
import { join, resolve } from "node:path";
import { CannotObserve, type ApprovedEntry, type ApprovedState, type Baseline, type BaselineStore, type IntegrityStore, type SampleStore } from "../evaluator/contract.js";
import { ApprovedStates, approvedStatesPresent } from "./approved-states.js";
import { compactMaskedStore, remaskApprovedCopies, remaskNote, type Remasked } from "./approved-remask.js";
import type { ApprovedCopy } from "../integrity/approved-copy.js";
import type { PromiseResult } from "../evaluator/engine.js";
import type { Outcome } from "../evaluator/outcomes.js";
import { anchoredSchema, dbHeadOf, endTampering, readFileHead, runCounter, type FileHead } from "./anchors.js";
import { LearntBands } from "./bands.js";
import { checkpoint, openForReading, openForWriting, type ReadOnlyDatabase } from "./database.js";
import { damageMessage, HistoryBrokenError, isDamage, operationalError, StoreDamagedError, StoreError } from "./errors.js";
import { databaseExists, guarded, headGone, makeStore, missingStore, schemaTampered, schemaVersion, unfinishedStore, witnessesOf, type Witnesses } from "./opening.js";
import { hostKeyPath, keyKeptElsewhere, readHostKey } from "./host-key.js";
import { HostKeys, readPendingKey, scheduleOf } from "./host-keys.js";
import { discardPendingHostKey, finishHostRotation, finishOnOpening, handOver, hostRotationBody, newHostKey, storePendingHostKey } from "./host-rotation.js";
import { KEYED, KeyedDigests } from "./keyed-digests.js";
import { GENESIS, macOf, sealHead, type Head, type LedgerRow, type RecordKind, type Tampering } from "./ledger.js";
import type { ApprovalBody, BaselineBody, ChangeBody, HistoryEntry, PolicyFile, PruneBody, PruneEvidence, RotationBody, RunBody, RunKind } from "./records.js";
import { recordedFindings } from "./recorded-findings.js";
import { replaceFile } from "./safe-files.js";
import { SCHEMA_VERSION, schemaIsEmpty, schemaProblem } from "./schema.js";
import { sealBaseline, sealCurrent, sealMatches, type BaselineRow, type CurrentRow } from "./seals.js";
import { checkStateDirectory, checkStateFiles } from "./trust.js";
import { hasColumn, verifyStore, type KnownHead, type VerifyReport } from "./verify.js";
import { migrate } from "./migrate.js";
import { lastRecord, recordRangeIn } from "./period-reads.js";
import type { Finding } from "./deficiencies.js";
import { Notifications, systemResult, type DeliveryResult, type SavedPlan, type WorkingSet } from "./notify.js";
import type { Acknowledgement, Deficiency, OutboxMessage } from "../notifiers/contract.js";
import { answerOf, hubWaivers, lastChangeOf, lastRunPolicy, type DecisionRefusalBody, type WaiverBody } from "./hub-decisions.js";

/** What a fleet hub's decision may write (StateStore.applyHubDecision): its one record. */
export interface HubDecisionWriter {
  /** the acknowledgement, as `covenant ack` writes it; DeficiencyError when it is not open */
  acknowledge(deficiency: string, ack: Omit<Acknowledgement, "record">): { seq: number; mac: Buffer };
  waiver(body: WaiverBody): { seq: number; mac: Buffer };
  refuse(body: DecisionRefusalBody): { seq: number; mac: Buffer };
}
import { isDeficiency } from "../evaluator/outcomes.js";
import { judgeHeartbeat, Watcher, type Beat, type WatcherStatus } from "./watcher.js";
import { hashPolicy, policyBody, PolicyRecords, type PolicyVersionSummary } from "./policies.js";
import { rosterBody, Rosters } from "./rosters.js";
import { explainRuns, type RunExplanation } from "./explain.js";
import { lastRotatedTo, rotateSigningKey, type RotationDone, type Rotator } from "./rotation.js";
import { signingKeyInForce, signingKeyPath, type SigningKey } from "./signing-key.js";
import { ScanCheck, scanRecords, type ScannedRecord, type ScanRange } from "./scan.js";
import { deficiencyId, hostKeyId } from "./deficiencies.js";
import { checkAcross, checkpointDigest, readCheckpoint, sealCheckpoint, writeCheckpoint, type Checkpoint, type CheckpointState } from "./checkpoint.js";
import { addCounts, coverageProblem, planPrune, removePruned, retiredThrough } from "./prune.js";
import { readHubPosition, writeHubPosition, type HubPoint } from "./hub-position.js";
import { RunReads, type RunWants } from "./run-reads.js";

export { damageMessage, HistoryBrokenError, isDamage, StoreDamagedError, StoreError, UntrustedStateError } from "./errors.js";
export type { AckBody, ApprovalBody, BaselineBody, ChangeBody, DeliveryBody, HistoryEntry, HostRotationBody, PolicyBody, PolicyFile, PruneBody, PruneEvidence, RecordedFinding, RosterBody, RotationBody, RunBody, RunKind } from "./records.js";
export { fingerprintOf, publicKeyPem, type SigningKey } from "./signing-key.js";
export type { Checkpoint } from "./checkpoint.js";
export { hashPolicy, type PolicyVersionSummary } from "./policies.js";
export { outcomesDigest, type PromiseAtRun, type RunExplanation } from "./explain.js";
export type { ScannedRecord, ScanRange } from "./scan.js";
export type { HubPoint } from "./hub-position.js";

/** What a scan of the history vouches for (scanHistory, verifyAndScan). */
export interface ScanOutcome {
  /** the last record read */
  last?: { seq: number; mac: string };
  /** the store's last record when the scan began */
  storeHead?: { seq: number; mac: string };
  /** when the scan reached the store's last record: whether the anchors vouch for that end */
  end?: Tampering;
  checkpoint?: Checkpoint;
}
export { runKindOf } from "./records.js";
export { staleAfterMs, type Beat, type Heartbeat, type WatcherStatus } from "./watcher.js";
export { DeficiencyError, type Finding } from "./deficiencies.js";
export type { DeliveryResult, SavedPlan, WorkingSet } from "./notify.js";
export type { KnownHead, VerifyReport } from "./verify.js";
export { SCHEMA_VERSION } from "./schema.js";

function isKeyed(digest: string): boolean {
  return digest.startsWith(KEYED);
}

/** There is no store in the directory (nothing has run there): commands exit 2 and say so. */
export class NoStoreError extends StoreError {}

/** The part of a result that is its state: two runs with the same state write no history. */
export function stateOf(r: PromiseResult): string {
  const what = [...new Set(r.differences.map((d) => `${d.subject ?? ""}|${d.attribute}${d.significant !== undefined ? `|${d.significant}` : ""}`))].sort();
  // one call, not a Hash object: every promise of every run is judged by it (bench/run)
  return hexDigest("sha256", `${r.outcome}\n${what.join("\n")}`).slice(0, 32);
}

/** The most findings (and differences) a change record keeps: what it says is held to it (hub integrity approvals compare states so). */
export const MAX_DIFFERENCES = 50;

/** What a prune removed and kept (or, dry, would), and the store's size on disk before and after. */
export interface PruneOutcome {
  dryRun: boolean;
  before: string;
  cut: { seq: number; run: number; time: string };
  /** the first record removed from: 1, or the one after the previous checkpoint */
  from: number;
  removed: Partial<Record<RecordKind, number>>;
  removedCount: number;
  /** runs whose summary went */
  runs: number;
  kept: number;
  /** settled outbox messages removed with their delivery records */
  messages: number;
  /** resolved deficiencies retired with their records */
  deficiencies: number;
  /** the prune record (not in a dry run) */
  record?: number;
  /** bytes of state.db and its log before, and after the VACUUM */
  bytesBefore: number;
  bytesAfter?: number;
  /** why the file was not compacted, when it was not */
  notVacuumed?: string;
}

/** Bytes on disk of state.db and its write-ahead log. */
function storeBytes(dir: string): number {
  let n = 0;
  for (const f of ["state.db", "state.db-wal"]) {
    try {
      n += statSync(join(dir, f)).size;
    } catch {
      // no log: nothing to add
    }
  }
  return n;
}

export class StateStore implements BaselineStore, SampleStore, IntegrityStore {
  private readonly headPath: string;
  private writes?: ReturnType<StateStore["prepareWrites"]>;
  /** the run records are appended for (baseline approvals happen during a run) */
  private currentRun = 0;
  /** change records this process wrote, per run: the run's summary says how many, and `verify` counts them */
  private readonly written = new Map<number, number>();
  private learnt?: LearntBands;
  /** deficiencies, the outbox and the notification log (schema 5; absent in an older store read as it is) */
  private notify?: Notifications;
  /** runs whose summary this process wrote: what is recorded after it (deliveries) is not the run's */
  private readonly summarised = new Set<number>();
  /** the kind of each run this process began: its summary says it */
  private readonly kinds = new Map<number, RunKind>();
  /** the approvals of the states repairs left, written with the change record of the promise that made them (recordRepaired) */
  private pendingApprovals: { promise: string; entries: { hostPath: string; entry: ApprovedEntry }[]; at: string }[] = [];
  /** the watcher's heartbeat (schema 6; absent in an older store read as it is) */
  private watcher?: Watcher;
  /** the approved integrity states (schema 7; absent in an older store read as it is) */
  private approvedStates?: ApprovedStates;
  /** the policy versions in the history (policies.ts), made when first needed */
  private policyRecords?: PolicyRecords;
  /** the rosters of evaluated promises in the history (rosters.ts), made when first needed */
  private rosterRecords?: Rosters;
  /** a rotation of the host key whose record was committed, finished as this store was opened */
  private finishedHostRotation?: { record: number; old: string; new: string };
  /** the rows one evaluation will read, read ahead (run-reads.ts); undefined outside one */
  private reads?: RunReads;
  /** rows of the notify tables found changed outside Covenant while reading: passed over, and said here */
  readonly untrusted: string[] = [];

  private constructor(
    readonly dir: string,
    private readonly db: Database.Database,
    /** which host key MACs which record; the one in force makes every new record, seal and anchor */
    private readonly keys: HostKeys,
    private readonly closeDb: () => void,
    /** how a reader opened the database (`shared`, `immutable`, `private copy`); `write` for a run */
    readonly mode: ReadOnlyDatabase["mode"] | "write",
  ) {
    this.headPath = join(dir, "ledger.head");
    this.dbPath = join(dir, "state.db");
    this.keyed = new KeyedDigests(db, keys);
    this.keyId = hostKeyId(keys.current);
  }

  /** the database file, as errors name it (made once: each result's record names it in its error message) */
  private readonly dbPath: string;

  /** the id of the key in force, as a rotation records it (checkKeyInForce compares it with the store's) */
  private readonly keyId: string;

  /** the host key in force */
  private get key(): Buffer {
    return this.keys.current;
  }

  /** keyed digests compared under every key of the schedule (keyed-digests.ts) */
  private readonly keyed: KeyedDigests;

  /** Opens (or creates) the store for a run. */
  static open(dir: string): StateStore {
    const abs = resolve(dir);
    checkStateDirectory(abs);
    checkStateFiles(abs, keyKeptElsewhere());
    const keyPath = hostKeyPath(abs);
    const witnesses = witnessesOf(abs, readFileHead(abs));
    const dbPath = join(abs, "state.db");
    if (!databaseExists(dbPath)) {
      const wiped = missingStore(abs, witnesses, "gone");
      if (wiped) throw wiped;
    }
    const db = guarded(abs, `cannot open the store ${dbPath}`, () => openForWriting(dbPath));
    try {
      const onDisk = guarded(abs, `cannot create the store ${dbPath}`, () => StateStore.keyFor(db, abs, keyPath, witnesses));
      let keys = guarded(abs, `cannot read the store ${dbPath}`, () => HostKeys.load(db, abs, onDisk, keyKeptElsewhere() ? undefined : readPendingKey(keyPath)));
      // read again: a new store has just written it
      const fileHead = readFileHead(abs);
      const broken = endTampering(db, keys, fileHead);
      if (broken) throw new HistoryBrokenError(`the history in ${abs} cannot be continued: ${broken.message}. \`covenant verify\` reports it; a run will not add to a history whose end it cannot vouch for. To start a new history, move the state directory aside and keep it as evidence`, broken.kind === "deleted" ? "deleted" : "altered");
      const unfinished = keys.unfinished ? keys.rotations.at(-1) : undefined;
      // once the anchors have vouched for the end: what is finished is a history found whole
      if (unfinished) keys = guarded(abs, `cannot finish the rotation of the host key in ${abs}`, () => finishOnOpening(db, abs, keyPath, keys));
      const key = keys.current;
      const store = new StateStore(abs, db, keys, () => db.close(), "write");
      if (unfinished) store.finishedHostRotation = { record: unfinished.seq, old: unfinished.old, new: unfinished.new };
      guarded(abs, `cannot update the store ${dbPath}`, () => migrate(db, abs, key, schemaVersion(db, abs, keys, fileHead), anchoredSchema(db, keys, fileHead)));
      store.writes = store.prepareWrites();
      store.notify = store.notifications();
      store.watcher = store.heartbeat();
      store.approvedStates = new ApprovedStates(db, key);
      const anchored = dbHeadOf(db);
      store.learnt = guarded(abs, `cannot read the store ${dbPath}`, () => new LearntBands(db, key, anchored.present ? (anchored.value as Head).bands : undefined));
      return store;
    } catch (err) {
      db.close();
      if (isDamage(err)) throw new StoreDamagedError(damageMessage(abs, err));
      throw operationalError(err, `cannot open the store ${dbPath}`) ?? err;
    }
  }

  /**
   * The key of the store in `db`: one that is made here if the database is new (or a new store's
   * making stopped part way). A database emptied while its key or head anchor remains, or one
   * whose schema is not a Covenant store's, is refused before anything is written to it.
   */
  private static keyFor(db: Database.Database, dir: string, keyPath: string, witnesses: Witnesses): Buffer {
    if (schemaIsEmpty(db)) {
      const emptied = missingStore(dir, witnesses, "empty");
      if (emptied) throw emptied;
      return makeStore(db, dir, keyPath);
    }
    const problem = schemaProblem(db);
    if (problem) throw schemaTampered(dir, problem);
    if (unfinishedStore(db, witnesses)) return makeStore(db, dir, keyPath);
    const gone = headGone(db, dir, witnesses);
    if (gone) throw gone;
    return readHostKey(keyPath);
  }

  /** Opens the store to read it, changing nothing: no schema change, no key, no journal mode. */
  static openReadOnly(dir: string): StateStore {
    const abs = resolve(dir);
    checkStateDirectory(abs);
    checkStateFiles(abs, keyKeptElsewhere());
    const keyPath = hostKeyPath(abs);
    const fileHead = readFileHead(abs);
    const witnesses = witnessesOf(abs, fileHead);
    const dbPath = join(abs, "state.db");
    if (!databaseExists(dbPath)) throw missingStore(abs, witnesses, "gone") ?? new NoStoreError(`no store in ${abs} (nothing has run there yet; choose another with --state)`);
    const ro = guarded(abs, `cannot open the store ${dbPath}`, () => openForReading(abs));
    try {
      // the schema before any row: SQL an attacker kept in it (a view, a trigger) is never run
      const key = guarded(abs, `cannot read the store ${dbPath}`, () => {
        if (schemaIsEmpty(ro.db)) throw missingStore(abs, witnesses, "empty") ?? new NoStoreError(`no store in ${abs} (state.db holds no tables: nothing has run there yet)`);
        const problem = schemaProblem(ro.db);
        if (problem) throw schemaTampered(abs, problem);
        const gone = headGone(ro.db, abs, witnesses);
        if (gone) throw gone;
        // a rotation of the host key committed but not finished is read as it stands (host-keys.ts): a reader changes no file
        const k = HostKeys.load(ro.db, abs, readHostKey(keyPath), keyKeptElsewhere() ? undefined : readPendingKey(keyPath));
        schemaVersion(ro.db, abs, k, fileHead);
        return k;
      });
      const store = new StateStore(abs, ro.db, key, ro.close, ro.mode);
      if (Notifications.present(ro.db)) store.notify = store.notifications();
      if (Watcher.present(ro.db)) store.watcher = store.heartbeat();
      if (approvedStatesPresent(ro.db)) store.approvedStates = new ApprovedStates(ro.db, key.current);
      return store;
    } catch (err) {
      ro.close();
      throw err;
    }
  }

  /** says a row changed outside Covenant, once */
  private readonly say = (why: string) => {
    if (!this.untrusted.includes(why)) this.untrusted.push(why);
  };

  private notifications(): Notifications {
    return new Notifications(this.db, this.key, (kind, run, time, body) => this.append(kind, run, time, body), this.say, this.keys.firstId);
  }

  private heartbeat(): Watcher {
    return guarded(this.dir, `cannot read the store ${this.dbPath}`, () => new Watcher(this.db, this.key, this.say));
  }

  private prepareWrites() {
    return {
      current: this.db.prepare("SELECT * FROM current WHERE key = ?"),
      setCurrent: this.db.prepare("INSERT OR REPLACE INTO current VALUES (@key, @control, @outcome, @state, @since, @run, @reason, @seal)"),
      append: this.db.prepare("INSERT INTO ledger (seq, kind, run, time, body, mac) VALUES (?, ?, ?, ?, ?, ?)"),
      baseline: this.db.prepare("SELECT * FROM baselines WHERE path = ?"),
      setBaseline: this.db.prepare("INSERT OR REPLACE INTO baselines VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
      last: this.db.prepare("SELECT seq, mac FROM ledger ORDER BY seq DESC LIMIT 1"),
      setHead: this.db.prepare("INSERT OR REPLACE INTO meta VALUES ('head', ?)"),
      keyInForce: this.db.prepare("SELECT value FROM meta WHERE key = 'host_key_id'").pluck(),
    };
  }

  /**
   * Whether the host key this store holds is still the one in force: a rotation since it was opened
   * (a watcher runs for days) leaves it holding the retired key, and nothing more is written with
   * that (its records would not chain under the schedule, its seals would not match).
   */
  private checkKeyInForce(): void {
    const id = this.w.keyInForce.get() as string | undefined;
    if (id !== undefined && id !== this.keyId) throw new StoreError(`the host key was rotated (\`covenant key rotate --host\`) after this process opened the store in ${this.dir}: nothing more is written with the retired key; start it again`);
  }

  private get w(): NonNullable<StateStore["writes"]> {
    if (!this.writes) throw new Error("the store was opened read-only");
    return this.writes;
  }

  close(): void {
    this.reads = undefined;
    this.closeDb();
  }

  /**
   * Reads ahead the rows an evaluation will read (its promises' current states, its paths' baselines
   * and approved states), a chunk of them a statement, kept until `dropPrefetched`: only under the
   * run lock, for one evaluation (run-reads.ts). Returns whether they are read ahead: when they
   * cannot be, each is read by its statement as it is used, as before, and fails there as it would have.
   */
  prefetch(want: RunWants): boolean {
    this.reads = undefined;
    if (!this.writes) return false;
    try {
      this.reads = new RunReads(this.db, want, this.approvedStates !== undefined);
      return true;
    } catch {
      return false;
    }
  }

  /** Drops the rows `prefetch` read: the evaluation is over (the watcher's next one reads them again). */
  dropPrefetched(): void {
    this.reads = undefined;
  }

  /** The current state row of `key`: kept from the prefetch, else read. */
  private currentRow(key: string): CurrentRow | undefined {
    const kept = this.reads?.takeCurrent(key);
    if (kept !== undefined) return kept ?? undefined;
    return this.w.current.get(key) as CurrentRow | undefined;
  }

  /** The baseline row of `path`: kept from the prefetch, else read. */
  private baselineRow(path: string): BaselineRow | undefined {
    const kept = this.reads?.takeBaseline(path);
    if (kept !== undefined) return kept ?? undefined;
    return this.w.baseline.get(path) as BaselineRow | undefined;
  }

  /**
   * Allocates the next run number, durably, before anything of the run is recorded, and then
   * writes the head anchor file naming it: a run erased from the store (its log removed after it
   * was killed) is found missing. The counter is synced before the anchor that names it, so a
   * power cut cannot leave the anchor ahead of the store. A run of the watcher (`kind` "watch")
   * needs its heartbeat first: `verify` holds a history with watcher runs to having one.
   */
  beginRun(kind: RunKind = "run"): number {
    if (kind === "watch" && this.readHeartbeat().heartbeat === undefined) throw new StoreError(`the watcher must beat before it runs: the store in ${this.dir} holds no heartbeat of it that Covenant wrote`);
    const run = guarded(this.dir, `cannot record the run in ${this.dir}`, () => {
      this.db.pragma("synchronous = FULL");
      try {
        return this.db
          .transaction(() => {
            this.checkKeyInForce();
            const last = Number(this.db.prepare("SELECT value FROM meta WHERE key = 'last_run'").pluck().get() ?? 0);
            this.db.prepare("INSERT OR REPLACE INTO meta VALUES ('last_run', ?)").run(String(last + 1));
            return last + 1;
          })
          .immediate();
      } finally {
        this.db.pragma("synchronous = NORMAL");
      }
    });
    this.currentRun = run;
    this.kinds.set(run, kind);
    const end = this.w.last.get() as { seq: number; mac: Buffer } | undefined;
    this.writeFileHead(end?.seq ?? 0, end?.mac ?? GENESIS, run);
    return run;
  }

  private writeFileHead(seq: number, mac: Buffer, run: number, key = this.key): void {
    if (key === this.key) this.checkKeyInForce();
    const head = sealHead(key, seq, mac, { schema: SCHEMA_VERSION, run });
    guarded(this.dir, `cannot write the head anchor ${this.headPath}`, () => replaceFile(this.headPath, JSON.stringify(head) + "\n", { sync: true }));
  }

  /**
   * Appends a record to the chain; must run inside an immediate transaction, so that the last
   * record read here is still the last when this one is written, whoever else writes.
   */
  private append(kind: RecordKind, run: number, time: string, body: object, bands = this.bandsDigest()): { seq: number; mac: Buffer } {
    this.checkKeyInForce();
    const text = JSON.stringify(body);
    const last = this.w.last.get() as { seq: number; mac: Buffer } | undefined;
    const mac = macOf(this.key, last?.mac ?? GENESIS, { kind, run, time, body: text });
    const seq = (last?.seq ?? 0) + 1;
    this.w.append.run(seq, kind, run, time, text, mac);
    // a sealed head inside the database too, moved in the same transaction as the record
    // (with the learnt bands' digest as the last summary left them)
    this.w.setHead.run(JSON.stringify(sealHead(this.key, seq, mac, bands === undefined ? { schema: SCHEMA_VERSION } : { schema: SCHEMA_VERSION, bands })));
    return { seq, mac };
  }

  private bandsDigest(): string | undefined {
    return this.learnt?.digest;
  }

  /**
   * Records one promise's result: a history record when its state changed (or the gate
   * changed the host, which is always worth a record), its current state, and with them its
   * deficiency and the outbox event that says so (deficiencies.ts; `finding` says what the policy
   * says of it, and is used only when a record is written). Returns whether a history record
   * was written.
   */
  recordResult(run: number, time: string, r: PromiseResult, finding?: Finding | (() => Finding | undefined)): boolean {
    return guarded(this.dir, `cannot record the result of ${r.key} in the store ${this.dbPath}`, () => this.record(run, time, r, finding));
  }

  /** `finding` may be a function: it is called only when a record is written (a run whose states do not change never builds one) */
  private record(run: number, time: string, r: PromiseResult, lazyFinding?: Finding | (() => Finding | undefined)): boolean {
    const state = stateOf(r);
    const stored = this.currentRow(r.key);
    // a row that does not carry its seal was written outside Covenant: not a state to compare
    // with (it could hide this change), so the result is recorded afresh and says why
    const forged = stored !== undefined && !sealMatches(stored.seal, sealCurrent(this.key, stored));
    const before = forged ? undefined : stored;
    const changedHost = r.changes.some((c) => c.status === "applied" || c.status === "failed");
    const write = !before || before.state !== state || changedHost;
    if (!write) {
      if (this.pendingApprovals.length > 0) this.db.transaction(() => this.writeApprovals()).immediate();
      return false; // one indexed read and no write: the run's summary proves it was tested
    }
    const finding = typeof lazyFinding === "function" ? lazyFinding() : lazyFinding;
    const differences = r.differences.slice(0, MAX_DIFFERENCES).map((d) => d.reason);
    if (r.differences.length > MAX_DIFFERENCES) differences.push(`and ${r.differences.length - MAX_DIFFERENCES} more`);
    const body: ChangeBody = {
      key: r.key,
      control: r.control,
      type: r.type,
      promiser: r.promiser,
      from: (before?.outcome as Outcome | undefined) ?? null,
      to: r.outcome,
      reason: r.reason,
      differences,
      changes: r.changes.map((c) => `${c.status}: ${c.description}${c.detail ? ` (${c.detail})` : ""}`),
    };
    if (r.findings && r.findings.length > 0) body.findings = recordedFindings(r.findings, MAX_DIFFERENCES);
    const notes = r.notes.slice(0, MAX_DIFFERENCES);
    if (forged) {
      const note = "the stored current state of this promise was changed outside Covenant (its seal did not match): recorded afresh";
      notes.push(note);
      r.notes.push(note); // the run's report shows it too
    }
    const row = { key: r.key, control: r.control, outcome: r.outcome, state, since: before && before.state === state ? before.since : time, run, reason: r.reason };
    this.db
      .transaction(() => {
        const prior = this.notify?.deficiencies.openFor(r.key);
        if (prior?.forged) {
          const note = "a deficiency of this promise was changed outside Covenant (its seal did not match): it is passed over";
          notes.push(note);
          r.notes.push(note);
        }
        if (notes.length > 0) body.notes = notes;
        this.reads?.forget("current", r.key);
        // the repair's approval first, as its own record, then the change it approves the end of
        this.writeApprovals();
        const { seq } = this.append("change", run, time, body);
        this.w.setCurrent.run({ ...row, seal: sealCurrent(this.key, row) });
        this.notify?.afterChange({ run, time, seq, result: r, stateChanged: before?.state !== state, differences, changes: body.changes, finding, findings: body.findings }, prior?.open);
      })
      .immediate();
    this.written.set(run, (this.written.get(run) ?? 0) + 1);
    return true;
  }

  /**
   * The run's summary, with the number of change records this process wrote for the run (verify
   * counts them: a record dropped as it was written is found), and this run's learnt bands, in
   * one transaction; then the head anchor file, and a checkpoint that leaves every record in
   * state.db itself. The summary says the run's kind, as beginRun was given it (a body that says
   * another is a bug). Given the policy files the run checked (`body.policy` their hash), the
   * summary names the `policy` record that holds them, written first in the same transaction when
   * the store has none of that hash yet. Returns the summary's record number.
   */
  finishRun(body: Omit<RunBody, "changed" | "policyRecord" | "roster" | "retired">, policy?: readonly { path: string; text: string }[], keys?: Iterable<string>): number {
    const kind = this.kinds.get(body.run) ?? "run";
    if (body.kind !== undefined && body.kind !== kind) throw new Error(`run ${body.run} began as a ${kind} run, not a ${body.kind} run`);
    const { run: _run, kind: _kind, ...rest } = body;
    if (policy !== undefined && hashPolicy(policy) !== body.policy) throw new Error(`run ${body.run}'s summary names policy ${body.policy}, not the hash of the files given`);
    const full: RunBody = { run: body.run, kind, ...rest, changed: this.written.get(body.run) ?? 0 };
    const learnt = this.learnt;
    let remasked: Remasked | undefined;
    const { seq, mac, digest } = guarded(this.dir, `cannot record the run's summary in the store ${this.dbPath}`, () =>
      this.db
        .transaction(() => {
          const bands = learnt?.writeWithSummary(body.dryRun);
          if (bands?.note) full.notes = [...(full.notes ?? []), bands.note];
          if (policy !== undefined) full.policyRecord = this.policies.recordOf(body.policy) ?? this.append("policy", body.run, body.finished, policyBody(policy, body.started), bands?.digest).seq;
          // a dry run records no promise's state: a roster of it would explain nothing
          if (keys !== undefined && !body.dryRun) full.roster = this.rosterRecord(body.run, body.finished, keys, bands?.digest);
          // a dry run records nothing of the promises, and so retires nothing either
          const retired = body.dryRun ? [] : (this.notify?.retireResolved() ?? []);
          if (retired.length > 0) full.retired = retired;
          // copies an older Covenant kept with secrets in clear, masked once (approved-remask.ts)
          remasked = body.dryRun || !this.approvedStates ? undefined : remaskApprovedCopies(this.db, this.key, (line) => this.keyLine(line), new Date());
          const note = remasked && remaskNote(remasked);
          if (note) full.notes = [...(full.notes ?? []), note];
          return { ...this.append("run", body.run, body.finished, full, bands?.digest), digest: bands?.digest };
        })
        .immediate(),
    );
    if (learnt && digest !== undefined) learnt.committed(digest, body.dryRun);
    this.summarised.add(body.run);
    this.kinds.delete(body.run);
    this.writeFileHead(seq, mac, body.run);
    if (remasked?.compact) compactMaskedStore(this.db, new Date(), (err) => operationalError(err, `cannot compact the store ${this.dbPath}`)?.message);
    // every record in state.db itself: a copy of that one file is the whole store
    guarded(this.dir, `cannot checkpoint the store ${this.dbPath}`, () => checkpoint(this.db));
    return seq;
  }

  /** The roster record of these keys: the one the store has, or one written now (inside the summary's transaction). */
  private rosterRecord(run: number, time: string, keys: Iterable<string>, bands: string | undefined): number {
    const roster = rosterBody(keys);
    const known = this.rosters.recordOf(roster.hash);
    if (known !== undefined) return known;
    const { seq } = this.append("roster", run, time, roster, bands);
    this.rosters.remember(roster.hash, seq);
    return seq;
  }

  private get rosters(): Rosters {
    this.rosterRecords ??= new Rosters(this.db);
    return this.rosterRecords;
  }

  private get policies(): PolicyRecords {
    this.policyRecords ??= new PolicyRecords(this.db);
    return this.policyRecords;
  }

  /** The policy version stored under `hash` (as a run's summary names it): its files as checked, and the record and run that first held it. */
  policyVersion(hash: string): { hash: string; record: number; run: number; at: string; files: PolicyFile[] } | undefined {
    const v = guarded(this.dir, `cannot read the store ${this.dbPath}`, () => this.policies.version(hash));
    return v ? { hash, record: v.seq, run: v.run, at: v.body.at, files: v.body.files } : undefined;
  }

  /**
   * Each of these runs as it was: every promise it evaluated with its outcome and what was
   * observed, rebuilt from the history and proven against its summary's digest (explain.ts).
   * Runs with no summary are left out.
   */
  explainRuns(runs: readonly number[]): Map<number, RunExplanation> {
    return guarded(this.dir, `cannot read the store ${this.dbPath}`, () => this.db.transaction(() => explainRuns(this.db, runs))());
  }

  /**
   * Every record from `range.fromSeq` through `range.toSeq` given to `visit` in seq order, parsed,
   * one row at a time inside one read transaction, each MAC checked against the record before it
   * (scan.ts). Returns the last record read, the store's head when the scan began, and, when the
   * scan reached the store's last record, whether the anchors vouch for that end.
   */
  scanHistory(range: ScanRange, visit: (r: ScannedRecord) => void): ScanOutcome {
    const fileHead = readFileHead(this.dir);
    return guarded(this.dir, `cannot read the store ${this.dbPath}`, () =>
      this.db.transaction(() => {
        // after a prune, the chain is walked across its checkpoint as verify walks it (one the key did not seal is no checkpoint)
        const keys = this.keysNow();
        const cp = readCheckpoint(this.db, keys);
        const { last } = scanRecords(this.db, keys, range, visit, cp.state === "sealed" ? cp.checkpoint : undefined);
        return this.scanOutcome(last, cp, fileHead, keys);
      })(),
    );
  }

  /** What a scan ending at `last` vouches for: the store's end, and its anchors when the scan reached it. */
  private scanOutcome(last: { seq: number; mac: Buffer } | undefined, cp: CheckpointState, fileHead: FileHead, keys: HostKeys): ScanOutcome {
    const head = this.db.prepare("SELECT seq, mac FROM ledger ORDER BY seq DESC LIMIT 1").get() as { seq: number; mac: unknown } | undefined;
    const storeHead = head && Buffer.isBuffer(head.mac) ? { seq: head.seq, mac: head.mac.toString("hex") } : undefined;
    const reachedEnd = head === undefined || (last !== undefined && last.seq >= head.seq);
    const end = reachedEnd ? endTampering(this.db, keys, fileHead) : undefined;
    return { ...(last ? { last: { seq: last.seq, mac: last.mac.toString("hex") } } : {}), ...(storeHead ? { storeHead } : {}), ...(end ? { end } : {}), ...(cp.state === "sealed" ? { checkpoint: cp.checkpoint } : {}) };
  }

  /**
   * The id the host gave the deficiency that change record `record` (of run `run`) opened for
   * `promiseKey`: the id is keyed with the host key, which never leaves the store. A 40-bit clash
   * with another id made the host try again (deficiencies.ts newId); that is not re-enacted here.
   */
  deficiencyIdOf(promiseKey: string, run: number, record: number): string {
    return deficiencyId(this.keys.firstId, promiseKey, run, record);
  }

  /** Every policy version the history holds, oldest first: hash, its record, the first run and when it began, its files' count and bytes. */
  policyVersions(): PolicyVersionSummary[] {
    return guarded(this.dir, `cannot read the store ${this.dbPath}`, () => this.policies.versions());
  }

  /** Each record's number and time, in order: what an evidence pack's period is cut from. */
  recordTimes(): { seq: number; time: string }[] {
    return guarded(this.dir, `cannot read the store ${this.dbPath}`, () => this.db.prepare("SELECT seq, time FROM ledger ORDER BY seq").all() as { seq: number; time: string }[]);
  }

  /** The records from `first` to `last` (their numbers) as stored: body text and MAC (hex), unjudged (verify judges). */
  records(first: number, last: number): { seq: number; kind: RecordKind; run: number; time: string; body: string; mac: string }[] {
    const rows = guarded(this.dir, `cannot read the store ${this.dbPath}`, () => this.db.prepare("SELECT seq, kind, run, time, body, mac FROM ledger WHERE seq BETWEEN ? AND ? ORDER BY seq").all(first, last) as LedgerRow[]);
    return rows.map((r) => ({ seq: r.seq, kind: r.kind, run: r.run, time: String(r.time), body: String(r.body), mac: Buffer.isBuffer(r.mac) ? r.mac.toString("hex") : "" }));
  }

  /** The rotation records after record `seq` as stored (a handful at most), as `records` gives them: a push ahead of them carries them (hub/client/push.ts). */
  rotationsAfter(seq: number): { seq: number; kind: RecordKind; run: number; time: string; body: string; mac: string }[] {
    const rows = guarded(this.dir, `cannot read the store ${this.dbPath}`, () => this.db.prepare("SELECT seq, kind, run, time, body, mac FROM ledger WHERE kind = 'rotation' AND seq > ? ORDER BY seq").all(seq) as LedgerRow[]);
    return rows.map((r) => ({ seq: r.seq, kind: r.kind, run: r.run, time: String(r.time), body: String(r.body), mac: Buffer.isBuffer(r.mac) ? r.mac.toString("hex") : "" }));
  }

  /** The first and last record whose time is in [startMs, endMs) (read a row at a time: period-reads.ts). */
  recordRangeIn(startMs: number, endMs: number): { first: number; last: number } | undefined {
    return guarded(this.dir, `cannot read the store ${this.dbPath}`, () => recordRangeIn(this.db, startMs, endMs));
  }

  /** The last record's number and MAC as stored, unjudged. */
  lastRecord(): { seq: number; mac: string } | undefined {
    return guarded(this.dir, `cannot read the store ${this.dbPath}`, () => lastRecord(this.db));
  }

  /** The fingerprint the history's last rotation of the signing key put in force. */
  /** The fingerprints of every signing key the history names: each rotation's old and new key (none before the first rotation). */
  signingKeysNamed(): Set<string> {
    const rows = guarded(this.dir, `cannot read the store ${this.dbPath}`, () => this.db.prepare("SELECT body FROM ledger WHERE kind = 'rotation' ORDER BY seq").pluck().all() as string[]);
    const out = new Set<string>();
    for (const body of rows) {
      try {
        const b = JSON.parse(body) as Partial<RotationBody>;
        for (const fp of [b.old?.fingerprint, b.new?.fingerprint]) if (typeof fp === "string") out.add(fp);
      } catch {
        // verify judges a rotation record that is not JSON
      }
    }
    return out;
  }

  private lastRotatedTo(): string | undefined {
    // every rotation record (a handful): the last may be the host key's, which lastRotatedTo passes over
    const rows = guarded(this.dir, `cannot read the store ${this.dbPath}`, () => this.db.prepare("SELECT kind, body FROM ledger WHERE kind = 'rotation' ORDER BY seq").all() as { kind: string; body: string }[]);
    return lastRotatedTo(rows);
  }

  /**
   * The signing key in force (signing-key.ts): made now when there is none and `create` allows
   * (it is made beside this store's host key, or at COVENANT_SIGNING_KEY_FILE).
   */
  signingKey(create: boolean): SigningKey | undefined {
    return signingKeyInForce(signingKeyPath(this.dir), this.lastRotatedTo(), create);
  }

  /**
   * Replaces the signing key (rotation.ts rotateSigningKey): its record is committed outside a
   * run, as an acknowledgement is, the head anchor moved and the store checkpointed.
   */
  rotateSigningKey(who: Rotator): RotationDone {
    const run = this.recordRun;
    return rotateSigningKey(signingKeyPath(this.dir), this.lastRotatedTo(), who, (body) => this.anchored("the rotation of the signing key", () => this.db.transaction(() => this.append("rotation", run, who.at, body)).immediate()).seq);
  }

  /**
   * Replaces the host key (host-rotation.ts), outside a run, under the run lock, in a store that
   * verifies intact (rotating a tampered store would vouch for it under the new key). Afterwards
   * this store writes nothing more (its parts hold the retired key): the caller closes it. When
   * opening this store finished a rotation already recorded, that one is returned (`finished`).
   */
  rotateHostKey(who: Rotator): { record: number; old: string; new: string; finished?: true } {
    // as `key rotate` does for the signing key: a rotation stopped after its record is finished, not followed by another
    if (this.finishedHostRotation) return { ...this.finishedHostRotation, finished: true };
    const kept = keyKeptElsewhere();
    if (kept !== undefined) throw new StoreError(`the host key is kept elsewhere (COVENANT_HOST_KEY_FILE=${kept}): Covenant does not replace a key it does not keep. To rotate it, copy it to ${join(this.dir, "host.key")} (install -o root -m 0600), unset COVENANT_HOST_KEY_FILE, rotate, then move the new host.key back to where the variable points (docs/cli.md)`);
    const keyPath = hostKeyPath(this.dir);
    // a host.key.next no record names is a rotation stopped before its record: it was never in force
    discardPendingHostKey(keyPath);
    const verified = this.verify();
    if (verified.tampering) throw new StoreError(`the history in ${this.dir} does not verify (${verified.tampering.message}): the host key is not rotated (the new key would vouch for what was tampered with); \`covenant verify\` reports it`);
    const old = this.key;
    const next = newHostKey();
    storePendingHostKey(keyPath, next);
    let written: { seq: number; mac: Buffer };
    try {
      written = guarded(this.dir, `cannot record the rotation of the host key in the store ${this.dbPath}`, () => this.db.transaction(() => this.writeHostRotation(verified.head, old, next, who)).immediate());
    } catch (err) {
      discardPendingHostKey(keyPath);
      throw err;
    }
    finishHostRotation(this.dir, keyPath, written.seq, old, next, () => this.writeFileHead(written.seq, written.mac, runCounter(this.db), next));
    guarded(this.dir, `cannot checkpoint the store ${this.dbPath}`, () => checkpoint(this.db));
    return { record: written.seq, old: hostKeyId(old), new: hostKeyId(next) };
  }

  /** The rotation's transaction: its record MAC'd with the old key, the tables, the database's anchor and the schedule under the new. */
  private writeHostRotation(head: { seq: number; mac: string } | undefined, old: Buffer, next: Buffer, who: Rotator): { seq: number; mac: Buffer } {
    const end = this.w.last.get() as { seq: number; mac: Buffer } | undefined;
    if (end?.seq !== head?.seq || end?.mac.toString("hex") !== head?.mac) throw new StoreError(`the history in ${this.dir} changed while it was verified: the host key is not rotated; try again`);
    const written = this.append("rotation", this.recordRun, who.at, hostRotationBody(old, next, who));
    // every sealed row is sealed again under the new key: none kept from a prefetch stands
    this.reads = undefined;
    handOver(this.db, this.keys, written, next);
    return written;
  }

  /** The records, each checked against the chain as it is read, and whether the chain's end is what its anchors vouch for. */
  readHistory(filter: { control?: string; since?: string; kinds?: RecordKind[] } = {}): { entries: HistoryEntry[]; end?: Tampering; checkpoint?: Checkpoint } {
    const fileHead = readFileHead(this.dir);
    return guarded(this.dir, `cannot read the store ${this.dbPath}`, () => this.db.transaction(() => {
      const rows = this.db.prepare("SELECT seq, kind, run, time, body, mac FROM ledger ORDER BY seq").all() as LedgerRow[];
      const keys = this.keysNow();
      const cp = readCheckpoint(this.db, keys);
      const checks = checkAcross(keys, rows, cp);
      const entries: HistoryEntry[] = [];
      rows.forEach((r, i) => {
        if (filter.since !== undefined && !(String(r.time) >= filter.since)) return;
        if (filter.kinds && !filter.kinds.includes(r.kind)) return;
        let body: HistoryEntry["body"];
        try {
          body = JSON.parse(r.body) as ChangeBody | RunBody | BaselineBody;
          if (typeof body !== "object" || body === null) throw new Error("not an object");
        } catch {
          body = { unreadable: String(r.body).slice(0, 200) }; // an edited row: `verify` says which
        }
        // an acknowledgement names its control too
        if (filter.control !== undefined && ((r.kind !== "change" && r.kind !== "ack") || (body as { control?: unknown }).control !== filter.control)) return;
        const check = checks[i]!;
        entries.push({ seq: r.seq, kind: r.kind, run: r.run, time: r.time, body, verified: check.verified, ...(check.verified ? {} : { problem: check.problem }) });
      });
      const end = endTampering(this.db, keys, fileHead);
      return { entries, ...(end ? { end } : {}), ...(cp.state === "sealed" ? { checkpoint: cp.checkpoint } : {}) };
    })());
  }

  history(filter: { control?: string; since?: string; kinds?: RecordKind[] } = {}): HistoryEntry[] {
    return this.readHistory(filter).entries;
  }

  verify(knownHead?: KnownHead): VerifyReport {
    // the head file first: read before the read transaction starts, a run finishing meanwhile only makes it older
    const fileHead = readFileHead(this.dir);
    // the key schedule read in the same transaction as the history it keys
    return guarded(this.dir, `cannot read the store ${this.dbPath}`, () => this.db.transaction(() => verifyStore(this.verifyView(fileHead, this.keysNow(), knownHead)))());
  }

  /**
   * The key schedule as this read transaction sees it (call it first in the transaction): a
   * rotation of the host key another process committed since this store was opened is read again
   * (host-keys.ts), not taken for a schedule that was edited.
   */
  private keysNow(): HostKeys {
    const rotations = scheduleOf(this.db);
    const known = this.keys.rotations;
    if (rotations.length === known.length && rotations.every((r, i) => r.seq === known[i]!.seq && r.old === known[i]!.old && r.new === known[i]!.new)) return this.keys;
    const keyPath = hostKeyPath(this.dir);
    return HostKeys.load(this.db, this.dir, readHostKey(keyPath), keyKeptElsewhere() ? undefined : readPendingKey(keyPath));
  }

  private verifyView(fileHead: FileHead, keys: HostKeys, knownHead?: KnownHead): Parameters<typeof verifyStore>[0] {
    const sealedTables = hasColumn(this.db, "current", "seal") && hasColumn(this.db, "bands", "seal");
    const schema = Number(this.db.prepare("SELECT value FROM meta WHERE key = 'schema'").pluck().get() ?? SCHEMA_VERSION);
    return { db: this.db, key: keys.current, keys, fileHead, schema, sealedTables, notifyTables: Notifications.present(this.db), watcherTable: Watcher.present(this.db), approvedTable: approvedStatesPresent(this.db), ...(knownHead ? { knownHead } : {}) };
  }

  /**
   * `verify` and `scanHistory(range, visit)` in one walk of the history, in one read transaction:
   * the evidence pack reads a year's records once, for its verification, its report and its
   * extract, rather than once for each.
   */
  verifyAndScan(range: ScanRange, visit: (r: ScannedRecord) => void): { verified: VerifyReport; scan: ScanOutcome } {
    const fileHead = readFileHead(this.dir);
    return guarded(this.dir, `cannot read the store ${this.dbPath}`, () =>
      this.db.transaction(() => {
        const keys = this.keysNow();
        const cp = readCheckpoint(this.db, keys);
        const scan = new ScanCheck(keys, range, cp.state === "sealed" ? cp.checkpoint : undefined, visit);
        const verified = verifyStore(this.verifyView(fileHead, keys), [scan]);
        return { verified, scan: this.scanOutcome(scan.end().last, cp, fileHead, keys) };
      })(),
    );
  }

  /** What the fleet hub holds of this host (hub-position.ts), as host id `host`; undefined before its first acknowledgement. */
  hubPosition(host: string): (HubPoint & { at: string }) | undefined {
    return guarded(this.dir, `cannot read the store ${this.dbPath}`, () => this.db.transaction(() => readHubPosition(this.db, this.keysNow().all, host))());
  }

  /** Stores what the hub acknowledged; only forward unless `back` (the hub holds less than before). Returns whether it was written. */
  setHubPosition(host: string, p: HubPoint, opts: { back?: boolean; at?: Date } = {}): boolean {
    return guarded(this.dir, `cannot record what the hub holds in the store ${this.dbPath}`, () =>
      this.db
        .transaction(() => {
          this.checkKeyInForce();
          return writeHubPosition(this.db, this.key, this.keysNow().all, host, p, (opts.at ?? new Date()).toISOString(), opts.back === true);
        })
        .immediate(),
    );
  }

  /** Why a prune through record `cut` would remove records the hub does not hold yet; inside the prune's transaction. */
  private hubShortOf(host: string, cut: number): string | undefined {
    const held = readHubPosition(this.db, this.keysNow().all, host);
    if (held && held.seq >= cut) return undefined;
    return `this host is enrolled with a hub, which holds ${held ? `records up to ${held.seq}` : "none of its records"}, but this prune removes records up to ${cut}: run \`covenant push\` first, so that the hub holds every record removed (nothing is pruned)`;
  }

  /**
   * Removes the history before `before`, whole runs only, once `evidence` (a pack the caller has
   * checked) holds every record removed; leaves a sealed checkpoint and a `prune` record, moves
   * the anchors, then compacts the file (prune.ts, checkpoint.ts). Under the run lock, never
   * alongside a run. A history that does not verify is not pruned. `dryRun`: the plan, nothing
   * written.
   */
  prune(req: { before: Date; evidence: PruneEvidence; dryRun?: boolean; now?: Date; hubMustHold?: { host: string } }): PruneOutcome {
    const before = req.before.toISOString();
    const bytesBefore = storeBytes(this.dir);
    let outcome: PruneOutcome | undefined;
    // verified before the write transaction, so that the watcher's beats (the one writer the run
    // lock does not keep out, and which touches no record) wait only for the prune's writes; the
    // transaction then checks that the end of the chain is still the one verified
    const verified = this.verify();
    if (verified.tampering) throw new StoreError(`the history in ${this.dir} does not verify (${verified.tampering.message}): nothing is pruned from a history that cannot be vouched for; \`covenant verify\` reports it`);
    const written = guarded(this.dir, `cannot record the prune in the store ${this.dbPath}`, () =>
      this.db
        .transaction(() => {
          const end = this.w.last.get() as { seq: number; mac: Buffer } | undefined;
          if (end?.seq !== verified.head?.seq || end?.mac.toString("hex") !== verified.head?.mac) throw new StoreError(`the history in ${this.dir} changed while it was verified: nothing is pruned; try again`);
          const cp = readCheckpoint(this.db, this.keys);
          const previous = cp.state === "sealed" ? cp.checkpoint : undefined;
          const plan = planPrune(this.db, req.before.getTime(), before, previous);
          const problem = coverageProblem(this.db, plan, req.evidence) ?? (req.hubMustHold ? this.hubShortOf(req.hubMustHold.host, plan.cut.seq) : undefined);
          if (problem) throw new StoreError(problem);
          const { mac: cutMac, ...cut } = plan.cut;
          outcome = { dryRun: req.dryRun === true, before, cut, from: plan.from, removed: plan.removed, removedCount: plan.removedCount, runs: plan.runs, kept: plan.kept.length, messages: plan.messages.length, deficiencies: plan.retired.length, bytesBefore };
          if (req.dryRun) return undefined;
          const at = (req.now ?? new Date()).toISOString();
          const { text } = sealCheckpoint(this.key, {
            cut: { ...cut, mac: cutMac.toString("hex") },
            before,
            kept: plan.kept,
            removed: addCounts(previous?.removed ?? {}, plan.removed),
            messages: (previous?.messages ?? 0) + plan.messages.length,
            evidence: req.evidence,
            earlier: previous ? [...previous.earlier, previous.evidence] : [],
            at,
            retired: retiredThrough(this.db, plan, previous),
          });
          writeCheckpoint(this.db, text);
          const body: PruneBody = { before, cut: { seq: cut.seq, run: cut.run }, removed: plan.removed, kept: plan.kept.length, messages: plan.messages.length, deficiencies: plan.retired.length, evidence: req.evidence, checkpoint: checkpointDigest(text) };
          // appended before the removal, chained to the last record as it is: when the cut is the
          // end of the history (nothing recorded since the cut run), the prune record follows it
          const written = this.append("prune", 0, at, body);
          this.reads = undefined;
          removePruned(this.db, plan);
          outcome.record = written.seq;
          return written;
        })
        .immediate(),
    );
    if (!outcome) throw new Error("the prune planned nothing");
    if (written) this.anchorPrune(written, outcome);
    if (!outcome.dryRun) {
      try {
        // the space the removed records held goes back to the file system; VACUUM is atomic (it
        // fails whole, on a full disk, leaving the store as it was) and needs about the store's size free
        this.db.exec("VACUUM");
        checkpoint(this.db);
      } catch (err) {
        const failure = operationalError(err, `cannot compact the store ${this.dbPath}`);
        if (!failure) throw err;
        outcome.notVacuumed = failure.message;
      }
      outcome.bytesAfter = storeBytes(this.dir);
    }
    return outcome;
  }

  /**
   * After the prune's commit, as after any record outside a run: ledger.head moved to the prune
   * record and the log checkpointed. Failing here (a full disk), the prune stands and says so:
   * the anchor names an earlier record, which the store still holds or the checkpoint vouches
   * for, and the next record moves it.
   */
  private anchorPrune(written: { seq: number; mac: Buffer }, outcome: PruneOutcome): void {
    try {
      this.anchored("the prune", () => written);
    } catch (err) {
      if (!(err instanceof StoreError)) throw err;
      throw new StoreError(`the prune is recorded (record ${written.seq}: ${outcome.removedCount} records removed, the checkpoint sealed), but ${err.message}; \`covenant verify\` vouches for what remains, and the next run moves the anchor`);
    }
  }

  // BaselineStore
  get(path: string): Baseline | undefined {
    const r = this.baselineRow(path);
    if (!r) return undefined;
    const b: Baseline = { algorithm: r.algorithm, digest: r.digest, size: r.size, mode: r.mode, uid: r.uid, gid: r.gid, mtimeMs: r.mtime_ms, approvedAt: r.approved_at };
    if (isKeyed(r.digest)) b.keyed = true;
    if (!sealMatches(r.seal, sealBaseline(this.key, r))) b.tampered = true;
    return b;
  }

  /**
   * What a `nodiff` file's digest is kept and compared as: an HMAC of it under the host key. A
   * digest of a short secret (a PIN) finds it by trying every guess; this one cannot be tried
   * without the key.
   */
  keyDigest(digest: string): string {
    return this.keyed.of(`nodiff digest\n${digest}`);
  }

  /** Records an approved baseline, sealed, and its approval in the chain (in one transaction); a keyed one holds no digest of the content. */
  set(path: string, given: Baseline): void {
    try {
      this.db.transaction(() => this.writeBaseline(path, given, this.currentRun)).immediate();
    } catch (err) {
      const failure = operationalError(err, `cannot record the baseline of ${path} in the store`);
      if (failure) throw new CannotObserve(failure.message);
      throw err;
    }
  }

  /** The baseline row and its approval record; inside a transaction. */
  private writeBaseline(path: string, given: Baseline, run: number): void {
    const b = given.keyed && !isKeyed(given.digest) ? { ...given, digest: this.keyDigest(given.digest) } : given;
    const row = { path, algorithm: b.algorithm, digest: b.digest, size: b.size, mode: b.mode, uid: b.uid, gid: b.gid, mtime_ms: b.mtimeMs, approved_at: b.approvedAt };
    this.reads?.forget("baselines", path);
    this.w.setBaseline.run(path, b.algorithm, b.digest, b.size, b.mode, b.uid, b.gid, b.mtimeMs, b.approvedAt, sealBaseline(this.key, row));
    const body: BaselineBody = { path, algorithm: b.algorithm, digest: b.digest, approvedAt: b.approvedAt };
    if (isKeyed(b.digest)) body.keyed = true;
    this.append("baseline", run, b.approvedAt, body);
  }

  baselines(): { path: string; algorithm: string; digest: string; approvedAt: string }[] {
    return (this.db.prepare("SELECT path, algorithm, digest, approved_at FROM baselines ORDER BY path").all() as { path: string; algorithm: string; digest: string; approved_at: string }[]).map(
      (r) => ({ path: r.path, algorithm: r.algorithm, digest: r.digest, approvedAt: r.approved_at }),
    );
  }

  // IntegrityStore (schema 7): approved-states.ts
  private get approvals(): ApprovedStates {
    if (!this.approvedStates) throw new StoreError(`the store in ${this.dir} was written by an older Covenant and keeps no approved integrity states yet: its next run adds them`);
    return this.approvedStates;
  }

  approved(hostPath: string): ApprovedState | undefined {
    if (!this.approvedStates) return undefined;
    const states = this.approvedStates;
    const kept = this.reads?.takeApproved(hostPath);
    if (kept !== undefined) return states.decode(kept ?? undefined);
    // the message made only when it is needed: this is read once per path of every integrity promise
    try {
      return states.get(hostPath);
    } catch {
      return guarded(this.dir, `cannot read the store ${this.dbPath}`, () => states.get(hostPath));
    }
  }

  approvedCopy(hostPath: string, record: number): { copy: ApprovedCopy } | { none: string } {
    if (!this.approvedStates) return { none: "no approved copy kept" };
    return guarded(this.dir, `cannot read the store ${this.dbPath}`, () => this.approvals.copy(hostPath, record));
  }

  approvedBelow(hostPath: string): string[] {
    if (!this.approvedStates) return [];
    return guarded(this.dir, `cannot read the store ${this.dbPath}`, () => this.approvals.below(hostPath));
  }

  /** The approved states written and removed, and their record (approved-states.ts); rows the run kept from its prefetch are read again after. */
  private approveRows(...args: Parameters<ApprovedStates["approve"]>): number {
    const [entries, removed] = args;
    for (const e of entries) this.reads?.forget("approved", e.hostPath);
    for (const p of removed) this.reads?.forget("approved", p);
    return this.approvals.approve(...args);
  }

  /** A run approves the paths it sees first: one `approval` record for them, in the run. */
  recordFirst(promise: string, entries: { hostPath: string; entry: ApprovedEntry }[], at: string): void {
    try {
      this.approveRows(entries, [], { how: "first-seen", promise, at }, (kind, body) => this.append(kind, this.currentRun, at, body));
    } catch (err) {
      const failure = operationalError(err, `cannot record the approved integrity states of ${promise} in the store`);
      if (failure) throw new CannotObserve(failure.message);
      throw err;
    }
  }

  /**
   * A repair the run made approves the state it left at the paths it changed: one `approval`
   * record for them, in the run, written in the same transaction as the change record of the
   * promise that repaired (`record`, which comes next: promises are evaluated and recorded one at
   * a time), not in one of its own: a repair wrote two transactions, and their pages twice (bench/run).
   */
  recordRepaired(promise: string, entries: { hostPath: string; entry: ApprovedEntry }[], at: string): void {
    this.pendingApprovals.push({ promise, entries, at });
  }

  /** The approvals waiting for their change record; inside the caller's transaction. */
  private writeApprovals(): void {
    for (const { promise, entries, at } of this.pendingApprovals.splice(0)) this.approveRows(entries, [], { how: "repaired", promise, at }, (kind, body) => this.append(kind, this.currentRun, at, body));
  }

  /**
   * `covenant integrity init` and `covenant approve`: the states approved and removed, and the
   * approval record saying who and why, in one transaction, inside the command's run (the
   * evaluation that follows records what the approval closed). Returns the record number.
   */
  approveStates(entries: { hostPath: string; entry: ApprovedEntry }[], removed: string[], body: Omit<ApprovalBody, "paths" | "sample" | "digest" | "removed">, baselines: { path: string; baseline: Baseline }[] = []): number {
    const run = this.recordRun;
    let record = 0;
    this.anchored("the approval", () =>
      this.db
        .transaction(() => {
          for (const b of baselines) this.writeBaseline(b.path, b.baseline, run);
          record = this.approveRows(entries, removed, body, (kind, b) => this.append(kind, run, body.at, b));
          return this.w.last.get() as { seq: number; mac: Buffer };
        })
        .immediate(),
    );
    return record;
  }

  /** What a masked line of an approved copy is compared by: an HMAC of it under the host key (a digest of a short secret could be guessed). */
  keyLine(line: string): string {
    return this.keyed.of(`masked line\n${line}`);
  }

  // SampleStore: bands learnt in a run are written with its summary (bands.ts)
  private get bands(): LearntBands {
    if (!this.learnt) throw new Error("the store was opened read-only");
    return this.learnt;
  }

  /** The band learnt so far, learning nothing (a dry run); bands changed outside Covenant are not used. */
  band(metric: string, hourOfWeek: number): { count: number; mean: number; stddev: number } {
    return this.bands.band(metric, hourOfWeek);
  }

  observe(metric: string, hourOfWeek: number, value: number): { count: number; mean: number; stddev: number } {
    return this.bands.observe(metric, hourOfWeek, value);
  }

  // Deficiencies and the outbox: the logic is in deficiencies.ts, outbox.ts and notify.ts
  private get n(): Notifications {
    if (!this.notify) throw new StoreError(`the store in ${this.dir} was written by an older Covenant and keeps no deficiencies yet: its next run adds them`);
    return this.notify;
  }

  private notifyRead<T>(fn: (n: Notifications) => T, empty: T): T {
    return this.notify ? guarded(this.dir, `cannot read the store ${this.dbPath}`, () => fn(this.n)) : empty;
  }

  /** The run a record belongs to: the run in progress, or 0 outside one (and after its summary). */
  private get recordRun(): number {
    return this.summarised.has(this.currentRun) ? 0 : this.currentRun;
  }

  /**
   * Writes an ack or a delivery, then has the file anchor name it, so that cutting it off the
   * end is found; outside a run, state.db is checkpointed to hold it. Inside one, no checkpoint:
   * a log removed after the run was killed must erase the whole run (its anchor finds that),
   * never only its tail.
   */
  private anchored<T extends { seq: number; mac: Buffer } | undefined>(doing: string, fn: () => T): T {
    const done = guarded(this.dir, `cannot record ${doing} in the store ${this.dbPath}`, fn);
    if (done) this.writeFileHead(done.seq, done.mac, runCounter(this.db));
    if (done && this.recordRun === 0) guarded(this.dir, `cannot checkpoint the store ${this.dbPath}`, () => checkpoint(this.db));
    return done;
  }

  listDeficiencies(filter?: { status?: "open" | "resolved" | "all"; id?: string }): Deficiency[] {
    return this.notifyRead((n) => n.deficiencies.list(filter), []);
  }

  findDeficiency(idOrPrefix: string): Deficiency | { ambiguous: string[] } | undefined {
    return this.notifyRead((n) => n.deficiencies.find(idOrPrefix), undefined);
  }

  /** An "ack" record, the acknowledgement on the open deficiency and its event, in one transaction; DeficiencyError when it is not open. */
  acknowledge(id: string, ack: Omit<Acknowledgement, "record">, run?: number): Deficiency {
    return this.anchored(`the acknowledgement of ${id}`, () => this.n.acknowledge(id, ack, run ?? this.recordRun)).deficiency;
  }

  /** The id this store's deficiency ids are made with (an HMAC of a label under the first host key, never the key): what a push tells the hub. */
  get deficiencyKeyId(): string {
    return this.keys.firstId;
  }

  /** The record that answered the fleet hub's decision `id` (hub-decisions.ts), or undefined. */
  hubDecisionAnswer(id: string): number | undefined {
    return guarded(this.dir, `cannot read the store ${this.dbPath}`, () => answerOf(this.db, id));
  }

  /**
   * Applies the fleet hub's decision `id` exactly once: in one transaction, nothing when a record
   * answers it already (`already`: that record), else `write` makes its one record; the file
   * anchor moved after, as for an acknowledgement.
   */
  applyHubDecision(id: string, write: (w: HubDecisionWriter) => { seq: number; mac: Buffer }): { seq: number; already: boolean } {
    let already: number | undefined;
    const done = this.anchored(`the hub's decision ${id}`, () =>
      this.db
        .transaction(() => {
          already = answerOf(this.db, id);
          if (already !== undefined) return undefined;
          const run = this.recordRun;
          return write({
            acknowledge: (deficiency, ack) => this.n.acknowledge(deficiency, ack, run),
            waiver: (body) => this.append("waiver", run, body.at, body),
            refuse: (body) => this.append("decision", run, body.at, body),
          });
        })
        .immediate(),
    );
    return done ? { seq: done.seq, already: false } : { seq: already!, already: true };
  }

  /** A promise's newest change record (number and findings), and the policy the newest run that counts ran: what an integrity approval from the hub is held to. */
  lastChangeOf(key: string): { seq: number; findings: unknown } | undefined {
    return guarded(this.dir, `cannot read the store ${this.dbPath}`, () => lastChangeOf(this.db, key));
  }

  lastRunPolicy(): string | undefined {
    return guarded(this.dir, `cannot read the store ${this.dbPath}`, () => lastRunPolicy(this.db));
  }

  /** The waivers given on the fleet hub, as their records keep them. */
  hubWaivers(): WaiverBody[] {
    return guarded(this.dir, `cannot read the store ${this.dbPath}`, () => hubWaivers(this.db));
  }

  notificationWorkingSet(): WorkingSet {
    return this.notifyRead((n) => n.workingSet(), { deficiencies: [], groups: [], events: [] });
  }

  savePlan(p: SavedPlan): void {
    guarded(this.dir, `cannot save the notification plan in the store ${this.dbPath}`, () => this.n.savePlan(p));
  }

  dueMessages(now: number, limit = 100, skip?: ReadonlySet<string>, channel?: string): OutboxMessage[] {
    return this.notifyRead((n) => n.dueMessages(now, limit, skip, channel), []);
  }

  dueChannels(now: number): string[] {
    return this.notifyRead((n) => n.outbox.dueChannels(now), []);
  }

  countDue(now: number, skip?: ReadonlySet<string>, channel?: string): number {
    return this.notifyRead((n) => n.outbox.countDue(now, skip, channel), 0);
  }

  listOutbox(filter: { status?: OutboxMessage["status"][] } = {}): OutboxMessage[] {
    return this.notifyRead((n) => n.outbox.list(filter.status), []);
  }

  /** A delivery's result; sent and given up are "delivery" records in the history. */
  recordDelivery(id: string, result: DeliveryResult): void {
    this.anchored(`the delivery of ${id}`, () => this.n.recordDelivery(id, result, this.recordRun));
  }

  /**
   * Several deliveries in one transaction and one move of the head anchor: a run that tells
   * hundreds of stakeholders writes its evidence at the speed of the network, not of fsync.
   * All or none: an unknown or already settled id fails the whole list (nothing is written).
   */
  recordDeliveries(list: readonly { id: string; result: DeliveryResult }[]): void {
    if (list.length === 0) return;
    this.anchored(`the delivery of ${list.length} message${list.length === 1 ? "" : "s"}`, () =>
      this.db
        .transaction(() => {
          let last: { seq: number; mac: Buffer } | undefined;
          for (const { id, result } of list) last = this.n.recordDelivery(id, result, this.recordRun) ?? last;
          return last;
        })
        .immediate(),
    );
  }

  /**
   * A failure of Covenant itself (a channel that keeps failing, a watcher gone), recorded as a
   * promise's result is; `kept` for what never failed writes nothing. Returns whether a record
   * was written (the deficiency opened or resolved, or its state changed).
   */
  recordSystemFinding(key: string, finding: Finding & { type: string; promiser: string }, outcome: "error" | "kept", reason: string, time: string): boolean {
    if (outcome === "kept" && !isDeficiency(this.currentRow(key)?.outcome as Outcome)) return false;
    const run = this.recordRun;
    const written = this.recordResult(run, time, systemResult(key, finding, outcome, reason), finding);
    if (written && run === 0) this.anchored("a system finding", () => this.w.last.get() as { seq: number; mac: Buffer });
    return written;
  }

  // The watcher's heartbeat (watcher.ts): written without the run lock, one row in its own transaction

  private readHeartbeat(): ReturnType<Watcher["read"]> {
    return this.watcher ? guarded(this.dir, `cannot read the store ${this.dbPath}`, () => this.watcher!.read()) : {};
  }

  /** The watcher says it is alive (and which process, policy and interval it is): one statement. */
  beat(b: Beat): void {
    if (this.mode !== "write" || !this.watcher) throw new Error("the store was opened read-only");
    const w = this.watcher;
    // the key checked in the beat's transaction: a rotation cannot commit between the two
    guarded(this.dir, `cannot record the watcher's heartbeat in the store ${this.dbPath}`, () =>
      this.db
        .transaction(() => {
          this.checkKeyInForce();
          w.beat(b);
        })
        .immediate(),
    );
  }

  /** The watcher `who` says it stopped cleanly at `at`; false when the heartbeat is not its own. */
  stopWatcher(who: { pid: number; startTicks: number }, at: string): boolean {
    if (this.mode !== "write" || !this.watcher) throw new Error("the store was opened read-only");
    const w = this.watcher;
    return guarded(this.dir, `cannot record that the watcher stopped in the store ${this.dbPath}`, () =>
      this.db
        .transaction(() => {
          this.checkKeyInForce();
          return w.stop(who, at);
        })
        .immediate(),
    );
  }

  /** The watcher at `now` (ms since the epoch), its process looked up in `procRoot`: one indexed read. */
  watcherStatus(now: number = Date.now(), procRoot = "/proc"): WatcherStatus {
    const { heartbeat, untrusted } = this.readHeartbeat();
    if (heartbeat) return judgeHeartbeat(heartbeat, now, procRoot);
    return untrusted !== undefined ? { state: "none", untrusted } : { state: "none" };
  }

  /** `covenant watch --status`: the store opened read-only (beside a run), one read, closed. */
  static watcherStatusOf(dir: string, now: number = Date.now(), procRoot = "/proc"): WatcherStatus {
    const store = StateStore.openReadOnly(dir);
    try {
      return store.watcherStatus(now, procRoot);
    } finally {
      store.close();
    }
  }

  /** Bytes the database uses (pages in use times page size), for the storage benchmark. */
  bytesUsed(): number {
    checkpoint(this.db);
    const pageSize = this.db.pragma("page_size", { simple: true }) as number;
    const pages = this.db.pragma("page_count", { simple: true }) as number;
    const free = this.db.pragma("freelist_count", { simple: true }) as number;
    return (pages - free) * pageSize;
  }
}
