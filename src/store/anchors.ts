// The two head anchors vouch for the end of the chain: one inside the database, moved with every
// record in the same transaction, and `ledger.head` beside it, moved after each run's summary.
// Records cut off the end, or the database replaced by an older or empty one, no longer match
// them. Once any record exists the database's anchor must be there; once any run has finished,
// the file must be there too. Only the whole directory rolled back together (store and anchors)
// escapes them: that needs a copy of the head kept off the host (`verify` prints it for that).
import type Database from "better-sqlite3";
import { join } from "node:path";
import { headIsSealed, type Head, type Tampering } from "./ledger.js";
import { readRegularFile } from "./safe-files.js";

/** The head file as found: absent, or its text parsed (`unreadable` when it is not JSON). */
export type FileHead = { present: false } | { present: true; value: unknown };

/** Reads `ledger.head` without following links or blocking; a FIFO or directory there is a StoreError. */
export function readFileHead(dir: string): FileHead {
  const text = readRegularFile(join(dir, "ledger.head"), "the head anchor", 4096);
  if (text === undefined) return { present: false };
  try {
    return { present: true, value: JSON.parse(text) as unknown };
  } catch {
    return { present: true, value: "unreadable" };
  }
}

/** The seq a head names, for messages, when it is a sealed one. */
export function namedSeq(key: Buffer, h: FileHead): number | undefined {
  return h.present && headIsSealed(key, h.value) ? h.value.seq : undefined;
}

function dbHeadOf(db: Database.Database): { present: boolean; value: unknown } {
  const text = db.prepare("SELECT value FROM meta WHERE key = 'head'").pluck().get() as unknown;
  if (text === undefined) return { present: false, value: undefined };
  try {
    return { present: true, value: JSON.parse(String(text)) as unknown };
  } catch {
    return { present: true, value: "unreadable" };
  }
}

function cutOff(from: number, to: number): Tampering {
  return { kind: "deleted", seq: from, message: from === to ? `record ${from}, the last one, was deleted` : `records ${from} to ${to}, the newest, were deleted` };
}

/**
 * Whether the chain's end is what the anchors vouch for. Reads only the anchors and the records
 * they name (by seq), so a run can afford it each time it opens the store.
 */
export function endTampering(db: Database.Database, key: Buffer, fileHead: FileHead): Tampering | undefined {
  const last = db.prepare("SELECT seq, mac FROM ledger ORDER BY seq DESC LIMIT 1").get() as { seq: number; mac: unknown } | undefined;
  const lastSeq = last?.seq ?? 0;
  const macAt = (seq: number) => (seq === lastSeq ? last?.mac : db.prepare("SELECT mac FROM ledger WHERE seq = ?").pluck().get(seq));
  const matches = (h: Head) => h.seq === 0 || (Buffer.isBuffer(macAt(h.seq)) && (macAt(h.seq) as Buffer).toString("hex") === h.mac);

  const inDb = dbHeadOf(db);
  if (inDb.present && !headIsSealed(key, inDb.value)) return { kind: "altered", seq: lastSeq, message: "the head anchor in the database was rewritten: its seal does not match" };
  if (!inDb.present && last) return { kind: "deleted", seq: lastSeq, message: "the head anchor in the database is missing: records cut off the end could not be detected, so the history cannot be proved complete" };
  if (inDb.present) {
    const h = inDb.value as Head;
    if (h.seq > lastSeq) return cutOff(lastSeq + 1, h.seq);
    if (h.seq < lastSeq) return { kind: "inserted", seq: h.seq + 1, message: `records ${h.seq + 1} to ${lastSeq} were added past the head anchor in the database` };
    if (!matches(h)) return { kind: "altered", seq: h.seq, message: `record ${h.seq} does not match the head anchor in the database: it was rewritten` };
  }

  if (!fileHead.present) {
    const finished = db.prepare("SELECT EXISTS (SELECT 1 FROM ledger WHERE kind = 'run')").pluck().get() === 1;
    if (finished) return { kind: "deleted", seq: lastSeq, message: "the head anchor file ledger.head is missing, though runs have finished: the history cannot be proved complete" };
    return undefined;
  }
  if (!headIsSealed(key, fileHead.value)) return { kind: "altered", seq: lastSeq, message: "the head anchor file ledger.head was rewritten: its seal does not match" };
  const h = fileHead.value;
  if (h.seq > lastSeq) return cutOff(lastSeq + 1, h.seq);
  if (!matches(h)) return { kind: "altered", seq: h.seq, message: `record ${h.seq} does not match the head anchor file ledger.head: it was rewritten` };
  return undefined;
}

/** The highest schema a sealed anchor says the store had: a store claiming less was set back. */
export function anchoredSchema(db: Database.Database, key: Buffer, fileHead: FileHead): number {
  let schema = 0;
  for (const h of [dbHeadOf(db), fileHead]) {
    if (h.present && headIsSealed(key, h.value) && h.value.schema !== undefined) schema = Math.max(schema, h.value.schema);
  }
  return schema;
}
