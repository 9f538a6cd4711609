// The rows one evaluation will read, read at its start in one read transaction: the current state
// of each of its promises, and the baseline and approved integrity state of each of its plain file
// paths. Read statement by statement, each read was its own transaction (in WAL mode, a read lock
// taken and dropped per row: three per promise); read here, one. Only under the run lock, so that
// only this process writes these tables while the rows are kept (StateStore.prefetch), and only for
// one evaluation: the watcher drops them after each, since other commands write the store between.
// The rows are kept raw, as SQLite returns them: each one's seal is checked when it is used, exactly
// as a row read by its statement is, and each is given once and let go. A write the run makes drops
// the row it replaces (`forget`); a key or path not read here (or read again) is read by its
// statement, as before.
import type Database from "better-sqlite3";
import type { ApprovedRow, BaselineRow, CurrentRow } from "./seals.js";

/** What an evaluation will read: its promises' keys, and the host paths its promises name. */
export interface RunWants {
  keys: Iterable<string>;
  paths: Iterable<string>;
}

/** A row read in advance (`null`: read, and there is none), or `undefined`: not read, ask the statement. */
export type Kept<T> = T | null | undefined;

export class RunReads {
  private constructor(
    private readonly current: Map<string, CurrentRow | null>,
    private readonly baselines: Map<string, BaselineRow | null>,
    private readonly approved: Map<string, ApprovedRow | null>,
  ) {}

  /** The rows of `want`, in one read transaction; `approvedStates`: whether the store has that table (schema 7). */
  static read(db: Database.Database, want: RunWants, approvedStates: boolean): RunReads {
    const keys = [...new Set(want.keys)];
    const paths = [...new Set(want.paths)];
    // each a lookup by the table's primary key for each value of the list, never a scan of the table
    const rowsOf = <R>(table: string, column: string, values: string[]) => (values.length === 0 ? [] : (db.prepare(`SELECT * FROM ${table} WHERE ${column} IN (SELECT value FROM json_each(?))`).all(JSON.stringify(values)) as R[]));
    return db.transaction(() => {
      const current = keyed(keys, rowsOf<CurrentRow>("current", "key", keys), (r) => r.key);
      const baselines = keyed(paths, rowsOf<BaselineRow>("baselines", "path", paths), (r) => r.path);
      const approved = approvedStates ? keyed(paths, rowsOf<ApprovedRow>("approved_states", "path", paths), (r) => r.path) : new Map<string, ApprovedRow | null>();
      return new RunReads(current, baselines, approved);
    })();
  }

  // each row is given once, and let go: an evaluation reads each once, and the memory the rows
  // held goes to its results as it proceeds (a second read of one is its statement's)

  takeCurrent(key: string): Kept<CurrentRow> {
    return take(this.current, key);
  }

  takeBaseline(path: string): Kept<BaselineRow> {
    return take(this.baselines, path);
  }

  takeApproved(path: string): Kept<ApprovedRow> {
    return take(this.approved, path);
  }

  /** A row this run writes: read again by its statement from now on. */
  forget(table: "current" | "baselines" | "approved", keyOrPath: string): void {
    (table === "current" ? this.current : table === "baselines" ? this.baselines : this.approved).delete(keyOrPath);
  }

  /** How many rows are kept (tests, and the memory they hold). */
  get size(): number {
    return this.current.size + this.baselines.size + this.approved.size;
  }
}

function take<R>(rows: Map<string, R | null>, k: string): Kept<R> {
  const r = rows.get(k);
  if (r !== undefined) rows.delete(k);
  return r;
}

/** Every value asked for: its row, or null when the table has none. */
function keyed<R>(values: readonly string[], rows: readonly R[], keyOf: (r: R) => string): Map<string, R | null> {
  const out = new Map<string, R | null>();
  for (const v of values) out.set(v, null);
  for (const r of rows) out.set(keyOf(r), r);
  return out;
}
