// The host's state store, one SQLite file under the state directory: the current state of
// every promise, the hash-chained history of its changes, one summary per run, the integrity
// baselines and the learnt bands, (schema 5) the deficiencies, the outbox and the notification
// log, each moved in the transaction of the record that moved it, and (schema 6) the watcher's
// heartbeat. Written in WAL
// mode, one transaction per record, so that a run killed at any point leaves a store that
// opens, verifies and has lost nothing committed.
// `run` opens it for writing; `history` and `verify` read it and change nothing.
// StateStore is the facade: what it does is in its parts (store-core.ts and the store-*.ts beside it).
import type Database from "better-sqlite3";
import type { ApprovedEntry, ApprovedState, Baseline, BaselineStore, IntegrityStore, SampleStore } from "../evaluator/contract.js";
import type { ApprovedCopy } from "../integrity/approved-copy.js";
import type { PromiseResult } from "../evaluator/engine.js";
import type { LearntBands } from "./bands.js";
import { checkpoint, type ReadOnlyDatabase } from "./database.js";
import { deficiencyId } from "./deficiencies.js";
import type { Finding } from "./deficiencies.js";
import { explainRuns, type RunExplanation } from "./explain.js";
import { answerOf, hubWaivers, lastChangeOf, lastRunPolicy, type WaiverBody } from "./hub-decisions.js";
import type { HubPoint } from "./hub-position.js";
import type { RecordKind, Tampering } from "./ledger.js";
import type { DeliveryResult, SavedPlan, WorkingSet } from "./notify.js";
import type { Acknowledgement, Deficiency, OutboxMessage } from "../notifiers/contract.js";
import { lastRecord, recordRangeIn } from "./period-reads.js";
import type { PolicyVersionSummary } from "./policies.js";
import type { ApprovalBody, HistoryEntry, PolicyFile, PruneEvidence, RunBody, RunKind } from "./records.js";
import type { RotationDone, Rotator } from "./rotation.js";
import { RunReads, type RunWants } from "./run-reads.js";
import type { ScannedRecord, ScanRange } from "./scan.js";
import type { SigningKey } from "./signing-key.js";
import type { Checkpoint } from "./checkpoint.js";
import { approvedBelowOf, approvedCopyOf, approvedOf, approveStates, baselineOf, listBaselines, recordFirstSeen, setBaseline } from "./store-approvals.js";
import type { StoreCore } from "./store-core.js";
import { rotateHost, rotateSigning, signingKeyOf, signingKeysNamed } from "./store-keys.js";
import { acknowledge, applyHubDecision, readNotify, recordDeliveries, recordDelivery, recordSystemFinding, savePlan, type HubDecisionWriter } from "./store-notify.js";
import { openForRun, openToRead } from "./store-open.js";
import { hubPositionOf, pruneHistory, setHubPositionOf, type PruneOutcome } from "./store-prune.js";
import { beginRun, finishRun, recordResult } from "./store-record.js";
import { readHistory, recordTimes, rotationsAfter, scanHistory, storedRecords, verifyAndScan, verifyHistory, type ScanOutcome } from "./store-reads.js";
import { beat, stopWatcher, watcherStatus } from "./store-watcher.js";
import type { KnownHead, VerifyReport } from "./verify.js";
import type { Beat, WatcherStatus } from "./watcher.js";

export { damageMessage, HistoryBrokenError, isDamage, NoStoreError, StoreDamagedError, StoreError, UntrustedStateError } from "./errors.js";
export type { AckBody, ApprovalBody, BaselineBody, ChangeBody, DeliveryBody, HistoryEntry, HostRotationBody, PolicyBody, PolicyFile, PruneBody, PruneEvidence, RecordedFinding, RosterBody, RotationBody, RunBody, RunKind } from "./records.js";
export { fingerprintOf, publicKeyPem, type SigningKey } from "./signing-key.js";
export type { Checkpoint } from "./checkpoint.js";
export { hashPolicy, type PolicyVersionSummary } from "./policies.js";
export { outcomesDigest, type PromiseAtRun, type RunExplanation } from "./explain.js";
export type { ScannedRecord, ScanRange } from "./scan.js";
export type { HubPoint } from "./hub-position.js";
export type { ScanOutcome } from "./store-reads.js";
export { runKindOf } from "./records.js";
export { staleAfterMs, type Beat, type Heartbeat, type WatcherStatus } from "./watcher.js";
export { DeficiencyError, type Finding } from "./deficiencies.js";
export type { DeliveryResult, SavedPlan, WorkingSet } from "./notify.js";
export type { KnownHead, VerifyReport } from "./verify.js";
export { SCHEMA_VERSION } from "./schema.js";
export { MAX_DIFFERENCES, stateOf } from "./store-record.js";
export type { PruneOutcome } from "./store-prune.js";
export type { HubDecisionWriter } from "./store-notify.js";

