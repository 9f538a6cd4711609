// Opening a state directory's store: what a directory holds before the database is opened (a
// database gone while what vouched for it remains), and host failures and damage met on the way
// turned into StoreErrors that say what failed.
import { lstatSync } from "node:fs";
import { join } from "node:path";
import { namedSeq, type FileHead } from "./anchors.js";
import { damageMessage, HistoryBrokenError, isDamage, operationalError, StoreDamagedError, StoreError } from "./errors.js";
import { keyKeptElsewhere, readHostKey } from "./host-key.js";
import { kindOf } from "./safe-files.js";

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
 * A state directory whose database is gone while what vouched for it remains: the head anchor,
 * or the host key in the directory (created only with a database, after it). Such a history was
 * deleted or moved, not never started.
 */
export function wipedStore(dir: string, key: Buffer | undefined, fileHead: FileHead): HistoryBrokenError | undefined {
  const db = join(dir, "state.db");
  if (fileHead.present) {
    const seq = key ? namedSeq(key, fileHead) : undefined;
    return new HistoryBrokenError(`the store ${db} is gone, but its head anchor ledger.head remains${seq !== undefined ? ` (it vouches for ${seq} records)` : ""}: the history was deleted or moved. Restore state.db from a backup; to start a new history instead, move the state directory aside and keep it as evidence`);
  }
  if (!keyKeptElsewhere() && exists(join(dir, "host.key"))) {
    return new HistoryBrokenError(`the store ${db} is gone, but the host key made with it remains: the history was deleted or moved. Restore state.db from a backup; to start a new history instead, move the state directory aside and keep it as evidence`);
  }
  return undefined;
}

/** The key, when it can be read, to say what a left-over anchor vouched for; never an error here. */
export function safeKey(path: string): Buffer | undefined {
  try {
    return readHostKey(path);
  } catch {
    return undefined;
  }
}
