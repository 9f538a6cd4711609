// What every part of the state store shares (store.ts is its facade): the open database, the host
// keys, the statements a run writes with, what this process recorded, and the few writes every
// record makes (append, the head anchor, the check that the key is still in force). The parts
// (store-open, store-record, store-approvals, store-reads, store-keys, store-prune, store-notify,
// store-watcher) are functions of it; nothing outside src/store/ sees it.
import type Database from "better-sqlite3";
import { join } from "node:path";
import type { ApprovedEntry } from "../evaluator/contract.js";
import { runCounter } from "./anchors.js";
import type { ApprovedStates } from "./approved-states.js";
import type { LearntBands } from "./bands.js";
import { checkpoint, type ReadOnlyDatabase } from "./database.js";
import { hostKeyId } from "./deficiencies.js";
import { StoreError } from "./errors.js";
import { hostKeyPath, keyKeptElsewhere, readHostKey } from "./host-key.js";
import { HostKeys, readPendingKey, scheduleOf } from "./host-keys.js";
import { KeyedDigests } from "./keyed-digests.js";
import { GENESIS, macOf, sealHead, type RecordKind } from "./ledger.js";
import { Notifications } from "./notify.js";
import { guarded } from "./opening.js";
import { PolicyRecords } from "./policies.js";
import type { RunKind } from "./records.js";
import { Rosters } from "./rosters.js";
import type { RunReads } from "./run-reads.js";
import { replaceFile } from "./safe-files.js";
import { SCHEMA_VERSION } from "./schema.js";
import type { BaselineRow, CurrentRow } from "./seals.js";
import { Watcher } from "./watcher.js";
import { MetaStatements } from "./meta.js";

