// Reading the history in one pass, for reports over long periods: records in seq order, one row
// at a time (never the whole ledger in memory), each body parsed and each MAC checked against the
// record before it as it is read. A year's store holds ~315,000 records (~150 MB): `readHistory`
// and `verify` load every row, which a report over the year cannot afford.
import type Database from "better-sqlite3";
import type { Checkpoint } from "./checkpoint.js";
import type { HostKeys } from "./host-keys.js";
import { macOf, type LedgerRow, type MacOf, type RecordKind } from "./ledger.js";
import type { RecordView, RowCheck } from "./row-check.js";

/** A record as the scan gives it: its body parsed (undefined when it is not a JSON object), and whether its MAC chains. */
export interface ScannedRecord {
  seq: number;
  kind: RecordKind;
  run: number;
  time: string;
  body: Record<string, unknown> | undefined;
  /** the body as stored (the text its MAC covers) */
  text: string;
  /** the record's MAC matches its content chained to the record before it, and its number follows that record's */
  verified: boolean;
  /** why it is not verified */
  problem?: string;
  mac: Buffer | undefined;
}

export interface ScanRange {
  /** the first record given to the visitor (records before it are read for their MACs only when `chainFrom` asks) */
  fromSeq?: number;
  /** the last record given (inclusive) */
  toSeq?: number;
}

/** A record at or below a checkpoint's cut: verified only as one the checkpoint kept, chained to its recorded predecessor. */
function keptProblem(keys: HostKeys, r: Omit<LedgerRow, "mac">, mac: Buffer | undefined, cp: Checkpoint): string | undefined {
  const k = cp.kept.find((x) => x.seq === r.seq);
  if (!k) return `it is below the checkpoint (records up to ${cp.cut.seq} were pruned on ${cp.at}) and not one it kept: it was put back or inserted`;
  if (!mac || mac.toString("hex") !== k.mac || !macOf(keys.at(r.seq), Buffer.from(k.prev, "hex"), r).equals(mac)) return "its MAC does not match: it was altered or inserted after it was written";
  return undefined;
}

/**
 * Judges records one at a time as `scanRecords` (and verify's walk, when it scans too) reads them:
 * each record's MAC against the MAC stored in the record before it, or, at or below a checkpoint's
 * cut, against the predecessor the checkpoint kept for it. `prev` and `expected` say where the
 * chain stands before the first record given.
 */
export class ScanStep {
  /** the last record judged that carries a MAC (its fields: the walk of a year judges 325,000 records) */
  private lastSeq = 0;
  private lastMac: Buffer | undefined;

  constructor(
    private readonly keys: HostKeys,
    private prevMac: Buffer,
    private expected: number,
    private readonly checkpoint: Checkpoint | undefined,
  ) {}

  /** The record as the scan gives it; `body` is its text parsed as an object (undefined when it is not one). */
  judge(r: Omit<LedgerRow, "mac">, macValue: unknown, body: Record<string, unknown> | undefined, macFn: MacOf = macOf): ScannedRecord {
    const cp = this.checkpoint;
    const mac = Buffer.isBuffer(macValue) ? macValue : undefined;
    let problem: string | undefined;
    if (cp && r.seq <= cp.cut.seq) problem = keptProblem(this.keys, r, mac, cp);
    else if (r.seq !== this.expected) problem = `records before it are missing, or it was renumbered (expected record ${this.expected})`;
    else if (!(mac !== undefined && macFn(this.keys.at(r.seq), this.prevMac, r).equals(mac))) problem = this.keys.unverifiable(r.seq) ?? "its MAC does not match: it was altered or inserted after it was written";
    if (!cp || r.seq > cp.cut.seq) {
      this.prevMac = mac ?? Buffer.alloc(32);
      this.expected = r.seq + 1;
    }
    if (mac) {
      this.lastSeq = r.seq;
      this.lastMac = mac;
    }
    const judged: ScannedRecord = { seq: r.seq, kind: r.kind, run: r.run, time: String(r.time), body, text: String(r.body), verified: problem === undefined, mac };
    if (problem !== undefined) judged.problem = problem;
    return judged;
  }

