// The rows one evaluation will read, read ahead in a handful of statements: the current state of
// each of its promises, and the baseline and approved integrity state of each of its plain file
// paths. Read statement by statement, each read was its own transaction (in WAL mode, a read lock
// taken and dropped per row: three per promise); read here, one statement per table for each
// CHUNK of the values, in the order the policy gives them (the order they are evaluated in, but
// for `depends_on`), each chunk when the first of its values is asked for. Only under the run lock,
// so that only this process writes these tables while the rows are kept (StateStore.prefetch), and
// only for one evaluation: the watcher drops them after each, since other commands write the store
// between. The rows are kept raw, as SQLite returns them: each one's seal is checked when it is
// used, exactly as a row read by its statement is, and each is given once and let go, so that at
// most about a chunk of rows is held at a time. A write the run makes drops the row it replaces
// (`forget`: a chunk read after it reads the row as written); a value not asked for in advance, or
// asked for again, is read by its statement, as before.
import type Database from "better-sqlite3";
import type { ApprovedRow, BaselineRow, CurrentRow } from "./seals.js";

/** What an evaluation will read: its promises' keys, and the host paths its promises name, in the policy's order. */
export interface RunWants {
  keys: Iterable<string>;
  paths: Iterable<string>;
}

/** A row read in advance (`null`: read, and there is none), or `undefined`: not read, ask the statement. */
export type Kept<T> = T | null | undefined;

/**
 * Values read in one statement: 2,000 promises take 32 statements a table. Rows held longer cost
 * heap: at 2,000 promises a run's peak RSS was 2.4 MB over reading by statements with 64, 4.3 MB with
 * 256, 4.8 MB with all read at once (and none ran faster than 64).
 */
export const CHUNK = 64;

/** A UTF-16 surrogate not in a pair: text UTF-8 cannot hold. */
const LONE_SURROGATE = /\p{Cs}/u;

/** One table's wanted values, read a chunk at a time as they are asked for. */
class Ahead<R> {
  private readonly values: string[];
  /** each value's position in `values` */
  private readonly at = new Map<string, number>();
  /** rows read and not yet given (null: read, none) */
  private readonly rows = new Map<string, R | null>();
  private readonly read = new Set<number>();

  constructor(
    values: Iterable<string>,
    private readonly select: (values: string[]) => R[],
    private readonly keyOf: (r: R) => string,
  ) {
    // a row is matched to its value by the text SQLite gives back: one with a lone surrogate is
    // written as CESU bytes and read back as replacement characters, so it is left to its statement
    this.values = [...new Set(values)].filter((v) => !LONE_SURROGATE.test(v));
    this.values.forEach((v, i) => this.at.set(v, i));
  }

  take(value: string): Kept<R> {
    if (!this.rows.has(value)) this.readChunkOf(value);
    const r = this.rows.get(value);
    if (r !== undefined) this.rows.delete(value);
    return r;
  }

  forget(value: string): void {
    this.rows.delete(value);
  }

  get size(): number {
    return this.rows.size;
  }

  /** The chunk that holds `value`, when it was not read yet; one that cannot be read is left to the statements. */
  private readChunkOf(value: string): void {
    const i = this.at.get(value);
    if (i === undefined) return;
    const chunk = Math.floor(i / CHUNK);
    if (this.read.has(chunk)) return;
    this.read.add(chunk);
    const values = this.values.slice(chunk * CHUNK, (chunk + 1) * CHUNK);
    let rows: R[];
    try {
      rows = this.select(values);
    } catch {
      return; // each read by its statement, which fails as it would have
    }
    for (const v of values) this.rows.set(v, null);
    for (const r of rows) this.rows.set(this.keyOf(r), r);
  }
}

export class RunReads {
  private readonly current: Ahead<CurrentRow>;
  private readonly baselines: Ahead<BaselineRow>;
  private readonly approved: Ahead<ApprovedRow>;

  /** `approvedStates`: whether the store has that table (schema 7). */
  constructor(db: Database.Database, want: RunWants, approvedStates: boolean) {
    // each a lookup by the table's primary key for each value of the list, never a scan of the table
    const rowsOf = <R>(table: string, column: string) => {
      const stmt = db.prepare(`SELECT * FROM ${table} WHERE ${column} IN (SELECT value FROM json_each(?))`);
      return (values: string[]) => stmt.all(JSON.stringify(values)) as R[];
    };
    this.current = new Ahead(want.keys, rowsOf<CurrentRow>("current", "key"), (r) => r.key);
    this.baselines = new Ahead(want.paths, rowsOf<BaselineRow>("baselines", "path"), (r) => r.path);
    this.approved = new Ahead(approvedStates ? want.paths : [], approvedStates ? rowsOf<ApprovedRow>("approved_states", "path") : () => [], (r) => r.path);
  }

  takeCurrent(key: string): Kept<CurrentRow> {
    return this.current.take(key);
  }

  takeBaseline(path: string): Kept<BaselineRow> {
    return this.baselines.take(path);
  }

  takeApproved(path: string): Kept<ApprovedRow> {
    return this.approved.take(path);
  }

  /** A row this run writes: read again (by its statement, or with its chunk) from now on. */
  forget(table: "current" | "baselines" | "approved", keyOrPath: string): void {
    (table === "current" ? this.current : table === "baselines" ? this.baselines : this.approved).forget(keyOrPath);
  }

  /** Rows read and not yet given (tests, and the memory they hold). */
  get size(): number {
    return this.current.size + this.baselines.size + this.approved.size;
  }
}
