// The checks of verify.ts that hold the history to itself and to the tables it keeps (run
// numbers, summaries' counts of change records, baselines, current states, a head vouched for
// earlier), each a RowCheck: it sees every record once, in seq order, and reads the tables it
// compares with only when the walk is over.
import type Database from "better-sqlite3";
import type { Tampering } from "./ledger.js";
import { runCounter } from "./anchors.js";
import { FirstProblem, type RecordView, type RowCheck } from "./row-check.js";
import { RunCounts } from "./run-marks.js";
import { sealBaseline, sealCurrent, sealMatches, type BaselineRow, type CurrentRow } from "./seals.js";

/**
 * Runs that stopped before recording anything, past the last recorded run, that a store without
 * the run anchor (written by an older Covenant) may show before its counter is called forged.
 */
export const MAX_SILENT = 100_000;

/**
 * Run numbers only grow: a run counter set back would make two runs share a number; one set far
 * forward would name runs that never were. After a prune, the checkpoint's run was recorded too.
 */
export class RunCounterCheck extends FirstProblem {
  private highest = 0;

  constructor(
    private readonly db: Database.Database,
    private readonly cutRun: number,
  ) {
    super();
  }

  protected check(v: RecordView): Tampering | undefined {
    const r = v.row;
    if (r.run < this.highest && r.run > 0) return { kind: "altered", seq: r.seq, message: `record ${r.seq} belongs to run ${r.run}, after records of run ${this.highest}: run numbers were reused` };
    this.highest = Math.max(this.highest, r.run);
    return undefined;
  }

  override result(): Tampering | undefined {
    if (this.found) return this.found;
    const counter = runCounter(this.db);
    const highest = Math.max(this.highest, this.cutRun);
    if (Number.isNaN(counter)) return { kind: "altered", seq: 0, message: "the run counter in the database is not a run number: it was edited" };
    if (counter < highest) return { kind: "altered", seq: 0, message: `the run counter in the database says ${counter}, but run ${highest} is recorded: it was set back` };
    // with the run anchor, endTampering holds the counter to it; without, a bound
    if (counter > highest + MAX_SILENT) return { kind: "altered", seq: 0, message: `the run counter in the database says ${counter}, far past the last recorded run (${highest}): it was set forward` };
    return undefined;
  }
}

/**
 * Each run's summary says how many change records the run wrote: fewer in the history were
 * dropped (as they were written, by SQL planted in the store, or after), more were added.
 */
export class SummaryCheck implements RowCheck {
  private readonly changes = new RunCounts();
  /** each summary that counts its changes: record, run, count (in seq order) */
  private readonly said: number[] = [];

  visit(v: RecordView): void {
    const r = v.row;
    if (r.kind === "change") this.changes.add(r.run);
    else if (r.kind === "run") {
      const changed = (v.json() as { changed?: unknown } | null | undefined)?.changed;
      if (typeof changed === "number") this.said.push(r.seq, r.run, changed);
    }
  }

  result(): Tampering | undefined {
    for (let i = 0; i < this.said.length; i += 3) {
      const [seq, run, said] = [this.said[i]!, this.said[i + 1]!, this.said[i + 2]!];
      const held = this.changes.get(run);
      if (said === held) continue;
      return held < said
        ? { kind: "deleted", seq, message: `run ${run}'s summary (record ${seq}) says it wrote ${said} change record${said === 1 ? "" : "s"}, but the history holds ${held}: records were dropped` }
        : { kind: "inserted", seq, message: `run ${run}'s summary (record ${seq}) says it wrote ${said} change record${said === 1 ? "" : "s"}, but the history holds ${held}: records were added` };
    }
    return undefined;
  }
}

/** Every stored baseline must carry its seal and match its approval in the chain. */
export class BaselineCheck implements RowCheck {
  private readonly approved = new Map<string, { seq: number; digest: string }>();

  constructor(
    private readonly db: Database.Database,
    private readonly key: Buffer,
  ) {}

  visit(v: RecordView): void {
    if (v.row.kind !== "baseline") return;
    const b = v.json() as { path?: unknown; digest?: unknown } | null | undefined;
    if (typeof b?.path === "string" && typeof b.digest === "string") this.approved.set(b.path, { seq: v.row.seq, digest: b.digest });
  }

