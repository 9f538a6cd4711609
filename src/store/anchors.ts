// The two head anchors vouch for the end of the chain: one inside the database, moved with every
// record in the same transaction, and `ledger.head` beside it, moved after each run's summary.
// Records cut off the end, or the database replaced by an older or empty one, no longer match
// them. Once any record exists the database's anchor must be there; once any run has finished,
// the file must be there too. Only the whole directory rolled back together (store and anchors)
// escapes them: that needs a copy of the head kept off the host (`verify` prints it for that).
import type Database from "better-sqlite3";
import { join } from "node:path";
import { readCheckpoint } from "./checkpoint.js";
import type { HostKeys } from "./host-keys.js";
import { headIsSealed, type Head, type Tampering } from "./ledger.js";
import { readRegularFile } from "./safe-files.js";
import { readMeta } from "./meta.js";

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

export function dbHeadOf(db: Database.Database): { present: boolean; value: unknown } {
  const text = readMeta(db, "head");
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

/** The run counter as the database holds it; NaN when it is not a run number (an edited row). */
export function runCounter(db: Database.Database): number {
  const text = readMeta(db, "last_run");
  if (text === undefined) return 0;
  const n = typeof text === "string" && /^\d{1,16}$/.test(text) ? Number(text) : NaN;
  return Number.isSafeInteger(n) ? n : NaN;
}

/**
 * Whether the chain's end is what the anchors vouch for: the records they name, and the run the
 * file anchor says began last. Reads only the anchors and the records they name (by seq), so a
 * run can afford it each time it opens the store.
 */
export function endTampering(db: Database.Database, keys: HostKeys, fileHead: FileHead): Tampering | undefined {
  const key = keys.current;
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
    // a new store writes ledger.head before anything else can be recorded
    const counter = runCounter(db);
    if (last || counter !== 0) return { kind: "deleted", seq: lastSeq, message: "the head anchor file ledger.head is missing, though the store has recorded runs: the history cannot be proved complete" };
    return undefined;
  }
  if (!fileHeadIsSealed(keys, fileHead.value)) return { kind: "altered", seq: lastSeq, message: "the head anchor file ledger.head was rewritten: its seal does not match" };
  const h = fileHead.value;
  if (h.seq > lastSeq) return cutOff(lastSeq + 1, h.seq);
  if (!matches(h) && !checkpointIsAt(db, keys, h)) return { kind: "altered", seq: h.seq, message: `record ${h.seq} does not match the head anchor file ledger.head: it was rewritten` };
  return h.run === undefined ? undefined : beganTampering(db, h.run, lastSeq);
}

/**
 * A prune that removes the end of the history (nothing recorded since the cut run) removes the
 * record ledger.head names, in the transaction that writes the prune record; the anchor is moved
 * to that record just after. Should the process die in between, the anchor names the cut, which
 * the sealed checkpoint vouches for by its number and MAC.
 */
function checkpointIsAt(db: Database.Database, keys: HostKeys, h: Head): boolean {
  const cp = readCheckpoint(db, keys);
  return cp.state === "sealed" && cp.checkpoint.cut.seq === h.seq && cp.checkpoint.cut.mac === h.mac;
}

/**
 * The file anchor is written, durably, as each run begins, after the run counter moved: a run it
 * names must be in the store. A killed run's records live in the write-ahead log until the next
 * run's checkpoint, so removing state.db-wal would otherwise erase that run without a trace.
 */
function beganTampering(db: Database.Database, began: number, lastSeq: number): Tampering | undefined {
  const counter = runCounter(db);
  if (Number.isNaN(counter)) return { kind: "altered", seq: 0, message: "the run counter in the database is not a run number: it was edited" };
  const highest = (db.prepare("SELECT max(run) FROM ledger").pluck().get() as number | null) ?? 0;
  if (counter < highest) return { kind: "altered", seq: 0, message: `the run counter in the database says ${counter}, but run ${highest} is recorded: it was set back` };
  if (counter < began) {
    return { kind: "deleted", seq: lastSeq + 1, message: `run ${began} began (the head anchor ledger.head, written as it began, says so), but the store holds no trace of it${counter < began - 1 ? ` nor of runs ${counter + 1} to ${began - 1}` : ""}: its records were deleted (removing state.db-wal after a run was killed erases that run)` };
  }
  // the counter moves one past the anchor only when a run dies between the two writes
  if (counter > began + 1) return { kind: "altered", seq: 0, message: `the run counter in the database says ${counter}, but the head anchor ledger.head says run ${began} began last: the counter was set forward` };
  return undefined;
}

/**
 * ledger.head is sealed with the key in force; while a rotation of the host key is committed but
 * not finished (host.key.next waits, host-keys.ts), it may still be sealed with the key it retired.
 */
export function fileHeadIsSealed(keys: HostKeys, h: unknown): h is Head {
  return headIsSealed(keys.current, h) || (keys.unfinished !== undefined && headIsSealed(keys.unfinished, h));
}

/** The highest schema a sealed anchor says the store had: a store claiming less was set back. */
export function anchoredSchema(db: Database.Database, keys: HostKeys, fileHead: FileHead): number {
  let schema = 0;
  const inDb = dbHeadOf(db);
  if (inDb.present && headIsSealed(keys.current, inDb.value) && inDb.value.schema !== undefined) schema = inDb.value.schema;
  if (fileHead.present && fileHeadIsSealed(keys, fileHead.value) && fileHead.value.schema !== undefined) schema = Math.max(schema, fileHead.value.schema);
  return schema;
}
