// What can go wrong with a store that is not a bug: commands report these with exit 2 and a
// message that says what to do, never as an internal error.
import { join } from "node:path";

/** A store that cannot be used as it is (missing key, newer schema, full disk); commands exit 2 on it. */
export class StoreError extends Error {}

/** There is no store in the directory (nothing has run there): commands exit 2 and say so. */
export class NoStoreError extends StoreError {}

/** The database file is not SQLite any more, or SQLite found it damaged: written over, cut short. */
export class StoreDamagedError extends StoreError {}

/** A file or directory of the state that root may not trust: someone else owns it or can write it. */
export class UntrustedStateError extends StoreError {}

/**
 * The state directory is not what its anchors and its key vouch for (the database gone or emptied
 * with its head anchor or key left, records cut off, a schema Covenant never makes): `run` will not
 * extend such a history, `verify` reports it as tampering of this kind.
 */
export class HistoryBrokenError extends StoreError {
  constructor(
    message: string,
    readonly kind: "deleted" | "altered" = "deleted",
  ) {
    super(message);
  }
}

/** Whether an error from SQLite says the file itself is damaged (not busy, not missing). */
export function isDamage(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === "string" && (code === "SQLITE_NOTADB" || code.startsWith("SQLITE_CORRUPT"));
}

/** What to tell the operator of a database SQLite found damaged, when opening it or later. */
export function damageMessage(stateDir: string, err: unknown): string {
  const code = (err as { code?: string }).code;
  return `the store ${join(stateDir, "state.db")} is not a readable database (${code}): it was damaged or replaced; restore it from a backup, or move it aside to start a new history`;
}

const SQLITE_OPERATIONAL: Record<string, string> = {
  SQLITE_FULL: "the disk is full",
  SQLITE_IOERR: "an input/output error",
  SQLITE_READONLY: "it cannot be written (a read-only file system or file)",
  SQLITE_CANTOPEN: "it cannot be opened",
  SQLITE_BUSY: "another process kept it locked for more than 5 s",
  SQLITE_LOCKED: "another process kept it locked for more than 5 s",
  SQLITE_PERM: "permission denied",
  SQLITE_PROTOCOL: "its lock protocol failed (another process kept it busy)",
  SQLITE_NOLFS: "the file system does not support large files",
};

const ERRNO_OPERATIONAL: Record<string, string> = {
  ENOSPC: "no space left on the device",
  EDQUOT: "the disk quota is exhausted",
  EROFS: "the file system is read-only",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EIO: "an input/output error",
  EMFILE: "too many open files",
  ENFILE: "too many open files in the system",
  ENOTDIR: "a part of its path is not a directory",
  EISDIR: "a directory is in the way",
  ELOOP: "a symbolic link is in the way",
  ENAMETOOLONG: "the path is too long",
  ENXIO: "a FIFO or device with nothing behind it is in the way",
};

/** What an errno means to an operator, for messages (the code itself is kept in parentheses). */
export function describeErrno(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code ? `${ERRNO_OPERATIONAL[code] ?? "it cannot be used"} (${code})` : (err as Error).message;
}

/**
 * An error of the host (full disk, read-only file system, permissions, I/O) as a StoreError
 * saying what could not be done; undefined for anything else, which stays a bug.
 */
export function operationalError(err: unknown, doing: string): StoreError | undefined {
  if (err instanceof StoreError) return err;
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code !== "string") return undefined;
  const base = code.startsWith("SQLITE_") ? code.replace(/^(SQLITE_[A-Z]+)_.*$/, "$1") : code;
  const words = code === "SQLITE_IOERR_SHMSIZE" ? "no room to grow its shared-memory file (a full disk)" : (SQLITE_OPERATIONAL[base] ?? ERRNO_OPERATIONAL[base]);
  return words ? new StoreError(`${doing}: ${words} (${code})`) : undefined;
}