  /** The last record judged that carries a MAC. */
  end(): { last?: { seq: number; mac: Buffer } } {
    return this.lastMac ? { last: { seq: this.lastSeq, mac: this.lastMac } } : {};
  }
}

/** Where the chain stands before record `from`: the record before it, or the checkpoint's cut. */
export function scanStart(before: { seq: number; mac: unknown } | undefined, from: number, checkpoint: Checkpoint | undefined): { prev: Buffer; expected: number } {
  let prev: Buffer = Buffer.isBuffer(before?.mac) ? before.mac : Buffer.alloc(32);
  let expected = before ? before.seq + 1 : from === 1 ? 1 : from;
  if (checkpoint && (!before || before.seq <= checkpoint.cut.seq)) {
    // the chain resumes from the cut's MAC: the record after the cut is chained to it
    prev = Buffer.from(checkpoint.cut.mac, "hex");
    expected = checkpoint.cut.seq + 1;
  }
  return { prev, expected };
}

/**
 * Calls `visit` with every record from `fromSeq` through `toSeq`, in seq order. The MAC of each
 * is checked against the MAC stored in the record before it (read too when the range starts past
 * record 1), so a record altered, inserted or renumbered is marked; the caller judges the range
 * it vouches for. After a prune (`checkpoint`, one the host key sealed), the records kept at or
 * below its cut are held to their recorded predecessors and the record after the cut to the cut's
 * MAC, as `verify` holds them (checkpoint.ts). Runs on the caller's read transaction (store-reads.ts
 * wraps it in one).
 */
export function scanRecords(db: Database.Database, keys: HostKeys, range: ScanRange, visit: (r: ScannedRecord) => void, checkpoint?: Checkpoint): { last?: { seq: number; mac: Buffer } } {
  const from = Math.max(1, range.fromSeq ?? 1);
  const to = range.toSeq ?? Number.MAX_SAFE_INTEGER;
  const before = from > 1 ? (db.prepare("SELECT seq, mac FROM ledger WHERE seq < ? ORDER BY seq DESC LIMIT 1").get(from) as { seq: number; mac: unknown } | undefined) : undefined;
  const start = scanStart(before, from, checkpoint);
  const step = new ScanStep(keys, start.prev, start.expected, checkpoint);
  // rows as arrays, not objects: a year's 325,000 rows, each an object of six named fields, cost ~1 s more
  const rows = db.prepare("SELECT seq, kind, run, time, body, mac FROM ledger WHERE seq >= ? AND seq <= ? ORDER BY seq").raw().iterate(from, to) as IterableIterator<RawRow>;
  for (const [seq, kind, run, time, body, macValue] of rows) visit(step.judge({ seq, kind, run, time, body }, macValue, parseBody(body)));
  return step.end();
}

/** The records of a range as `scanRecords` gives them, judged as verify's walk reads the whole history (verify.ts `extra`). */
export class ScanCheck implements RowCheck {
  private readonly step: ScanStep;
  private readonly from: number;
  private readonly to: number;

  constructor(keys: HostKeys, range: ScanRange, checkpoint: Checkpoint | undefined, private readonly visitor: (r: ScannedRecord) => void) {
    const start = scanStart(undefined, 1, checkpoint);
    this.step = new ScanStep(keys, start.prev, start.expected, checkpoint);
    this.from = Math.max(1, range.fromSeq ?? 1);
    this.to = range.toSeq ?? Number.MAX_SAFE_INTEGER;
  }

  visit(v: RecordView): void {
    const r = v.row;
    if (r.seq > this.to) return;
    // a record before the range is judged too (its MAC is the next one's predecessor), not given
    const judged = this.step.judge(r, r.mac, r.seq >= this.from ? v.object() : undefined, v.mac);
    if (r.seq >= this.from) this.visitor(judged);
  }

  result(): undefined {
    return undefined;
  }

  end(): { last?: { seq: number; mac: Buffer } } {
    return this.step.end();
  }
}

type RawRow = [number, RecordKind, number, string, string, unknown];

function parseBody(text: unknown): Record<string, unknown> | undefined {
  if (typeof text !== "string") return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