  result(): Tampering | undefined {
    const { approved } = this;
    const stored = this.db.prepare("SELECT * FROM baselines ORDER BY path").all() as BaselineRow[];
    for (const b of stored) {
      const a = approved.get(b.path);
      if (!sealMatches(b.seal, sealBaseline(this.key, b))) return { kind: "altered", seq: a?.seq ?? 0, message: `the stored baseline of ${b.path} was changed outside Covenant` };
      if (a && a.digest !== b.digest) return { kind: "altered", seq: a.seq, message: `the stored baseline of ${b.path} differs from its approval in record ${a.seq}` };
      approved.delete(b.path);
    }
    for (const [path, a] of approved) return { kind: "deleted", seq: a.seq, message: `the stored baseline of ${path}, approved in record ${a.seq}, was deleted` };
    return undefined;
  }
}

/**
 * Each promise's current state decides whether the next run writes a record: it must carry its
 * seal and be what the promise's last change record says (a sealed row put back from an older
 * copy fails this), and every promise with a record must have one.
 */
export class CurrentCheck implements RowCheck {
  private readonly lastChange = new Map<string, { seq: number; run: number; control: unknown; to: unknown; reason: unknown }>();

  constructor(
    private readonly db: Database.Database,
    private readonly key: Buffer,
    private readonly sealedTables: boolean,
  ) {}

  visit(v: RecordView): void {
    const r = v.row;
    if (r.kind !== "change") return;
    const b = v.json() as { key?: unknown; control?: unknown; to?: unknown; reason?: unknown } | null | undefined;
    if (typeof b?.key === "string") this.lastChange.set(b.key, { seq: r.seq, run: r.run, control: b.control, to: b.to, reason: b.reason });
  }

  result(): Tampering | undefined {
    const { db, lastChange } = this;
    const columns = this.sealedTables ? "*" : "key, control, outcome, state, since, reason, NULL AS seal, " + (hasColumn(db, "current", "run") ? "run" : "last_run AS run");
    const stored = db.prepare(`SELECT ${columns} FROM current ORDER BY key`).all() as CurrentRow[];
    for (const c of stored) {
      const last = lastChange.get(c.key);
      if (this.sealedTables && !sealMatches(c.seal, sealCurrent(this.key, c))) return { kind: "altered", seq: last?.seq ?? 0, message: `the current state of ${c.key} was changed outside Covenant: its seal does not match` };
      if (!last) return { kind: "inserted", seq: 0, message: `the current state of ${c.key} has no record in the history: it was put there outside Covenant` };
      if (last.run !== c.run || last.to !== c.outcome || last.control !== c.control || last.reason !== c.reason) {
        return { kind: "altered", seq: last.seq, message: `the current state of ${c.key} is not the one its last record (${last.seq}) says: it was replaced` };
      }
      lastChange.delete(c.key);
    }
    for (const [key, last] of lastChange) return { kind: "deleted", seq: last.seq, message: `the current state of ${key}, recorded in record ${last.seq}, was deleted` };
    return undefined;
  }
}

/** A record number and the start (at least 16 hex digits) of its MAC, as `verify` prints the head. */
export interface KnownHead {
  seq: number;
  mac: string;
}

/** Whether the chain still holds a head vouched for earlier: a store rolled back with its anchors does not. */
export class RollbackCheck implements RowCheck {
  private last = 0;
  private mac: unknown;
  private seen = false;

  constructor(private readonly known: KnownHead) {}

  visit(v: RecordView): void {
    this.last = v.row.seq;
    if (v.row.seq === this.known.seq) {
      this.seen = true;
      this.mac = v.row.mac;
    }
  }

  result(): Tampering | undefined {
    const { known } = this;
    if (!this.seen) return { kind: "deleted", seq: known.seq, message: `record ${known.seq}, vouched for by an earlier verify, is not in the history (it ends at record ${this.last}): the store was rolled back` };
    if (!Buffer.isBuffer(this.mac) || !this.mac.toString("hex").startsWith(known.mac)) return { kind: "altered", seq: known.seq, message: `record ${known.seq} is not the one an earlier verify vouched for (MAC ${known.mac.slice(0, 16)}…): the store was rolled back and rewritten` };
    return undefined;
  }
}

export function hasColumn(db: Database.Database, table: string, column: string): boolean {
  return (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).some((c) => c.name === column);
}