export class StateStore implements BaselineStore, SampleStore, IntegrityStore {
  readonly dir: string;
  /** how a reader opened the database (`shared`, `immutable`, `private copy`); `write` for a run */
  readonly mode: ReadOnlyDatabase["mode"] | "write";
  /** rows of the notify tables found changed outside Covenant while reading: passed over, and said here */
  readonly untrusted: string[];
  private readonly db: Database.Database;

  private constructor(private readonly s: StoreCore) {
    this.dir = s.dir;
    this.mode = s.mode;
    this.untrusted = s.untrusted;
    this.db = s.db;
  }

  /** Opens (or creates) the store for a run (store-open.ts). */
  static open(dir: string): StateStore {
    return new StateStore(openForRun(dir));
  }

  /** Opens the store to read it, changing nothing: no schema change, no key, no journal mode (store-open.ts). */
  static openReadOnly(dir: string): StateStore {
    return new StateStore(openToRead(dir));
  }

  close(): void {
    this.s.reads = undefined;
    this.s.closeDb();
  }

  /**
   * Reads ahead the rows an evaluation will read (its promises' current states, its paths' baselines
   * and approved states), a chunk of them a statement, kept until `dropPrefetched`: only under the
   * run lock, for one evaluation (run-reads.ts). Returns whether they are read ahead: when they
   * cannot be, each is read by its statement as it is used, as before, and fails there as it would have.
   */
  prefetch(want: RunWants): boolean {
    this.s.reads = undefined;
    if (!this.s.writes) return false;
    try {
      this.s.reads = new RunReads(this.db, want, this.s.approvedStates !== undefined);
      return true;
    } catch {
      return false;
    }
  }

  /** Drops the rows `prefetch` read: the evaluation is over (the watcher's next one reads them again). */
  dropPrefetched(): void {
    this.s.reads = undefined;
  }

  // A run's recording path: store-record.ts

  /** Allocates the next run number, durably, and moves the head anchor to name it. */
  beginRun(kind: RunKind = "run"): number {
    return beginRun(this.s, kind);
  }

  /** Records one promise's result; returns whether a history record was written. */
  recordResult(run: number, time: string, r: PromiseResult, finding?: Finding | (() => Finding | undefined)): boolean {
    return recordResult(this.s, run, time, r, finding);
  }

  /** The run's summary (with its policy, roster and learnt bands); returns its record number. */
  finishRun(body: Omit<RunBody, "changed" | "policyRecord" | "roster" | "retired">, policy?: readonly { path: string; text: string }[], keys?: Iterable<string>): number {
    return finishRun(this.s, body, policy, keys);
  }

  // Reading the history: store-reads.ts, and the parts named

  /** The policy version stored under `hash` (as a run's summary names it): its files as checked, and the record and run that first held it. */
  policyVersion(hash: string): { hash: string; record: number; run: number; at: string; files: PolicyFile[] } | undefined {
    const v = this.s.read(() => this.s.policies.version(hash));
    return v ? { hash, record: v.seq, run: v.run, at: v.body.at, files: v.body.files } : undefined;
  }

  /**
   * Each of these runs as it was: every promise it evaluated with its outcome and what was
   * observed, rebuilt from the history and proven against its summary's digest (explain.ts).
   * Runs with no summary are left out.
   */
  explainRuns(runs: readonly number[]): Map<number, RunExplanation> {
    return this.s.read(() => this.db.transaction(() => explainRuns(this.db, runs))());
  }

