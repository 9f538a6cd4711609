// The host's state store, one SQLite file under the state directory: the current state of
// every promise, the hash-chained history of its changes, one summary per run, the integrity
// baselines and the learnt bands. Written in WAL mode, one transaction per record, so that a
// run killed at any point leaves a store that opens, verifies and has lost nothing committed.
// `run` opens it for writing; `history` and `verify` read it and change nothing.
import type Database from "better-sqlite3";
import { createHash, createHmac } from "node:crypto";
import { join, resolve } from "node:path";
import { CannotObserve, type Baseline, type BaselineStore, type SampleStore } from "../evaluator/contract.js";
import type { PromiseResult } from "../evaluator/engine.js";
import type { Outcome } from "../evaluator/outcomes.js";
import { anchoredSchema, endTampering, readFileHead, type FileHead } from "./anchors.js";
import { checkpoint, openForReading, openForWriting, type ReadOnlyDatabase } from "./database.js";
import { damageMessage, HistoryBrokenError, isDamage, operationalError, StoreDamagedError, StoreError } from "./errors.js";
import { databaseExists, exists, guarded, safeKey, wipedStore } from "./opening.js";
import { createHostKey, hostKeyPath, keyKeptElsewhere, readHostKey } from "./host-key.js";
import { checkRecords, GENESIS, macOf, sealHead, type LedgerRow, type RecordKind, type Tampering } from "./ledger.js";
import { addSample, stddevOf } from "./memory.js";
import type { BaselineBody, ChangeBody, HistoryEntry, RunBody } from "./records.js";
import { replaceFile } from "./safe-files.js";
import { sealBand, sealBaseline, sealCurrent, sealMatches, type BandRow, type BaselineRow, type CurrentRow } from "./seals.js";
import { checkStateDirectory, checkStateFiles } from "./trust.js";
import { hasColumn, verifyStore, type KnownHead, type VerifyReport } from "./verify.js";

export { damageMessage, HistoryBrokenError, isDamage, StoreDamagedError, StoreError, UntrustedStateError } from "./errors.js";
export type { BaselineBody, ChangeBody, HistoryEntry, RunBody } from "./records.js";
export type { KnownHead, VerifyReport } from "./verify.js";

export const SCHEMA_VERSION = 4;

