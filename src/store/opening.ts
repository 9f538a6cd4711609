// Opening a state directory's store: what the directory says a store held before its database
// is opened (a database gone or emptied while its key or head anchor remains is a deleted
// history), how a new store is made so that those witnesses never outlive a store that never
// was, and host failures and damage met on the way turned into StoreErrors that say what failed.
import type Database from "better-sqlite3";
import { randomBytes } from "node:crypto";
import { lstatSync } from "node:fs";
import { join } from "node:path";
import { anchoredSchema, namedSeq, type FileHead } from "./anchors.js";
import { markCopiesMasked } from "./approved-remask.js";
import { damageMessage, HistoryBrokenError, isDamage, operationalError, StoreDamagedError, StoreError } from "./errors.js";
import { createHostKey, keyKeptElsewhere, readHostKey } from "./host-key.js";
import { GENESIS, sealHead } from "./ledger.js";
import type { HostKeys } from "./host-keys.js";
import { kindOf, replaceFile } from "./safe-files.js";
import { SCHEMA_SQL, SCHEMA_VERSION } from "./schema.js";
import { countMetaExcept, readMeta, writeMeta } from "./meta.js";

export function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Whether the database is there; anything but a regular file in its place is refused (SQLite would block on a FIFO). */
export function databaseExists(path: string): boolean {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return false;
  }
  if (!st.isFile()) throw new StoreError(`the store ${path} is ${kindOf(st)}: Covenant never makes one there; remove it`);
  return true;
}

/** Runs `fn`, turning damage and host failures (full disk, read-only, I/O) into StoreErrors. */
export function guarded<T>(dir: string, doing: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (isDamage(err)) throw new StoreDamagedError(damageMessage(dir, err));
    throw operationalError(err, doing) ?? err;
  }
}

/**
 * What in the directory vouches that a store was made there: the host key in the directory (made
 * last, after the tables and the head anchor), or a head anchor that names more than an empty
 * store. A head anchor naming nothing (record 0, no run) is what a new store writes first: losing
 * the store it vouches for loses nothing.
 */
export interface Witnesses {
  keyInDir: boolean;
  fileHead: FileHead;
  headVouches: boolean;
}

export function witnessesOf(dir: string, fileHead: FileHead): Witnesses {
  const keyInDir = !keyKeptElsewhere() && exists(join(dir, "host.key"));
  let headVouches = fileHead.present;
  if (fileHead.present && typeof fileHead.value === "object" && fileHead.value !== null) {
    const { seq, run } = fileHead.value as { seq?: unknown; run?: unknown };
    if (seq === 0 && (run === undefined || run === 0)) headVouches = false;
  }
  return { keyInDir, fileHead, headVouches };
}

/**
 * A store whose database is gone (`gone`) or holds no tables (`empty`: written over with nothing,
 * or every table dropped) while what vouched for it remains. Such a history was deleted or
 * moved, not never started.
 */
export function missingStore(dir: string, w: Witnesses, how: "gone" | "empty"): HistoryBrokenError | undefined {
  const db = join(dir, "state.db");
  const what = how === "gone" ? `the store ${db} is gone` : `the store ${db} holds no tables (it was emptied)`;
  const fix = "the history was deleted or moved. Restore state.db from a backup; to start a new history instead, move the state directory aside and keep it as evidence";
  if (w.headVouches) {
    let seq: number | undefined;
    if (w.keyInDir || keyKeptElsewhere()) {
      try {
        seq = namedSeq(readHostKey(keyKeptElsewhere() ?? join(dir, "host.key")), w.fileHead);
      } catch {
        // the key only says how many records the anchor vouched for: never an error here
      }
    }
    return new HistoryBrokenError(`${what}, but its head anchor ledger.head remains${seq !== undefined ? ` (it vouches for ${seq} records)` : ""}: ${fix}`);
  }
  if (w.keyInDir) return new HistoryBrokenError(`${what}, but the host key made with it remains: ${fix}`);
  return undefined;
}