/** The statements a run writes with, prepared once when the store is opened for writing. */
function prepareWrites(db: Database.Database) {
  return {
    current: db.prepare("SELECT * FROM current WHERE key = ?"),
    setCurrent: db.prepare("INSERT OR REPLACE INTO current VALUES (@key, @control, @outcome, @state, @since, @run, @reason, @seal)"),
    append: db.prepare("INSERT INTO ledger (seq, kind, run, time, body, mac) VALUES (?, ?, ?, ?, ?, ?)"),
    baseline: db.prepare("SELECT * FROM baselines WHERE path = ?"),
    setBaseline: db.prepare("INSERT OR REPLACE INTO baselines VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
    last: db.prepare("SELECT seq, mac FROM ledger ORDER BY seq DESC LIMIT 1"),
    meta: new MetaStatements(db),
  };
}

export type Writes = ReturnType<typeof prepareWrites>;

/** An approval of the states a repair left, waiting for the change record of the promise that made it (recordRepaired). */
export interface PendingApproval {
  promise: string;
  entries: { hostPath: string; entry: ApprovedEntry }[];
  at: string;
}

export class StoreCore {
  readonly headPath: string;
  /** the database file, as errors name it (made once: each result's record names it in its error message) */
  readonly dbPath: string;
  /** the id of the key in force, as a rotation records it (checkKeyInForce compares it with the store's) */
  readonly keyId: string;
  /** keyed digests compared under every key of the schedule (keyed-digests.ts) */
  readonly keyed: KeyedDigests;
  writes?: Writes;
  /** the run records are appended for (baseline approvals happen during a run) */
  currentRun = 0;
  /** change records this process wrote, per run: the run's summary says how many, and `verify` counts them */
  readonly written = new Map<number, number>();
  learnt?: LearntBands;
  /** deficiencies, the outbox and the notification log (schema 5; absent in an older store read as it is) */
  notify?: Notifications;
  /** runs whose summary this process wrote: what is recorded after it (deliveries) is not the run's */
  readonly summarised = new Set<number>();
  /** the kind of each run this process began: its summary says it */
  readonly kinds = new Map<number, RunKind>();
  /** the approvals of the states repairs left, written with the change record of the promise that made them (recordRepaired) */
  readonly pendingApprovals: PendingApproval[] = [];
  /** the watcher's heartbeat (schema 6; absent in an older store read as it is) */
  watcher?: Watcher;
  /** the approved integrity states (schema 7; absent in an older store read as it is) */
  approvedStates?: ApprovedStates;
  /** the policy versions in the history (policies.ts), made when first needed */
  private policyRecords?: PolicyRecords;
  /** the rosters of evaluated promises in the history (rosters.ts), made when first needed */
  private rosterRecords?: Rosters;
  /** a rotation of the host key whose record was committed, finished as this store was opened */
  finishedHostRotation?: { record: number; old: string; new: string };
  /** the rows one evaluation will read, read ahead (run-reads.ts); undefined outside one */
  reads?: RunReads;
  /** rows of the notify tables found changed outside Covenant while reading: passed over, and said here */
  readonly untrusted: string[] = [];

  constructor(
    readonly dir: string,
    readonly db: Database.Database,
    /** which host key MACs which record; the one in force makes every new record, seal and anchor */
    readonly keys: HostKeys,
    readonly closeDb: () => void,
    /** how a reader opened the database (`shared`, `immutable`, `private copy`); `write` for a run */
    readonly mode: ReadOnlyDatabase["mode"] | "write",
  ) {
    this.headPath = join(dir, "ledger.head");
    this.dbPath = join(dir, "state.db");
    this.keyed = new KeyedDigests(db, keys);
    this.keyId = hostKeyId(keys.current);
  }

  /** the host key in force */
  get key(): Buffer {
    return this.keys.current;
  }

  /** says a row changed outside Covenant, once */
  readonly say = (why: string) => {
    if (!this.untrusted.includes(why)) this.untrusted.push(why);
  };

  /** Prepares the statements a run writes with: the store is open for writing. */
  prepareWrites(): void {
    this.writes = prepareWrites(this.db);
  }

  notifications(): Notifications {
    return new Notifications(this.db, this.key, (kind, run, time, body) => this.append(kind, run, time, body), this.say, this.keys.firstId);
  }

  heartbeat(): Watcher {
    return guarded(this.dir, `cannot read the store ${this.dbPath}`, () => new Watcher(this.db, this.key, this.say));
  }

  /** `fn` reading the store: a damaged file or an operational failure said as a StoreError naming it. */
  read<T>(fn: () => T): T {
    return guarded(this.dir, `cannot read the store ${this.dbPath}`, fn);
  }

  /**
   * Whether the host key this store holds is still the one in force: a rotation since it was opened
   * (a watcher runs for days) leaves it holding the retired key, and nothing more is written with
   * that (its records would not chain under the schedule, its seals would not match).
   */
  checkKeyInForce(): void {
    const id = this.w.meta.read("host_key_id") as string | undefined;
    if (id !== undefined && id !== this.keyId) throw new StoreError(`the host key was rotated (\`covenant key rotate --host\`) after this process opened the store in ${this.dir}: nothing more is written with the retired key; start it again`);
  }

  get w(): Writes {
    if (!this.writes) throw new Error("the store was opened read-only");
    return this.writes;
  }

  /** The current state row of `key`: kept from the prefetch, else read. */
  currentRow(key: string): CurrentRow | undefined {
    const kept = this.reads?.takeCurrent(key);
    if (kept !== undefined) return kept ?? undefined;
    return this.w.current.get(key) as CurrentRow | undefined;
  }

  /** The baseline row of `path`: kept from the prefetch, else read. */
  baselineRow(path: string): BaselineRow | undefined {
    const kept = this.reads?.takeBaseline(path);
    if (kept !== undefined) return kept ?? undefined;
    return this.w.baseline.get(path) as BaselineRow | undefined;
  }

  writeFileHead(seq: number, mac: Buffer, run: number, key = this.key): void {
    if (key === this.key) this.checkKeyInForce();
    const head = sealHead(key, seq, mac, { schema: SCHEMA_VERSION, run });
    guarded(this.dir, `cannot write the head anchor ${this.headPath}`, () => replaceFile(this.headPath, JSON.stringify(head) + "\n", { sync: true }));
  }

  /**
   * Appends a record to the chain; must run inside an immediate transaction, so that the last
   * record read here is still the last when this one is written, whoever else writes.
   */
  append(kind: RecordKind, run: number, time: string, body: object, bands = this.bandsDigest()): { seq: number; mac: Buffer } {
    this.checkKeyInForce();
    const text = JSON.stringify(body);
    const last = this.w.last.get() as { seq: number; mac: Buffer } | undefined;
    const mac = macOf(this.key, last?.mac ?? GENESIS, { kind, run, time, body: text });
    const seq = (last?.seq ?? 0) + 1;
    this.w.append.run(seq, kind, run, time, text, mac);
    // a sealed head inside the database too, moved in the same transaction as the record
    // (with the learnt bands' digest as the last summary left them)
    this.w.meta.write("head", JSON.stringify(sealHead(this.key, seq, mac, bands === undefined ? { schema: SCHEMA_VERSION } : { schema: SCHEMA_VERSION, bands })));
    return { seq, mac };
  }

  private bandsDigest(): string | undefined {
    return this.learnt?.digest;
  }

  /** The run a record belongs to: the run in progress, or 0 outside one (and after its summary). */
  get recordRun(): number {
    return this.summarised.has(this.currentRun) ? 0 : this.currentRun;
  }

  /**
   * Writes an ack or a delivery, then has the file anchor name it, so that cutting it off the
   * end is found; outside a run, state.db is checkpointed to hold it. Inside one, no checkpoint:
   * a log removed after the run was killed must erase the whole run (its anchor finds that),
   * never only its tail.
   */
  anchored<T extends { seq: number; mac: Buffer } | undefined>(doing: string, fn: () => T): T {
    const done = guarded(this.dir, `cannot record ${doing} in the store ${this.dbPath}`, fn);
    if (done) this.writeFileHead(done.seq, done.mac, runCounter(this.db));
    if (done && this.recordRun === 0) guarded(this.dir, `cannot checkpoint the store ${this.dbPath}`, () => checkpoint(this.db));
    return done;
  }

  /**
   * The key schedule as this read transaction sees it (call it first in the transaction): a
   * rotation of the host key another process committed since this store was opened is read again
   * (host-keys.ts), not taken for a schedule that was edited.
   */
  keysNow(): HostKeys {
    const rotations = scheduleOf(this.db);
    const known = this.keys.rotations;
    if (rotations.length === known.length && rotations.every((r, i) => r.seq === known[i]!.seq && r.old === known[i]!.old && r.new === known[i]!.new)) return this.keys;
    const keyPath = hostKeyPath(this.dir);
    return HostKeys.load(this.db, this.dir, readHostKey(keyPath), keyKeptElsewhere() ? undefined : readPendingKey(keyPath));
  }

  get rosters(): Rosters {
    this.rosterRecords ??= new Rosters(this.db);
    return this.rosterRecords;
  }

  get policies(): PolicyRecords {
    this.policyRecords ??= new PolicyRecords(this.db);
    return this.policyRecords;
  }

  /**
   * What a `nodiff` file's digest is kept and compared as: an HMAC of it under the host key. A
   * digest of a short secret (a PIN) finds it by trying every guess; this one cannot be tried
   * without the key.
   */
  keyDigest(digest: string): string {
    return this.keyed.of(`nodiff digest\n${digest}`);
  }

  /** What a masked line of an approved copy is compared by: an HMAC of it under the host key (a digest of a short secret could be guessed). */
  keyLine(line: string): string {
    return this.keyed.of(`masked line\n${line}`);
  }
}