const schema = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS current (
  key TEXT PRIMARY KEY, control TEXT NOT NULL, outcome TEXT NOT NULL, state TEXT NOT NULL,
  since TEXT NOT NULL, run INTEGER NOT NULL, reason TEXT NOT NULL, seal BLOB) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ledger (
  seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, run INTEGER NOT NULL, time TEXT NOT NULL,
  body TEXT NOT NULL, mac BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS ledger_run ON ledger(run);
CREATE TABLE IF NOT EXISTS baselines (
  path TEXT PRIMARY KEY, algorithm TEXT NOT NULL, digest TEXT NOT NULL, size INTEGER NOT NULL,
  mode INTEGER NOT NULL, uid INTEGER NOT NULL, gid INTEGER NOT NULL, mtime_ms REAL NOT NULL,
  approved_at TEXT NOT NULL, seal BLOB) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bands (
  metric TEXT NOT NULL, hour INTEGER NOT NULL, count INTEGER NOT NULL, mean REAL NOT NULL,
  m2 REAL NOT NULL, seal BLOB, PRIMARY KEY (metric, hour)) WITHOUT ROWID;
`;

/** A keyed digest (a `nodiff` file's) starts so; a plain one is hex digits only. */
const KEYED = "hmac-sha256:";

function isKeyed(digest: string): boolean {
  return digest.startsWith(KEYED);
}

/** There is no store in the directory (nothing has run there): commands exit 2 and say so. */
export class NoStoreError extends StoreError {}

/** The part of a result that is its state: two runs with the same state write no history. */
export function stateOf(r: PromiseResult): string {
  const what = [...new Set(r.differences.map((d) => `${d.subject ?? ""}|${d.attribute}${d.significant !== undefined ? `|${d.significant}` : ""}`))].sort();
  return createHash("sha256").update(r.outcome).update("\n").update(what.join("\n")).digest("hex").slice(0, 32);
}

const MAX_DIFFERENCES = 50;

export class StateStore implements BaselineStore, SampleStore {
  private readonly headPath: string;
  private writes?: ReturnType<StateStore["prepareWrites"]>;
  /** the run records are appended for (baseline approvals happen during a run) */
  private currentRun = 0;

  private constructor(
    readonly dir: string,
    private readonly db: Database.Database,
    private readonly key: Buffer,
    private readonly closeDb: () => void,
    /** how a reader opened the database (`shared`, `immutable`, `private copy`); `write` for a run */
    readonly mode: ReadOnlyDatabase["mode"] | "write",
  ) {
    this.headPath = join(dir, "ledger.head");
  }

  /** Opens (or creates) the store for a run. */
  static open(dir: string): StateStore {
    const abs = resolve(dir);
    checkStateDirectory(abs);
    checkStateFiles(abs, keyKeptElsewhere());
    const keyPath = hostKeyPath(abs);
    const fileHead = readFileHead(abs);
    const dbPath = join(abs, "state.db");
    if (!databaseExists(dbPath)) {
      const wiped = wipedStore(abs, exists(keyPath) ? safeKey(keyPath) : undefined, fileHead);
      if (wiped) throw wiped;
    }
    const db = guarded(abs, `cannot open the store ${dbPath}`, () => openForWriting(dbPath));
    try {
      guarded(abs, `cannot create the store ${dbPath}`, () => db.exec(schema));
      const key = StateStore.keyFor(db, keyPath, fileHead);
      // the head file exists from the start, naming no record: a run that dies (or finds the disk
      // full) between its summary and the head file leaves it behind, never missing
      if (!fileHead.present && db.prepare("SELECT count(*) FROM ledger").pluck().get() === 0) {
        guarded(abs, `cannot write the head anchor ${join(abs, "ledger.head")}`, () => replaceFile(join(abs, "ledger.head"), JSON.stringify(sealHead(key, 0, GENESIS, SCHEMA_VERSION)) + "\n"));
      }
      const broken = endTampering(db, key, fileHead);
      if (broken) throw new HistoryBrokenError(`the history in ${abs} cannot be continued: ${broken.message}. \`covenant verify\` reports it; a run will not add to a history whose end it cannot vouch for. To start a new history, move the state directory aside and keep it as evidence`);
      const store = new StateStore(abs, db, key, () => db.close(), "write");
      guarded(abs, `cannot update the store ${dbPath}`, () => store.migrate(anchoredSchema(db, key, fileHead)));
      store.writes = store.prepareWrites();
      return store;
    } catch (err) {
      db.close();
      if (isDamage(err)) throw new StoreDamagedError(damageMessage(abs, err));
      throw operationalError(err, `cannot open the store ${dbPath}`) ?? err;
    }
  }

  /** The key, created only with a new store: one that has never recorded anything. */
  private static keyFor(db: Database.Database, keyPath: string, fileHead: FileHead): Buffer {
    if (!exists(keyPath)) {
      const fresh = !fileHead.present && db.prepare("SELECT count(*) FROM ledger").pluck().get() === 0 && db.prepare("SELECT count(*) FROM meta WHERE key IN ('last_run', 'head')").pluck().get() === 0;
      if (fresh) createHostKey(keyPath);
    }
    return readHostKey(keyPath);
  }

  /** Opens the store to read it, changing nothing: no schema change, no key, no journal mode. */
  static openReadOnly(dir: string): StateStore {
    const abs = resolve(dir);
    checkStateDirectory(abs);
    checkStateFiles(abs, keyKeptElsewhere());
    const keyPath = hostKeyPath(abs);
    const fileHead = readFileHead(abs);
    if (!databaseExists(join(abs, "state.db"))) {
      throw wipedStore(abs, exists(keyPath) ? safeKey(keyPath) : undefined, fileHead) ?? new NoStoreError(`no store in ${abs} (nothing has run there yet; choose another with --state)`);
    }
    const key = readHostKey(keyPath);
    const ro = guarded(abs, `cannot open the store ${join(abs, "state.db")}`, () => openForReading(abs));
    try {
      guarded(abs, `cannot read the store ${join(abs, "state.db")}`, () => {
        const tables = ro.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
        for (const t of ["meta", "current", "ledger", "baselines", "bands"]) if (!tables.includes(t)) throw new StoreError(`the store ${join(abs, "state.db")} has no table \`${t}\`: it is not a complete Covenant store`);
        const version = Number(ro.db.prepare("SELECT value FROM meta WHERE key = 'schema'").pluck().get() ?? SCHEMA_VERSION);
        if (version > SCHEMA_VERSION) throw new StoreError(`the store ${join(abs, "state.db")} was written by a newer Covenant (schema ${version})`);
      });
    } catch (err) {
      ro.close();
      throw err;
    }
    return new StateStore(abs, ro.db, key, ro.close, ro.mode);
  }

  /** Brings a store written by an older version up to this schema, in one transaction. */
  private migrate(anchored: number): void {
    const version = Number(this.db.prepare("SELECT value FROM meta WHERE key = 'schema'").pluck().get() ?? SCHEMA_VERSION);
    if (version > SCHEMA_VERSION) throw new StoreError(`the store ${join(this.dir, "state.db")} was written by a newer Covenant (schema ${version})`);
    this.db
      .transaction(() => {
        // schema 1 called the run that recorded a state `last_run`
        if (hasColumn(this.db, "current", "last_run")) this.db.exec("ALTER TABLE current RENAME COLUMN last_run TO run");
        // schema 3 seals each baseline row, schema 4 each current state and band: rows written
        // before are trusted once and sealed, unless a sealed anchor says they were sealed already
        const unsealed = ["baselines", "current", "bands"].filter((t) => !hasColumn(this.db, t, "seal"));
        if (unsealed.length > 0 && anchored >= SCHEMA_VERSION) {
          throw new HistoryBrokenError(`the store ${join(this.dir, "state.db")} has lost the seals of its ${unsealed.join(" and ")} table${unsealed.length > 1 ? "s" : ""}, which its sealed head anchor says it had: they were set back to escape their seals. \`covenant verify\` reports it; to start a new history, move the state directory aside and keep it as evidence`);
        }
        for (const table of unsealed) this.db.exec(`ALTER TABLE ${table} ADD COLUMN seal BLOB`);
        if (unsealed.includes("baselines")) for (const r of this.db.prepare("SELECT * FROM baselines").all() as BaselineRow[]) this.db.prepare("UPDATE baselines SET seal = ? WHERE path = ?").run(sealBaseline(this.key, r), r.path);
        if (unsealed.includes("current")) for (const r of this.db.prepare("SELECT * FROM current").all() as CurrentRow[]) this.db.prepare("UPDATE current SET seal = ? WHERE key = ?").run(sealCurrent(this.key, r), r.key);
        if (unsealed.includes("bands")) for (const r of this.db.prepare("SELECT * FROM bands").all() as BandRow[]) this.db.prepare("UPDATE bands SET seal = ? WHERE metric = ? AND hour = ?").run(sealBand(this.key, r), r.metric, r.hour);
        if (version !== SCHEMA_VERSION || this.db.prepare("SELECT value FROM meta WHERE key = 'schema'").pluck().get() === undefined) {
          this.db.prepare("INSERT OR REPLACE INTO meta VALUES ('schema', ?)").run(String(SCHEMA_VERSION));
        }
      })
      .immediate();
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
      band: this.db.prepare("SELECT * FROM bands WHERE metric = ? AND hour = ?"),
      setBand: this.db.prepare("INSERT OR REPLACE INTO bands VALUES (?, ?, ?, ?, ?, ?)"),
    };
  }

  private get w(): NonNullable<StateStore["writes"]> {
    if (!this.writes) throw new Error("the store was opened read-only");
    return this.writes;
  }

  close(): void {
    this.closeDb();
  }

  /** Allocates the next run number, durably, before anything of the run is recorded. */
  beginRun(): number {
    this.currentRun = guarded(this.dir, `cannot record the run in ${this.dir}`, () =>
      this.db
        .transaction(() => {
          const last = Number(this.db.prepare("SELECT value FROM meta WHERE key = 'last_run'").pluck().get() ?? 0);
          this.db.prepare("INSERT OR REPLACE INTO meta VALUES ('last_run', ?)").run(String(last + 1));
          return last + 1;
        })
        .immediate(),
    );
    return this.currentRun;
  }

  /**
   * Appends a record to the chain; must run inside an immediate transaction, so that the last
   * record read here is still the last when this one is written, whoever else writes.
   */
  private append(kind: RecordKind, run: number, time: string, body: object): { seq: number; mac: Buffer } {
    const text = JSON.stringify(body);
    const last = this.w.last.get() as { seq: number; mac: Buffer } | undefined;
    const mac = macOf(this.key, last?.mac ?? GENESIS, { kind, run, time, body: text });
    const seq = (last?.seq ?? 0) + 1;
    this.w.append.run(seq, kind, run, time, text, mac);
    // a sealed head inside the database too, moved in the same transaction as the record
    this.w.setHead.run(JSON.stringify(sealHead(this.key, seq, mac, SCHEMA_VERSION)));
    return { seq, mac };
  }

  /**
   * Records one promise's result: a history record when its state changed (or the gate
   * changed the host, which is always worth a record), and its current state. Returns
   * whether a history record was written.
   */
  recordResult(run: number, time: string, r: PromiseResult): boolean {
    return guarded(this.dir, `cannot record the result of ${r.key} in the store ${join(this.dir, "state.db")}`, () => this.record(run, time, r));
  }

  private record(run: number, time: string, r: PromiseResult): boolean {
    const state = stateOf(r);
    const stored = this.w.current.get(r.key) as CurrentRow | undefined;
    // a row that does not carry its seal was written outside Covenant: not a state to compare
    // with (it could hide this change), so the result is recorded afresh and says why
    const forged = stored !== undefined && !sealMatches(stored.seal, sealCurrent(this.key, stored));
    const before = forged ? undefined : stored;
    const changedHost = r.changes.some((c) => c.status === "applied" || c.status === "failed");
    const write = !before || before.state !== state || changedHost;
    if (!write) return false; // one indexed read and no write: the run's summary proves it was tested
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
    const notes = r.notes.slice(0, MAX_DIFFERENCES);
    if (forged) {
      const note = "the stored current state of this promise was changed outside Covenant (its seal did not match): recorded afresh";
      notes.push(note);
      r.notes.push(note); // the run's report shows it too
    }
    if (notes.length > 0) body.notes = notes;
    const row = { key: r.key, control: r.control, outcome: r.outcome, state, since: before && before.state === state ? before.since : time, run, reason: r.reason };
    this.db
      .transaction(() => {
        this.append("change", run, time, body);
        this.w.setCurrent.run({ ...row, seal: sealCurrent(this.key, row) });
      })
      .immediate();
    return true;
  }

  /** The run's summary: appended to the chain, the head anchor moved to it, the log checkpointed. */
  finishRun(body: RunBody): number {
    const dbPath = join(this.dir, "state.db");
    const { seq, mac } = guarded(this.dir, `cannot record the run's summary in the store ${dbPath}`, () => this.db.transaction(() => this.append("run", body.run, body.finished, body)).immediate());
    guarded(this.dir, `cannot write the head anchor ${this.headPath}`, () => replaceFile(this.headPath, JSON.stringify(sealHead(this.key, seq, mac, SCHEMA_VERSION)) + "\n"));
    // every record in state.db itself: a copy of that one file is the whole store
    guarded(this.dir, `cannot checkpoint the store ${dbPath}`, () => checkpoint(this.db));
    return seq;
  }

  /** The records, each checked against the chain as it is read, and whether the chain's end is what its anchors vouch for. */
  readHistory(filter: { control?: string; since?: string; kinds?: RecordKind[] } = {}): { entries: HistoryEntry[]; end?: Tampering } {
    const fileHead = readFileHead(this.dir);
    return guarded(this.dir, `cannot read the store ${join(this.dir, "state.db")}`, () => this.db.transaction(() => {
      const rows = this.db.prepare("SELECT seq, kind, run, time, body, mac FROM ledger ORDER BY seq").all() as LedgerRow[];
      const checks = checkRecords(this.key, rows);
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
        if (filter.control !== undefined && (r.kind !== "change" || (body as ChangeBody).control !== filter.control)) return;
        const check = checks[i]!;
        entries.push({ seq: r.seq, kind: r.kind, run: r.run, time: r.time, body, verified: check.verified, ...(check.verified ? {} : { problem: check.problem }) });
      });
      const end = endTampering(this.db, this.key, fileHead);
      return end ? { entries, end } : { entries };
    })());
  }

  history(filter: { control?: string; since?: string; kinds?: RecordKind[] } = {}): HistoryEntry[] {
    return this.readHistory(filter).entries;
  }

  verify(knownHead?: KnownHead): VerifyReport {
    // the head file first: read before the read transaction starts, a run finishing meanwhile only makes it older
    const fileHead = readFileHead(this.dir);
    return guarded(this.dir, `cannot read the store ${join(this.dir, "state.db")}`, () => {
      const sealedTables = hasColumn(this.db, "current", "seal") && hasColumn(this.db, "bands", "seal");
      const schemaVersion = Number(this.db.prepare("SELECT value FROM meta WHERE key = 'schema'").pluck().get() ?? SCHEMA_VERSION);
      return verifyStore({ db: this.db, key: this.key, fileHead, schema: schemaVersion, sealedTables, ...(knownHead ? { knownHead } : {}) });
    });
  }

  // BaselineStore
  get(path: string): Baseline | undefined {
    const r = this.w.baseline.get(path) as BaselineRow | undefined;
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
    return KEYED + createHmac("sha256", this.key).update(`nodiff digest\n${digest}`).digest("hex");
  }

  /** Records an approved baseline, sealed, and its approval in the chain (in one transaction); a keyed one holds no digest of the content. */
  set(path: string, given: Baseline): void {
    const b = given.keyed && !isKeyed(given.digest) ? { ...given, digest: this.keyDigest(given.digest) } : given;
    const row = { path, algorithm: b.algorithm, digest: b.digest, size: b.size, mode: b.mode, uid: b.uid, gid: b.gid, mtime_ms: b.mtimeMs, approved_at: b.approvedAt };
    try {
      this.db
        .transaction(() => {
          this.w.setBaseline.run(path, b.algorithm, b.digest, b.size, b.mode, b.uid, b.gid, b.mtimeMs, b.approvedAt, sealBaseline(this.key, row));
          const body: BaselineBody = { path, algorithm: b.algorithm, digest: b.digest, approvedAt: b.approvedAt };
          if (isKeyed(b.digest)) body.keyed = true;
          this.append("baseline", this.currentRun, b.approvedAt, body);
        })
        .immediate();
    } catch (err) {
      const failure = operationalError(err, `cannot record the baseline of ${path} in the store`);
      if (failure) throw new CannotObserve(failure.message);
      throw err;
    }
  }

  baselines(): { path: string; algorithm: string; digest: string; approvedAt: string }[] {
    return (this.db.prepare("SELECT path, algorithm, digest, approved_at FROM baselines ORDER BY path").all() as { path: string; algorithm: string; digest: string; approved_at: string }[]).map(
      (r) => ({ path: r.path, algorithm: r.algorithm, digest: r.digest, approvedAt: r.approved_at }),
    );
  }

  // SampleStore
  /** The band learnt so far, learning nothing (a dry run); a band whose seal fails is not used. */
  band(metric: string, hourOfWeek: number): { count: number; mean: number; stddev: number } {
    const b = this.sealedBand(metric, hourOfWeek) ?? { count: 0, mean: 0, m2: 0 };
    return { count: b.count, mean: b.mean, stddev: stddevOf(b) };
  }

  private sealedBand(metric: string, hourOfWeek: number): BandRow | undefined {
    const stored = this.w.band.get(metric, hourOfWeek) as BandRow | undefined;
    // a band edited in the database would decide what counts as normal: it is not used, and kept for `verify`
    if (stored && !sealMatches(stored.seal, sealBand(this.key, stored))) {
      throw new CannotObserve(`the learnt band of ${metric} at hour ${hourOfWeek} of the week was changed outside Covenant (its seal does not match); \`covenant verify\` reports it, and deleting the band lets it be learnt again`);
    }
    return stored;
  }

  observe(metric: string, hourOfWeek: number, value: number): { count: number; mean: number; stddev: number } {
    const before = this.sealedBand(metric, hourOfWeek) ?? { count: 0, mean: 0, m2: 0 };
    const after = { metric, hour: hourOfWeek, ...addSample(before, value) };
    try {
      this.w.setBand.run(metric, hourOfWeek, after.count, after.mean, after.m2, sealBand(this.key, after));
    } catch (err) {
      const failure = operationalError(err, `cannot record the band of ${metric} in the store`);
      if (failure) throw new CannotObserve(failure.message);
      throw err;
    }
    return { count: before.count, mean: before.mean, stddev: stddevOf(before) };
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
