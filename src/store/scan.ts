// Reading the history in one pass, for reports over long periods: records in seq order, one row
// at a time (never the whole ledger in memory), each body parsed and each MAC checked against the
// record before it as it is read. A year's store holds ~315,000 records (~150 MB): `readHistory`
// and `verify` load every row, which a report over the year cannot afford.
import type Database from "better-sqlite3";
import type { Checkpoint } from "./checkpoint.js";
import type { HostKeys } from "./host-keys.js";
import { macOf, type LedgerRow, type RecordKind } from "./ledger.js";

/** A record as the scan gives it: its body parsed (undefined when it is not a JSON object), and whether its MAC chains. */
export interface ScannedRecord {
  seq: number;
  kind: RecordKind;
  run: number;
  time: string;
  body: Record<string, unknown> | undefined;
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
 * Calls `visit` with every record from `fromSeq` through `toSeq`, in seq order. The MAC of each
 * is checked against the MAC stored in the record before it (read too when the range starts past
 * record 1), so a record altered, inserted or renumbered is marked; the caller judges the range
 * it vouches for. After a prune (`checkpoint`, one the host key sealed), the records kept at or
 * below its cut are held to their recorded predecessors and the record after the cut to the cut's
 * MAC, as `verify` holds them (checkpoint.ts). Runs on the caller's read transaction (store.ts
 * wraps it in one).
 */
export function scanRecords(db: Database.Database, keys: HostKeys, range: ScanRange, visit: (r: ScannedRecord) => void, checkpoint?: Checkpoint): { last?: { seq: number; mac: Buffer } } {
  const from = Math.max(1, range.fromSeq ?? 1);
  const to = range.toSeq ?? Number.MAX_SAFE_INTEGER;
  const cutSeq = checkpoint?.cut.seq ?? 0;
  const before = from > 1 ? (db.prepare("SELECT seq, mac FROM ledger WHERE seq < ? ORDER BY seq DESC LIMIT 1").get(from) as { seq: number; mac: unknown } | undefined) : undefined;
  let prevMac: Buffer = Buffer.isBuffer(before?.mac) ? before.mac : Buffer.alloc(32);
  let expected = before ? before.seq + 1 : from === 1 ? 1 : from;
  if (checkpoint && (!before || before.seq <= cutSeq)) {
    // the chain resumes from the cut's MAC: the record after the cut is chained to it
    prevMac = Buffer.from(checkpoint.cut.mac, "hex");
    expected = cutSeq + 1;
  }
  let last: { seq: number; mac: Buffer } | undefined;
  // rows as arrays, not objects: a year's 325,000 rows, each an object of six named fields, cost ~1 s more
  const rows = db.prepare("SELECT seq, kind, run, time, body, mac FROM ledger WHERE seq >= ? AND seq <= ? ORDER BY seq").raw().iterate(from, to) as IterableIterator<RawRow>;
  for (const [seq, kind, run, time, body, macValue] of rows) {
    const r = { seq, kind, run, time, body } as Omit<LedgerRow, "mac">;
    const mac = Buffer.isBuffer(macValue) ? macValue : undefined;
    let problem: string | undefined;
    if (checkpoint && r.seq <= cutSeq) problem = keptProblem(keys, r, mac, checkpoint);
    else if (r.seq !== expected) problem = `records before it are missing, or it was renumbered (expected record ${expected})`;
    else if (!(mac !== undefined && macOf(keys.at(r.seq), prevMac, r).equals(mac))) problem = keys.unverifiable(r.seq) ?? "its MAC does not match: it was altered or inserted after it was written";
    visit({ seq: r.seq, kind: r.kind, run: r.run, time: String(r.time), body: parseBody(r.body), verified: problem === undefined, ...(problem !== undefined ? { problem } : {}), mac });
    if (!checkpoint || r.seq > cutSeq) {
      prevMac = mac ?? Buffer.alloc(32);
      expected = r.seq + 1;
    }
    if (mac) last = { seq: r.seq, mac };
  }
  return last ? { last } : {};
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
