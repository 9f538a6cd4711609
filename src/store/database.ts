// Opening state.db. A run opens it for writing in WAL mode. `history` and `verify` open it
// read-only and change nothing (no schema change, no journal mode change, no key): beside a
// running run, as SQLite readers in WAL mode, which never wait for the writer; on read-only
// media (an auditor's copy), in SQLite's immutable mode, which reads the file without locks or
// a shared-memory file, since nobody can be writing it. A run ends with a checkpoint that
// leaves every record in state.db itself, so a copy of that one file is the whole store; a copy
// taken during a run may also hold state.db-wal, which is read from beside its state.db-shm,
// or from a private copy when that is missing.
import Database from "better-sqlite3";
import { accessSync, constants, copyFileSync, lstatSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { harden } from "./schema.js";

/**
 * Opens a database. SQLite reads `file:` names as URIs (for `immutable=1`) only when
 * SQLITE_USE_URI is set before the addon loads, which is at the first database opened; every
 * other name the store opens is an absolute path, which never starts with `file:`. Set here, not
 * when this module loads: `covenant run`'s start-up snapshot loads its modules when it is built,
 * and an environment set then is the builder's, gone when a run starts from it.
 */
function sqlite(filename: string, options: Database.Options): Database.Database {
  process.env["SQLITE_USE_URI"] ??= "1";
  return new Database(filename, options);
}

/** How long a statement waits for another process's lock before failing (SQLITE_BUSY). */
export const BUSY_TIMEOUT_MS = 5000;

export function openForWriting(path: string): Database.Database {
  // the busy timeout must be set before the first statement: a `verify` may read while a run writes
  const db = sqlite(path, { timeout: BUSY_TIMEOUT_MS });
  try {
    harden(db);
    db.pragma("journal_mode = WAL");
    // NORMAL in WAL mode: a killed process loses nothing committed; a power cut may lose the
    // last transactions, never the consistency of the file
    db.pragma("synchronous = NORMAL");
    // no checkpoint during a run: its records stay in state.db-wal until the checkpoint that ends
    // it, so removing that log after a run was killed erases the whole run, never its tail, and
    // the head anchor written as the run began finds it missing
    db.pragma("wal_autocheckpoint = 0");
    // a page cache of 512 KiB, not SQLite's 2 MiB: a run reads each promise's row once and
    // writes each record once, so a larger cache only holds pages it will not touch again (with
    // each repair's notice and outbox event it filled and added ~2 MB to a run's peak, bench/run)
    db.pragma("cache_size = -512");
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

export interface ReadOnlyDatabase {
  db: Database.Database;
  /** how it was opened, for `verify --json` and tests */
  mode: "shared" | "immutable" | "private copy";
  close(): void;
}

/** Whether anyone could be writing the directory's files: false on read-only media. */
function onReadOnlyMedia(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return false;
  } catch (err) {
    // EACCES: a copy this user cannot write either; as root (or the owner) W_OK only fails on EROFS
    const code = (err as NodeJS.ErrnoException).code;
    return code === "EROFS" || code === "EACCES";
  }
}

function sizeOf(path: string): number | undefined {
  try {
    return lstatSync(path).size;
  } catch {
    return undefined;
  }
}

/** A file name as an SQLite URI in immutable mode (`?`, `#` and `%` escaped, as RFC 3986 wants). */
function immutableUri(path: string): string {
  return "file:" + path.replace(/[%?#]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`) + "?immutable=1";
}

export function openForReading(dir: string): ReadOnlyDatabase {
  const path = join(dir, "state.db");
  if (!onReadOnlyMedia(dir)) {
    const db = hardened(sqlite(path, { readonly: true, fileMustExist: true, timeout: BUSY_TIMEOUT_MS }));
    return { db, mode: "shared", close: () => db.close() };
  }
  const wal = sizeOf(`${path}-wal`) ?? 0;
  if (wal === 0) {
    try {
      const db = sqlite(immutableUri(path), { readonly: true, fileMustExist: true });
      try {
        harden(db);
        db.prepare("SELECT count(*) FROM sqlite_master").get();
      } catch (err) {
        db.close();
        throw err;
      }
      return { db, mode: "immutable", close: () => db.close() };
    } catch (err) {
      // URIs are off when another part of this process loaded SQLite first: read a private copy
      if ((err as { code?: string }).code !== "SQLITE_CANTOPEN") throw err;
    }
  } else if (sizeOf(`${path}-shm`) !== undefined) {
    // SQLite reads a WAL on read-only media through an existing shared-memory file
    try {
      const db = hardened(sqlite(path, { readonly: true, fileMustExist: true, timeout: BUSY_TIMEOUT_MS }));
      return { db, mode: "shared", close: () => db.close() };
    } catch (err) {
      if (!/^SQLITE_(CANTOPEN|READONLY)/.test((err as { code?: string }).code ?? "")) throw err;
    }
  }
  return openPrivateCopy(path, wal > 0);
}

/** A copy of the database (and its log) in a new directory only this user can read, removed on close. */
function openPrivateCopy(path: string, withWal: boolean): ReadOnlyDatabase {
  const tmp = mkdtempSync(join(tmpdir(), "covenant-verify-"));
  try {
    copyFileSync(path, join(tmp, "state.db"));
    if (withWal) copyFileSync(`${path}-wal`, join(tmp, "state.db-wal"));
    // the copy is this process's own: opened for writing, SQLite can replay its log into it
    const db = hardened(sqlite(join(tmp, "state.db"), { fileMustExist: true }));
    return {
      db,
      mode: "private copy",
      close: () => {
        db.close();
        rmSync(tmp, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** The connection with the schema's SQL kept from doing harm (schema.ts), closed if that fails. */
function hardened(db: Database.Database): Database.Database {
  try {
    harden(db);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/** Moves every committed page into state.db and empties the log, so that the file alone is the store. */
export function checkpoint(db: Database.Database): void {
  db.pragma("wal_checkpoint(TRUNCATE)");
}