  /** Every record of `range` given to `visit` in seq order, each MAC checked; what the scan vouches for. */
  scanHistory(range: ScanRange, visit: (r: ScannedRecord) => void): ScanOutcome {
    return scanHistory(this.s, range, visit);
  }

  /**
   * The id the host gave the deficiency that change record `record` (of run `run`) opened for
   * `promiseKey`: the id is keyed with the host key, which never leaves the store. A 40-bit clash
   * with another id made the host try again (deficiencies.ts newId); that is not re-enacted here.
   */
  deficiencyIdOf(promiseKey: string, run: number, record: number): string {
    return deficiencyId(this.s.keys.firstId, promiseKey, run, record);
  }

  /** Every policy version the history holds, oldest first: hash, its record, the first run and when it began, its files' count and bytes. */
  policyVersions(): PolicyVersionSummary[] {
    return this.s.read(() => this.s.policies.versions());
  }

  /** Each record's number and time, in order: what an evidence pack's period is cut from. */
  recordTimes(): { seq: number; time: string }[] {
    return recordTimes(this.s);
  }

  /** The records from `first` to `last` (their numbers) as stored: body text and MAC (hex), unjudged (verify judges). */
  records(first: number, last: number): { seq: number; kind: RecordKind; run: number; time: string; body: string; mac: string }[] {
    return storedRecords(this.s, first, last);
  }

  /** The rotation records after record `seq` as stored (a handful at most), as `records` gives them: a push ahead of them carries them (hub/client/push.ts). */
  rotationsAfter(seq: number): { seq: number; kind: RecordKind; run: number; time: string; body: string; mac: string }[] {
    return rotationsAfter(this.s, seq);
  }

  /** The first and last record whose time is in [startMs, endMs) (read a row at a time: period-reads.ts). */
  recordRangeIn(startMs: number, endMs: number): { first: number; last: number } | undefined {
    return this.s.read(() => recordRangeIn(this.db, startMs, endMs));
  }

  /** The last record's number and MAC as stored, unjudged. */
  lastRecord(): { seq: number; mac: string } | undefined {
    return this.s.read(() => lastRecord(this.db));
  }

  /** The records, each checked against the chain as it is read, and whether the chain's end is what its anchors vouch for. */
  readHistory(filter: { control?: string; since?: string; kinds?: RecordKind[] } = {}): { entries: HistoryEntry[]; end?: Tampering; checkpoint?: Checkpoint } {
    return readHistory(this.s, filter);
  }

  history(filter: { control?: string; since?: string; kinds?: RecordKind[] } = {}): HistoryEntry[] {
    return this.readHistory(filter).entries;
  }

  verify(knownHead?: KnownHead): VerifyReport {
    return verifyHistory(this.s, knownHead);
  }

  /** `verify` and `scanHistory(range, visit)` in one walk of the history, in one read transaction. */
  verifyAndScan(range: ScanRange, visit: (r: ScannedRecord) => void): { verified: VerifyReport; scan: ScanOutcome } {
    return verifyAndScan(this.s, range, visit);
  }

  // The signing key and the host key: store-keys.ts

  /** The fingerprints of every signing key the history names: each rotation's old and new key (none before the first rotation). */
  signingKeysNamed(): Set<string> {
    return signingKeysNamed(this.s);
  }

  /** The signing key in force: made now when there is none and `create` allows. */
  signingKey(create: boolean): SigningKey | undefined {
    return signingKeyOf(this.s, create);
  }

  /** Replaces the signing key: its record committed outside a run. */
  rotateSigningKey(who: Rotator): RotationDone {
    return rotateSigning(this.s, who);
  }

  /** Replaces the host key, outside a run, under the run lock, in a store that verifies intact; the caller closes the store after. */
  rotateHostKey(who: Rotator): { record: number; old: string; new: string; finished?: true } {
    return rotateHost(this.s, who);
  }

  // The fleet hub's position and the prune: store-prune.ts

  /** What the fleet hub holds of this host, as host id `host`; undefined before its first acknowledgement. */
  hubPosition(host: string): (HubPoint & { at: string }) | undefined {
    return hubPositionOf(this.s, host);
  }

