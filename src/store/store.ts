// The host's state store, one SQLite file under the state directory: the current state of
// every promise, the hash-chained history of its changes, one summary per run, the integrity
// baselines and the learnt bands. Written in WAL mode, one transaction per record, so that a
// run killed at any point leaves a store that opens, verifies and has lost nothing committed.
import Database from "better-sqlite3";
import { createHash, randomBytes } from "node:crypto";
import { createHmac } from "node:crypto";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Baseline, BaselineStore, SampleStore } from "../evaluator/contract.js";
import type { PromiseResult } from "../evaluator/engine.js";
import type { Outcome } from "../evaluator/outcomes.js";
import { findTampering, GENESIS, headIsSealed, macOf, sealHead, type Head, type LedgerRow, type RecordKind, type Tampering } from "./ledger.js";
import { addSample, stddevOf, type Band } from "./memory.js";

const SCHEMA_VERSION = 3;

const schema = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS current (
  key TEXT PRIMARY KEY, control TEXT NOT NULL, outcome TEXT NOT NULL, state TEXT NOT NULL,
  since TEXT NOT NULL, run INTEGER NOT NULL, reason TEXT NOT NULL) WITHOUT ROWID;
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
  m2 REAL NOT NULL, PRIMARY KEY (metric, hour)) WITHOUT ROWID;
