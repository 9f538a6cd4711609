// Reads an evidence pack is cut with: where a period's records are, and the last record. A year's
// history is hundreds of thousands of records: no row is held longer than it is read.
import type Database from "better-sqlite3";

/** The numbers of the first and last record whose time is in [startMs, endMs): the host's clock may step back, so the range is contiguous between them. */
export function recordRangeIn(db: Database.Database, startMs: number, endMs: number): { first: number; last: number } | undefined {
  // a time as Covenant writes it (toISOString: canonical, years 0000 to 9999) sorts as its
  // instant does: SQLite finds those in the period without a row reaching JavaScript (a year's
  // 325,000 rows took ~0.5 s there); any other time (none, unless the store was edited) is judged
  // by Date.parse, as every time was
  const from = isoOrEdge(startMs);
  const to = isoOrEdge(endMs);
  let first: number | null = null;
  let last: number | null = null;
  if (startMs < endMs && from !== AFTER && to !== BEFORE) {
    const where = [CANONICAL, ...(from !== BEFORE ? ["time >= @from"] : []), ...(to !== AFTER ? ["time < @to"] : [])].join(" AND ");
    const bounds = { ...(from !== BEFORE ? { from } : {}), ...(to !== AFTER ? { to } : {}) };
    [first, last] = db.prepare(`SELECT min(seq), max(seq) FROM ledger WHERE ${where}`).raw().get(bounds) as [number | null, number | null];
  }
  for (const [seq, time] of db.prepare(`SELECT seq, time FROM ledger WHERE NOT (${CANONICAL})`).raw().iterate() as IterableIterator<[number, unknown]>) {
    const t = Date.parse(String(time));
    if (!(t >= startMs && t < endMs)) continue;
    if (first === null || seq < first) first = seq;
    if (last === null || seq > last) last = seq;
  }
  return first === null || last === null ? undefined : { first, last };
}

/** A time as toISOString writes it: the shape, before 24:00, and a real instant SQLite writes back the same (not February 30). */
const CANONICAL = "(typeof(time) = 'text' AND time GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z' AND substr(time, 12, 2) < '24' AND strftime('%Y-%m-%dT%H:%M:%fZ', time) IS time)";
const FIRST_ISO = Date.parse("0000-01-01T00:00:00.000Z");
const LAST_ISO = Date.parse("9999-12-31T23:59:59.999Z");
const BEFORE = Symbol("before every canonical time");
const AFTER = Symbol("after every canonical time");

/** An instant as toISOString writes it, or where it lies beyond the times CANONICAL matches. */
function isoOrEdge(ms: number): string | typeof BEFORE | typeof AFTER {
  if (!(ms >= FIRST_ISO)) return BEFORE;
  if (ms > LAST_ISO) return AFTER;
  return new Date(ms).toISOString();
}

/** The last record's number and MAC (hex), as stored. */
export function lastRecord(db: Database.Database): { seq: number; mac: string } | undefined {
  const row = db.prepare("SELECT seq, mac FROM ledger ORDER BY seq DESC LIMIT 1").get() as { seq: number; mac: unknown } | undefined;
  return row ? { seq: row.seq, mac: Buffer.isBuffer(row.mac) ? row.mac.toString("hex") : "" } : undefined;
}