  /** Stores what the hub acknowledged; only forward unless `back` (the hub holds less than before). Returns whether it was written. */
  setHubPosition(host: string, p: HubPoint, opts: { back?: boolean; at?: Date } = {}): boolean {
    return setHubPositionOf(this.s, host, p, opts);
  }

  /** Removes the history before `before`, whole runs only, once `evidence` holds every record removed; `dryRun`: the plan, nothing written. */
  prune(req: { before: Date; evidence: PruneEvidence; dryRun?: boolean; now?: Date; hubMustHold?: { host: string } }): PruneOutcome {
    return pruneHistory(this.s, req);
  }

  // BaselineStore and IntegrityStore (schema 7): store-approvals.ts
  get(path: string): Baseline | undefined {
    return baselineOf(this.s, path);
  }

  /** What a `nodiff` file's digest is kept and compared as: an HMAC of it under the host key. */
  keyDigest(digest: string): string {
    return this.s.keyDigest(digest);
  }

  /** Records an approved baseline, sealed, and its approval in the chain (in one transaction); a keyed one holds no digest of the content. */
  set(path: string, given: Baseline): void {
    setBaseline(this.s, path, given);
  }

  baselines(): { path: string; algorithm: string; digest: string; approvedAt: string }[] {
    return listBaselines(this.s);
  }

  approved(hostPath: string): ApprovedState | undefined {
    return approvedOf(this.s, hostPath);
  }

  approvedCopy(hostPath: string, record: number): { copy: ApprovedCopy } | { none: string } {
    return approvedCopyOf(this.s, hostPath, record);
  }

  approvedBelow(hostPath: string): string[] {
    return approvedBelowOf(this.s, hostPath);
  }

  /** A run approves the paths it sees first: one `approval` record for them, in the run. */
  recordFirst(promise: string, entries: { hostPath: string; entry: ApprovedEntry }[], at: string): void {
    recordFirstSeen(this.s, promise, entries, at);
  }

  /**
   * A repair the run made approves the state it left at the paths it changed: one `approval`
   * record for them, in the run, written in the same transaction as the change record of the
   * promise that repaired (`record`, which comes next: promises are evaluated and recorded one at
   * a time), not in one of its own: a repair wrote two transactions, and their pages twice (bench/run).
   */
  recordRepaired(promise: string, entries: { hostPath: string; entry: ApprovedEntry }[], at: string): void {
    this.s.pendingApprovals.push({ promise, entries, at });
  }

  /** `covenant integrity init` and `covenant approve`: the states approved and removed, and the approval record, in one transaction. Returns the record number. */
  approveStates(entries: { hostPath: string; entry: ApprovedEntry }[], removed: string[], body: Omit<ApprovalBody, "paths" | "sample" | "digest" | "removed">, baselines: { path: string; baseline: Baseline }[] = []): number {
    return approveStates(this.s, entries, removed, body, baselines);
  }

  /** What a masked line of an approved copy is compared by: an HMAC of it under the host key (a digest of a short secret could be guessed). */
  keyLine(line: string): string {
    return this.s.keyLine(line);
  }

  // SampleStore: bands learnt in a run are written with its summary (bands.ts)
  private get bands(): LearntBands {
    if (!this.s.learnt) throw new Error("the store was opened read-only");
    return this.s.learnt;
  }

  /** The band learnt so far, learning nothing (a dry run); bands changed outside Covenant are not used. */
  band(metric: string, hourOfWeek: number): { count: number; mean: number; stddev: number } {
    return this.bands.band(metric, hourOfWeek);
  }

  observe(metric: string, hourOfWeek: number, value: number): { count: number; mean: number; stddev: number } {
    return this.bands.observe(metric, hourOfWeek, value);
  }

  // Deficiencies, the outbox and the fleet hub's decisions: store-notify.ts (the logic is in deficiencies.ts, outbox.ts and notify.ts)

  listDeficiencies(filter?: { status?: "open" | "resolved" | "all"; id?: string }): Deficiency[] {
    return readNotify(this.s, (n) => n.deficiencies.list(filter), []);
  }