`;

/** A change of a promise's state, as kept in the history. */
export interface ChangeBody {
  key: string;
  control: string;
  type: string;
  promiser: string;
  /** null on the first observation */
  from: Outcome | null;
  to: Outcome;
  reason: string;
  /** what differed, one sentence each */
  differences: string[];
  /** what the change gate did */
  changes: string[];
  /** such as "would be drift; waived", or input a probe skipped */
  notes?: string[];
}

export interface RunBody {
  run: number;
  host: string;
  started: string;
  finished: string;
  /** sha256 of the policy files' contents */
  policy: string;
  dryRun: boolean;
  promises: number;
  counts: Partial<Record<Outcome, number>>;
  /** sha256 over every promise's key and outcome, sorted: proof of what was tested */
  outcomes: string;
  /** change records this run wrote */
  changed: number;
  notes?: string[];
}

/** The approval of a file's integrity baseline (its first observation), kept in the chain. */
export interface BaselineBody {
  path: string;
  algorithm: string;
  digest: string;
  approvedAt: string;
}

export interface HistoryEntry {
  seq: number;
  kind: RecordKind;
  run: number;
  time: string;
  body: ChangeBody | RunBody | BaselineBody | { unreadable: string };
}

/** A store that cannot be used as it is (missing key, newer schema); commands exit 2 on it. */
export class StoreError extends Error {}

/** The database file is not SQLite any more, or SQLite found it damaged: written over, cut short. */
export class StoreDamagedError extends StoreError {}

/** Whether an error from SQLite says the file itself is damaged (not busy, not missing). */
export function isDamage(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" && (code === "SQLITE_NOTADB" || code.startsWith("SQLITE_CORRUPT"));
}

/** What to tell the operator of a database SQLite found damaged, when opening it or later. */
export function damageMessage(stateDir: string, err: unknown): string {
  const code = (err as { code?: string }).code;
  return `the store ${join(stateDir, "state.db")} is not a readable database (${code}): it was damaged or replaced; restore it from a backup, or move it aside to start a new history`;
}

export interface VerifyReport {
  records: number;
  runs: number[];
  firstRun?: string;
  lastRun?: string;
  tampering?: Tampering;
  /** runs that wrote changes but no summary: killed before they finished */
  interrupted: number[];
  /** run numbers allocated but without any record (killed before recording anything) */
  silent: number[];
  headMissing: boolean;
}

type BaselineRow = { path: string; algorithm: Baseline["algorithm"]; digest: string; size: number; mode: number; uid: number; gid: number; mtime_ms: number; approved_at: string; seal: Buffer | null };

/** The part of a result that is its state: two runs with the same state write no history. */
export function stateOf(r: PromiseResult): string {
  const what = [...new Set(r.differences.map((d) => `${d.subject ?? ""}|${d.attribute}${d.significant !== undefined ? `|${d.significant}` : ""}`))].sort();
  return createHash("sha256").update(r.outcome).update("\n").update(what.join("\n")).digest("hex").slice(0, 32);
}

const MAX_DIFFERENCES = 50;

export class StateStore implements BaselineStore, SampleStore {
  private readonly db: Database.Database;
  private readonly key: Buffer;
  private readonly headPath: string;
  private readonly stmts;
  /** the run records are appended for (baseline approvals happen during a run) */
  private currentRun = 0;

  private constructor(readonly dir: string) {
    const dbPath = join(dir, "state.db");
    this.key = loadHostKey(dir, existsSync(dbPath));
    this.headPath = join(dir, "ledger.head");
    // the busy timeout must be set before the first statement: a `verify` may open the store
    // while a run is writing to it
    this.db = new Database(dbPath, { timeout: 5000 });
    try {
      this.db.pragma("journal_mode = WAL");
      // NORMAL in WAL mode: a killed process loses nothing committed; a power cut may lose the
      // last transactions, never the consistency of the file
      this.db.pragma("synchronous = NORMAL");
      this.db.exec(schema);
      this.migrate();
    } catch (err) {
      this.db.close();
      throw isDamage(err) ? new StoreDamagedError(damageMessage(dir, err)) : err;
    }
    this.stmts = {
      current: this.db.prepare("SELECT outcome, state FROM current WHERE key = ?"),
      upsertCurrent: this.db.prepare(
        "INSERT INTO current VALUES (@key, @control, @outcome, @state, @since, @run, @reason) ON CONFLICT(key) DO UPDATE SET outcome = @outcome, state = @state, since = CASE WHEN state = @state THEN since ELSE @since END, run = @run, reason = @reason",
      ),
      append: this.db.prepare("INSERT INTO ledger (seq, kind, run, time, body, mac) VALUES (?, ?, ?, ?, ?, ?)"),
      baseline: this.db.prepare("SELECT * FROM baselines WHERE path = ?"),
      setBaseline: this.db.prepare("INSERT OR REPLACE INTO baselines VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
      last: this.db.prepare("SELECT seq, mac FROM ledger ORDER BY seq DESC LIMIT 1"),
      setHead: this.db.prepare("INSERT OR REPLACE INTO meta VALUES ('head', ?)"),
      band: this.db.prepare("SELECT count, mean, m2 FROM bands WHERE metric = ? AND hour = ?"),
      setBand: this.db.prepare("INSERT OR REPLACE INTO bands VALUES (?, ?, ?, ?, ?)"),
    };
  }

  /** Brings a store written by an older version up to this schema, in one transaction. */
  private migrate(): void {
    const version = Number(this.db.prepare("SELECT value FROM meta WHERE key = 'schema'").pluck().get() ?? SCHEMA_VERSION);
    if (version > SCHEMA_VERSION) throw new StoreError(`the store ${join(this.dir, "state.db")} was written by a newer Covenant (schema ${version})`);
    this.db.transaction(() => {
      const columns = (this.db.prepare("PRAGMA table_info(current)").all() as { name: string }[]).map((c) => c.name);
      // schema 1 called the run that recorded a state `last_run`
      if (columns.includes("last_run")) this.db.exec("ALTER TABLE current RENAME COLUMN last_run TO run");
      // schema 3 seals each baseline row; rows written before are trusted once and sealed
      const baselineColumns = (this.db.prepare("PRAGMA table_info(baselines)").all() as { name: string }[]).map((c) => c.name);
      if (!baselineColumns.includes("seal")) {
        this.db.exec("ALTER TABLE baselines ADD COLUMN seal BLOB");
        for (const r of this.db.prepare("SELECT * FROM baselines").all() as BaselineRow[]) this.db.prepare("UPDATE baselines SET seal = ? WHERE path = ?").run(this.sealBaseline(r), r.path);
      }
      this.db.prepare("INSERT OR REPLACE INTO meta VALUES ('schema', ?)").run(String(SCHEMA_VERSION));
    })();
  }

  static open(dir: string): StateStore {
    return new StateStore(dir);
  }

  close(): void {
    this.db.close();
  }

  /** Allocates the next run number, durably, before anything of the run is recorded. */
  beginRun(): number {
    this.currentRun = this.db
      .transaction(() => {
        const last = Number(this.db.prepare("SELECT value FROM meta WHERE key = 'last_run'").pluck().get() ?? 0);
        this.db.prepare("INSERT OR REPLACE INTO meta VALUES ('last_run', ?)").run(String(last + 1));
        return last + 1;
      })
      .immediate();
    return this.currentRun;
  }

  /**
   * Appends a record to the chain; must run inside an immediate transaction, so that the last
   * record read here is still the last when this one is written, whoever else writes.
   */
  private append(kind: RecordKind, run: number, time: string, body: object): { seq: number; mac: Buffer } {
    const text = JSON.stringify(body);
    const last = this.stmts.last.get() as { seq: number; mac: Buffer } | undefined;
    const mac = macOf(this.key, last?.mac ?? GENESIS, { kind, run, time, body: text });
    const seq = (last?.seq ?? 0) + 1;
    this.stmts.append.run(seq, kind, run, time, text, mac);
    // a sealed head inside the database too, moved in the same transaction as the record
    this.stmts.setHead.run(JSON.stringify(sealHead(this.key, seq, mac)));
    return { seq, mac };
  }

  /**
   * Records one promise's result: a history record when its state changed (or the gate
   * changed the host, which is always worth a record), and its current state. Returns
   * whether a history record was written.
   */
  recordResult(run: number, time: string, r: PromiseResult): boolean {
    const state = stateOf(r);
    const before = this.stmts.current.get(r.key) as { outcome: Outcome; state: string } | undefined;
    const changedHost = r.changes.some((c) => c.status === "applied" || c.status === "failed");
    const write = !before || before.state !== state || changedHost;
    const tx = this.db.transaction(() => {
      if (write) {
        const differences = r.differences.slice(0, MAX_DIFFERENCES).map((d) => d.reason);
        if (r.differences.length > MAX_DIFFERENCES) differences.push(`and ${r.differences.length - MAX_DIFFERENCES} more`);
        const body: ChangeBody = {
          key: r.key,
          control: r.control,
          type: r.type,
          promiser: r.promiser,
          from: before?.outcome ?? null,
          to: r.outcome,
          reason: r.reason,
          differences,
          changes: r.changes.map((c) => `${c.status}: ${c.description}${c.detail ? ` (${c.detail})` : ""}`),
        };
        if (r.notes.length > 0) body.notes = r.notes.slice(0, MAX_DIFFERENCES);
        this.append("change", run, time, body);
        this.stmts.upsertCurrent.run({ key: r.key, control: r.control, outcome: r.outcome, state, since: time, run, reason: r.reason });
      }
    });
    // a promise whose state did not change costs one indexed read and no write: the run's
    // summary, with the digest of every outcome, is what proves it was tested
    if (write) tx.immediate();
    return write;
  }

  /** The run's summary: appended to the chain, and the head anchor moved to it. */
  finishRun(body: RunBody): number {
    const { seq, mac } = this.db.transaction(() => this.append("run", body.run, body.finished, body)).immediate();
    const tmp = `${this.headPath}.tmp`;
    writeFileSync(tmp, JSON.stringify(sealHead(this.key, seq, mac)) + "\n", { mode: 0o600 });
    renameSync(tmp, this.headPath);
    return seq;
  }

  /** The head file as written, or undefined when it is missing or not JSON. */
  private readHeadFile(): unknown {
    try {
      return JSON.parse(readFileSync(this.headPath, "utf8")) as unknown;
    } catch {
      return undefined;
    }
  }

  history(filter: { control?: string; since?: string; kinds?: RecordKind[] } = {}): HistoryEntry[] {
    const rows = this.db.prepare("SELECT seq, kind, run, time, body FROM ledger WHERE time >= ? ORDER BY seq").all(filter.since ?? "") as Omit<LedgerRow, "mac">[];
    const out: HistoryEntry[] = [];
    for (const r of rows) {
      if (filter.kinds && !filter.kinds.includes(r.kind)) continue;
      let body: HistoryEntry["body"];
      try {
        body = JSON.parse(r.body) as ChangeBody | RunBody | BaselineBody;
      } catch {
        body = { unreadable: String(r.body).slice(0, 200) }; // an edited row: `verify` says which
      }
      if (filter.control !== undefined && (r.kind !== "change" || (body as ChangeBody).control !== filter.control)) continue;
      out.push({ seq: r.seq, kind: r.kind, run: r.run, time: r.time, body });
    }
    return out;
  }

  verify(): VerifyReport {
    // one read transaction: a run finishing meanwhile must not look like records cut off
    return this.db.transaction(() => {
      const fileHead = this.readHeadFile();
      const rows = this.db.prepare("SELECT seq, kind, run, time, body, mac FROM ledger ORDER BY seq").all() as LedgerRow[];
      const dbHeadText = this.db.prepare("SELECT value FROM meta WHERE key = 'head'").pluck().get() as string | undefined;
      let dbHead: unknown;
      try {
        dbHead = dbHeadText === undefined ? undefined : JSON.parse(dbHeadText);
      } catch {
        dbHead = "unreadable";
      }
      const report: VerifyReport = { records: rows.length, runs: [], interrupted: [], silent: [], headMissing: fileHead === undefined && rows.length > 0 };
      const heads: Head[] = [];
      for (const [name, h] of [
        ["the head anchor file ledger.head", fileHead],
        ["the head anchor in the database", dbHead],
      ] as const) {
        if (h === undefined) continue;
        if (headIsSealed(this.key, h)) heads.push(h);
        else report.tampering ??= { kind: "altered", seq: rows.length, message: `${name} was rewritten: its seal does not match` };
      }
      if (rows.length > 0 && heads.length === 0 && !report.tampering) {
        report.tampering = { kind: "deleted", seq: rows.length, message: "both head anchors are missing: records cut off the end could not be detected, so the history cannot be proved complete" };
      }
      const head = heads.sort((a, b) => b.seq - a.seq)[0];
      report.tampering ??= findTampering(this.key, rows, head) ?? this.baselineTampering(rows);
      const summarised = new Set<number>();
      const withChanges = new Set<number>();
      for (const r of rows) {
        if (r.kind === "run") {
          summarised.add(r.run);
          report.runs.push(r.run);
          report.firstRun ??= r.time;
          report.lastRun = r.time;
        } else withChanges.add(r.run);
      }
      report.interrupted = [...withChanges].filter((r) => !summarised.has(r)).sort((a, b) => a - b);
      const lastRun = Number(this.db.prepare("SELECT value FROM meta WHERE key = 'last_run'").pluck().get() ?? 0);
      for (let n = 1; n <= lastRun; n++) if (!summarised.has(n) && !withChanges.has(n)) report.silent.push(n);
      return report;
    })();
  }

  /** Every stored baseline must carry its seal and match its approval in the chain. */
  private baselineTampering(rows: LedgerRow[]): Tampering | undefined {
    const approved = new Map<string, { seq: number; digest: string }>();
    for (const r of rows) {
      if (r.kind !== "baseline") continue;
      try {
        const b = JSON.parse(r.body) as BaselineBody;
        approved.set(b.path, { seq: r.seq, digest: b.digest });
      } catch {
        // the chain walk has already judged this record
      }
    }
    const stored = this.db.prepare("SELECT * FROM baselines ORDER BY path").all() as BaselineRow[];
    for (const b of stored) {
      const a = approved.get(b.path);
      if (!b.seal || !this.sealBaseline(b).equals(b.seal)) return { kind: "altered", seq: a?.seq ?? 0, message: `the stored baseline of ${b.path} was changed outside Covenant` };
      if (a && a.digest !== b.digest) return { kind: "altered", seq: a.seq, message: `the stored baseline of ${b.path} differs from its approval in record ${a.seq}` };
      approved.delete(b.path);
    }
    for (const [path, a] of approved) return { kind: "deleted", seq: a.seq, message: `the stored baseline of ${path}, approved in record ${a.seq}, was deleted` };
    return undefined;
  }

  private sealBaseline(r: Omit<BaselineRow, "seal">): Buffer {
    return createHmac("sha256", this.key).update(JSON.stringify([r.path, r.algorithm, r.digest, r.size, r.mode, r.uid, r.gid, r.mtime_ms, r.approved_at])).digest();
  }

  // BaselineStore
  get(path: string): Baseline | undefined {
    const r = this.stmts.baseline.get(path) as BaselineRow | undefined;
    if (!r) return undefined;
    const b: Baseline = { algorithm: r.algorithm, digest: r.digest, size: r.size, mode: r.mode, uid: r.uid, gid: r.gid, mtimeMs: r.mtime_ms, approvedAt: r.approved_at };
    if (!r.seal || !this.sealBaseline(r).equals(r.seal)) b.tampered = true;
    return b;
  }

  /** Records an approved baseline, sealed, and its approval in the chain (in one transaction). */
  set(path: string, b: Baseline): void {
    const row = { path, algorithm: b.algorithm, digest: b.digest, size: b.size, mode: b.mode, uid: b.uid, gid: b.gid, mtime_ms: b.mtimeMs, approved_at: b.approvedAt };
    this.db
      .transaction(() => {
        this.stmts.setBaseline.run(path, b.algorithm, b.digest, b.size, b.mode, b.uid, b.gid, b.mtimeMs, b.approvedAt, this.sealBaseline(row));
        const body: BaselineBody = { path, algorithm: b.algorithm, digest: b.digest, approvedAt: b.approvedAt };
        this.append("baseline", this.currentRun, b.approvedAt, body);
      })
      .immediate();
  }

  baselines(): { path: string; algorithm: string; digest: string; approvedAt: string }[] {
    return (this.db.prepare("SELECT path, algorithm, digest, approved_at FROM baselines ORDER BY path").all() as { path: string; algorithm: string; digest: string; approved_at: string }[]).map(
      (r) => ({ path: r.path, algorithm: r.algorithm, digest: r.digest, approvedAt: r.approved_at }),
    );
  }

  // SampleStore
  band(metric: string, hourOfWeek: number): { count: number; mean: number; stddev: number } {
    const b = (this.stmts.band.get(metric, hourOfWeek) as Band | undefined) ?? { count: 0, mean: 0, m2: 0 };
    return { count: b.count, mean: b.mean, stddev: stddevOf(b) };
  }

  observe(metric: string, hourOfWeek: number, value: number): { count: number; mean: number; stddev: number } {
    const before = (this.stmts.band.get(metric, hourOfWeek) as Band | undefined) ?? { count: 0, mean: 0, m2: 0 };
    const after = addSample(before, value);
    this.stmts.setBand.run(metric, hourOfWeek, after.count, after.mean, after.m2);
    return { count: before.count, mean: before.mean, stddev: stddevOf(before) };
  }

  /** Bytes the database uses (pages in use times page size), for the storage benchmark. */
  bytesUsed(): number {
    this.db.pragma("wal_checkpoint(TRUNCATE)");
    const pageSize = this.db.pragma("page_size", { simple: true }) as number;
    const pages = this.db.pragma("page_count", { simple: true }) as number;
    const free = this.db.pragma("freelist_count", { simple: true }) as number;
    return (pages - free) * pageSize;
  }
}

/**
 * The host secret that keys the chain: COVENANT_HOST_KEY_FILE, or `host.key` in the state
 * directory. It is created only with a new store: a store whose key has gone cannot be
 * verified, and silently starting a new key would hide that. It never appears in output.
 */
function loadHostKey(dir: string, storeExists: boolean): Buffer {
  const path = process.env["COVENANT_HOST_KEY_FILE"] ?? join(dir, "host.key");
  if (!storeExists) {
    try {
      writeFileSync(path, randomBytes(32).toString("hex") + "\n", { flag: "wx", mode: 0o600 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw new StoreError(`cannot create the host key ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  let text: string;
  try {
    text = readFileSync(path, "utf8").trim();
  } catch (err) {
    throw new StoreError(`the host key ${path} cannot be read (${(err as NodeJS.ErrnoException).code}): without it the history cannot be verified or continued; restore it from its backup`);
  }
  if (!/^[0-9a-f]{64}$/.test(text)) throw new StoreError(`the host key ${path} is not 64 hexadecimal digits`);
  return Buffer.from(text, "hex");
}