/**
 * The head anchor gone while the key made after it remains: without it, records cut off the end,
 * or a run erased, could not be found.
 */
export function headGone(db: Database.Database, dir: string, w: Witnesses): HistoryBrokenError | undefined {
  if (!w.keyInDir || w.fileHead.present) return undefined;
  // stores written before schema 3 had no head anchor file; their first run writes one
  const schema = Number(readMeta(db, "schema") ?? SCHEMA_VERSION);
  if (schema < 3) return undefined;
  return new HistoryBrokenError(`the head anchor ${join(dir, "ledger.head")} is missing, but the host key made after it remains: it was deleted, and the history cannot be proved complete. Restore it from a backup; to start a new history instead, move the state directory aside and keep it as evidence`);
}

/**
 * A database with tables but nothing in them and nothing outside vouching for it: a new store
 * whose making stopped part way (killed, or the disk full), to be made again.
 */
export function unfinishedStore(db: Database.Database, w: Witnesses): boolean {
  if (w.keyInDir || w.headVouches) return false;
  if (db.prepare("SELECT EXISTS (SELECT 1 FROM ledger)").pluck().get() === 1) return false;
  return countMetaExcept(db, ["schema", "copies_masked"]) === 0;
}

/**
 * Makes a new store in an empty (or unfinished) database: the tables, then the head anchor naming
 * no record, then the key, linked into place last. A key in the state directory therefore always
 * has a store and an anchor beside it, and losing either is found. A key kept elsewhere
 * (COVENANT_HOST_KEY_FILE) is used if it is there, and made there otherwise. Returns the key.
 */
export function makeStore(db: Database.Database, dir: string, keyPath: string): Buffer {
  const existing = keyKeptElsewhere() !== undefined && exists(keyPath) ? readHostKey(keyPath) : undefined;
  const key = existing ?? randomBytes(32);
  db.transaction(() => {
    db.exec(SCHEMA_SQL);
    writeMeta(db, "schema", String(SCHEMA_VERSION));
    markCopiesMasked(db);
  }).immediate();
  replaceFile(join(dir, "ledger.head"), JSON.stringify(sealHead(key, 0, GENESIS, { schema: SCHEMA_VERSION, run: 0 })) + "\n", { sync: true });
  if (!existing) createHostKey(keyPath, key);
  return key;
}

/** A schema that is not what Covenant makes (schema.ts): tampering, to a run and to `verify`. */
export function schemaTampered(dir: string, problem: string): HistoryBrokenError {
  return new HistoryBrokenError(`the store ${join(dir, "state.db")} was tampered with: ${problem}. Covenant runs none of it and adds nothing to such a store; to start a new history, move the state directory aside and keep it as evidence`, "altered");
}

/**
 * The schema the store says it has. A value no Covenant writes, or one newer than its sealed
 * anchors were written with, was edited; one its anchors vouch for, newer than this Covenant,
 * is a store from a newer version (exit 2).
 */
export function schemaVersion(db: Database.Database, dir: string, keys: HostKeys, fileHead: FileHead): number {
  const text = readMeta(db, "schema");
  if (text === undefined) return SCHEMA_VERSION;
  const path = join(dir, "state.db");
  if (typeof text !== "string" || !/^[1-9]\d{0,5}$/.test(text)) throw new HistoryBrokenError(`the store ${path} gives its schema as something that is not a schema number: it was edited`, "altered");
  const version = Number(text);
  if (version <= SCHEMA_VERSION) return version;
  const anchored = anchoredSchema(db, keys, fileHead);
  if (anchored >= version) throw new StoreError(`the store ${path} was written by a newer Covenant (schema ${version})`);
  throw new HistoryBrokenError(`the store ${path} says schema ${version}, newer than this Covenant's ${SCHEMA_VERSION}, but its sealed head anchors were written with schema ${anchored}: the value was edited`, "altered");
}