  findDeficiency(idOrPrefix: string): Deficiency | { ambiguous: string[] } | undefined {
    return readNotify(this.s, (n) => n.deficiencies.find(idOrPrefix), undefined);
  }

  /** An "ack" record, the acknowledgement on the open deficiency and its event, in one transaction; DeficiencyError when it is not open. */
  acknowledge(id: string, ack: Omit<Acknowledgement, "record">, run?: number): Deficiency {
    return acknowledge(this.s, id, ack, run);
  }

  /** The id this store's deficiency ids are made with (an HMAC of a label under the first host key, never the key): what a push tells the hub. */
  get deficiencyKeyId(): string {
    return this.s.keys.firstId;
  }

  /** The record that answered the fleet hub's decision `id` (hub-decisions.ts), or undefined. */
  hubDecisionAnswer(id: string): number | undefined {
    return this.s.read(() => answerOf(this.db, id));
  }

  /** Applies the fleet hub's decision `id` exactly once; `already` when a record answers it already. */
  applyHubDecision(id: string, write: (w: HubDecisionWriter) => { seq: number; mac: Buffer }): { seq: number; already: boolean } {
    return applyHubDecision(this.s, id, write);
  }

  /** A promise's newest change record (number and findings), and the policy the newest run that counts ran: what an integrity approval from the hub is held to. */
  lastChangeOf(key: string): { seq: number; findings: unknown } | undefined {
    return this.s.read(() => lastChangeOf(this.db, key));
  }

  lastRunPolicy(): string | undefined {
    return this.s.read(() => lastRunPolicy(this.db));
  }

  /** The waivers given on the fleet hub, as their records keep them. */
  hubWaivers(): WaiverBody[] {
    return this.s.read(() => hubWaivers(this.db));
  }

  notificationWorkingSet(): WorkingSet {
    return readNotify(this.s, (n) => n.workingSet(), { deficiencies: [], groups: [], events: [] });
  }

  savePlan(p: SavedPlan): void {
    savePlan(this.s, p);
  }

  dueMessages(now: number, limit = 100, skip?: ReadonlySet<string>, channel?: string): OutboxMessage[] {
    return readNotify(this.s, (n) => n.dueMessages(now, limit, skip, channel), []);
  }

  dueChannels(now: number): string[] {
    return readNotify(this.s, (n) => n.outbox.dueChannels(now), []);
  }

  countDue(now: number, skip?: ReadonlySet<string>, channel?: string): number {
    return readNotify(this.s, (n) => n.outbox.countDue(now, skip, channel), 0);
  }

  listOutbox(filter: { status?: OutboxMessage["status"][] } = {}): OutboxMessage[] {
    return readNotify(this.s, (n) => n.outbox.list(filter.status), []);
  }

  /** A delivery's result; sent and given up are "delivery" records in the history. */
  recordDelivery(id: string, result: DeliveryResult): void {
    recordDelivery(this.s, id, result);
  }

  /** Several deliveries in one transaction and one move of the head anchor; all or none. */
  recordDeliveries(list: readonly { id: string; result: DeliveryResult }[]): void {
    recordDeliveries(this.s, list);
  }

  /** A failure of Covenant itself, recorded as a promise's result is; returns whether a record was written. */
  recordSystemFinding(key: string, finding: Finding & { type: string; promiser: string }, outcome: "error" | "kept", reason: string, time: string): boolean {
    return recordSystemFinding(this.s, key, finding, outcome, reason, time);
  }

  // The watcher's heartbeat: store-watcher.ts

  /** The watcher says it is alive (and which process, policy and interval it is): one statement. */
  beat(b: Beat): void {
    beat(this.s, b);
  }

  /** The watcher `who` says it stopped cleanly at `at`; false when the heartbeat is not its own. */
  stopWatcher(who: { pid: number; startTicks: number }, at: string): boolean {
    return stopWatcher(this.s, who, at);
  }

  /** The watcher at `now` (ms since the epoch), its process looked up in `procRoot`: one indexed read. */
  watcherStatus(now: number = Date.now(), procRoot = "/proc"): WatcherStatus {
    return watcherStatus(this.s, now, procRoot);
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
