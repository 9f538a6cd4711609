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
    // from each end, stopping at the first found: a year's pack finds both at once
    first = (db.prepare(`SELECT seq FROM ledger WHERE ${where} ORDER BY seq LIMIT 1`).pluck().get(bounds) as number | undefined) ?? null;
    last = (db.prepare(`SELECT seq FROM ledger WHERE ${where} ORDER BY seq DESC LIMIT 1`).pluck().get(bounds) as number | undefined) ?? null;
  }
  // the other times can only move the ends outward: those between them are not read
  const outside = first === null || last === null ? "" : "(seq < @first OR seq > @last) AND ";
  const others = db.prepare(`SELECT seq, time FROM ledger WHERE ${outside}NOT (${CANONICAL})`).raw().iterate(first === null || last === null ? {} : { first, last }) as IterableIterator<[number, unknown]>;
  for (const [seq, time] of others) {
    const t = Date.parse(String(time));
    if (!(t >= startMs && t < endMs)) continue;
    if (first === null || seq < first) first = seq;
    if (last === null || seq > last) last = seq;
  }
  return first === null || last === null ? undefined : { first, last };
}

/**
 * A time as toISOString writes it, one that sorts as its instant: the shape, a month 01 to 12, a
 * day 01 to 28 (in every month; the 29th to 31st go to Date.parse, which knows which exist), an
 * hour before 24, minutes and seconds before 60. Checked with substr, not strftime: a year's rows
 * are 325,000, and strftime on each took ~0.5 s.
 */
const CANONICAL =
  "(typeof(time) = 'text' AND time GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z'" +
  " AND substr(time, 6, 2) BETWEEN '01' AND '12' AND substr(time, 9, 2) BETWEEN '01' AND '28' AND substr(time, 12, 2) < '24' AND substr(time, 15, 2) < '60' AND substr(time, 18, 2) < '60')";
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
