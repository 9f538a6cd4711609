// Reads an evidence pack is cut from, a row at a time (SQLite iterators): a year's history is
// hundreds of thousands of records and a hundred MB of bodies, never held at once.
import type Database from "better-sqlite3";
import type { RecordKind } from "./ledger.js";

/** One record as stored: body text and MAC (hex), unjudged (verify judges). */
export interface StoredRecord {
  seq: number;
  kind: RecordKind;
  run: number;
  time: string;
  body: string;
  mac: string;
}

/** The numbers of the first and last record whose time is in [startMs, endMs): the host's clock may step back, so the range is contiguous between them. */
export function recordRangeIn(db: Database.Database, startMs: number, endMs: number): { first: number; last: number } | undefined {
  let first: number | undefined;
  let last: number | undefined;
  for (const [seq, time] of db.prepare("SELECT seq, time FROM ledger ORDER BY seq").raw().iterate() as IterableIterator<[number, string]>) {
    const t = Date.parse(time);
    if (!(t >= startMs && t < endMs)) continue;
    first ??= seq;
    last = seq;
  }
  return first === undefined || last === undefined ? undefined : { first, last };
}

/** The records from `first` to `last`, in order, one row in memory at a time. */
export function* eachRecord(db: Database.Database, first: number, last: number): Generator<StoredRecord> {
  const rows = db.prepare("SELECT seq, kind, run, time, body, mac FROM ledger WHERE seq BETWEEN ? AND ? ORDER BY seq").raw().iterate(first, last) as IterableIterator<[number, RecordKind, number, unknown, unknown, unknown]>;
  for (const [seq, kind, run, time, body, mac] of rows) yield { seq, kind, run, time: String(time), body: String(body), mac: Buffer.isBuffer(mac) ? mac.toString("hex") : "" };
}

/**
 * Each run summary's time and the policy hash it names (a string `policy` field of a body that is
 * a JSON object; null otherwise), in order: SQLite reads the field, so no body is parsed here.
 */
export function* runPolicies(db: Database.Database): Generator<{ time: string; policy: string | null }> {
  const rows = db.prepare("SELECT time, CASE WHEN json_valid(body) AND json_type(body, '$.policy') = 'text' THEN json_extract(body, '$.policy') END FROM ledger WHERE kind = 'run' ORDER BY seq").raw().iterate() as IterableIterator<[unknown, string | null]>;
  for (const [time, policy] of rows) yield { time: String(time), policy };
}

/** The last record's number and MAC (hex), as stored. */
export function lastRecord(db: Database.Database): { seq: number; mac: string } | undefined {
  const row = db.prepare("SELECT seq, mac FROM ledger ORDER BY seq DESC LIMIT 1").get() as { seq: number; mac: unknown } | undefined;
  return row ? { seq: row.seq, mac: Buffer.isBuffer(row.mac) ? row.mac.toString("hex") : "" } : undefined;
}
