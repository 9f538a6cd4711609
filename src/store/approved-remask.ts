// Approved copies kept with secrets in clear by an older Covenant, masked in the store itself.
// Until the masker saw a CRLF line's value (lines ending in \r\n: `db_password = x\r` was matched by
// no pattern), a text file with Windows line endings had its secret lines kept whole in its approved
// copy. Diffs have masked such lines since (approved-copy.ts masks a copy's clear lines again
// before showing them), but the store still held them: in state.db, its backups, its copies. A run's
// summary masks them once, in its own transaction: each copy whose clear lines the built-in patterns
// mask now is rewritten as a copy made now would be (the masked line and its keyed digest), sealed
// again, still in the name of the approval that approved it (a diff against it is the same, line
// for line), and the summary says how many lines of which copies it masked, so the history tells
// when the store changed and why. A copy whose seal does not match is left alone: sealing it again
// would vouch for a change made outside Covenant, which `verify` must go on reporting.
// The text a copy held before it was rewritten is zeroed where it was (secure_delete), but the
// copies that older Covenant itself replaced (a file approved again) or removed left theirs in the
// database file's free space, which secure_delete never reaches (it zeroes what is deleted from
// then on): after the summary's commit the file is rewritten whole (VACUUM, as a prune compacts it),
// and only then does the store say its copies were brought up to these rules. A store made now, or
// one gaining its approved copies' table now, holds no copy an older masker made: it says so at once.
// Lines that a policy's own `mask` patterns catch are not known here (the store has no policy):
// a diff masks them, and the copy keeps them until the file is approved again (docs/watch-findings.md).
import type Database from "better-sqlite3";
import { remaskedCopy, type KeyLine } from "../integrity/approved-copy.js";
import { decodeCopyRow } from "./approved-states.js";
import { sealApprovedCopy, type ApprovedCopyRow } from "./seals.js";
import { deleteMeta, readMeta, writeMeta } from "./meta.js";

/** The masking rules the store's copies were last brought up to: 2 masks CRLF lines' values. */
export const COPIES_MASKED_WITH = "2";
/** The copies masked, the file not yet rewritten (its compaction failed, or has not run yet). */
const MASKED_NOT_COMPACTED = `${COPIES_MASKED_WITH} masked`;
const MARKER = "copies_masked";
/** When the rewrite last failed, and why (JSON): it is tried again a day later, not at every run. */
const COMPACT_FAILED = "copies_compact_failed";
const RETRY_MS = 24 * 3600 * 1000;
/** The paths a summary's note names, at most. */
const SAMPLE = 5;

export interface Remasked {
  copies: number;
  lines: number;
  sample: string[];
  /** whether the caller, once its transaction committed, is to rewrite the file (compactMaskedStore) */
  compact: boolean;
  /** the rewrite's last failure, when this one tries again */
  lastFailure?: { at: string; error: string };
}

/**
 * Masks the secret lines older copies keep in clear (above), inside the caller's transaction,
 * once: the store then says its copies are masked (meta `copies_masked`), and the caller, once
 * committed, rewrites the file (compactMaskedStore), after which the store says that too and
 * nothing more is done (undefined). A rewrite that failed (a full disk: it needs about the store's
 * size free) is tried again a day later, the copies not read again: at every run it would fill
 * the disk again, for as long as the store's size.
 */
export function remaskApprovedCopies(db: Database.Database, key: Buffer, keyLine: KeyLine, now: Date): Remasked | undefined {
  const marker = readMeta(db, MARKER);
  if (marker === COPIES_MASKED_WITH) return undefined;
  if (marker === MASKED_NOT_COMPACTED) {
    const failed = lastFailure(db);
    const due = failed === undefined || !(now.getTime() - Date.parse(failed.at) < RETRY_MS);
    return { copies: 0, lines: 0, sample: [], compact: due, ...(failed && due ? { lastFailure: failed } : {}) };
  }
  const done: Remasked = { copies: 0, lines: 0, sample: [], compact: true };
  // the paths first, then one row at a time: a store's copies together may be gigabytes (a tree of
  // 100,000 files, each copy up to 64 KiB), more than a run should hold at once
  const paths = db.prepare("SELECT path FROM approved_copies ORDER BY path").pluck().all() as string[];
  const get = db.prepare("SELECT * FROM approved_copies WHERE path = ?");
  const put = db.prepare("UPDATE approved_copies SET copy = ?, seal = ? WHERE path = ?");
  // the rows' former text zeroed where it was, not left in the database file's free space
  const secureDelete = db.pragma("secure_delete", { simple: true }) as number;
  db.pragma("secure_delete = ON");
  try {
    for (const path of paths) {
      const r = get.get(path) as ApprovedCopyRow | undefined;
      const again = r === undefined ? undefined : remaskedRow(r, key, keyLine);
      if (again === undefined) continue;
      put.run(again.row.copy, again.row.seal, path);
      done.copies++;
      done.lines += again.lines;
      if (done.sample.length < SAMPLE) done.sample.push(path);
    }
  } finally {
    db.pragma(`secure_delete = ${["OFF", "ON", "FAST"][secureDelete] ?? "OFF"}`);
  }
  writeMeta(db, MARKER, MASKED_NOT_COMPACTED);
  return done;
}

function lastFailure(db: Database.Database): { at: string; error: string } | undefined {
  try {
    const f = JSON.parse(String(readMeta(db, COMPACT_FAILED) ?? "null")) as { at?: unknown; error?: unknown } | null;
    return typeof f?.at === "string" && typeof f.error === "string" ? { at: f.at, error: f.error } : undefined;
  } catch {
    return undefined;
  }
}

/** Says that every approved copy the store holds, and held, was made with these rules (a new store's, above). */
export function markCopiesMasked(db: Database.Database): void {
  writeMeta(db, MARKER, COPIES_MASKED_WITH);
  deleteMeta(db, [COMPACT_FAILED]);
}

/**
 * After the summary that masked the copies committed, outside any transaction: the database file
 * rewritten whole, so that no former copy is left in its free space (above), then marked. VACUUM
 * fails whole (a full disk; a lock held past the busy timeout): `failure` says so (an operational
 * error's message, else it throws), and the store keeps when and why, for a summary a day later
 * to try again and say so (remaskNote).
 */
export function compactMaskedStore(db: Database.Database, now: Date, failure: (err: unknown) => string | undefined): void {
  try {
    db.exec("VACUUM");
  } catch (err) {
    const why = failure(err);
    if (why === undefined) throw err;
    try {
      writeMeta(db, COMPACT_FAILED, JSON.stringify({ at: now.toISOString(), error: why }));
    } catch {
      // not kept: the next summary tries again at once
    }
    return;
  }
  markCopiesMasked(db);
}

function remaskedRow(r: ApprovedCopyRow, key: Buffer, keyLine: KeyLine): { row: ApprovedCopyRow; lines: number } | undefined {
  const decoded = decodeCopyRow(key, r);
  if (!("copy" in decoded)) return undefined;
  const copy = decoded.copy;
  if (typeof copy?.text !== "string" || typeof copy.secrets !== "object" || copy.secrets === null) return undefined;
  let again: ReturnType<typeof remaskedCopy>;
  try {
    again = remaskedCopy(copy, keyLine);
  } catch {
    // a copy this Covenant cannot make sense of is left as it is: the summary it is part of must be written
    return undefined;
  }
  if (again === undefined) return undefined;
  const row = { path: r.path, copy: JSON.stringify(again.copy), record: r.record };
  return { row: { ...row, seal: sealApprovedCopy(key, row) }, lines: again.lines };
}

/** What a run's summary says of it: the copies it masked, or the rewrite it tries again; undefined when neither. */
export function remaskNote(r: Remasked): string | undefined {
  if (r.lastFailure) return `state.db could not be rewritten on ${r.lastFailure.at} (${r.lastFailure.error}) to drop the former text of approved copies an older Covenant kept with secrets in clear, which may remain in its free space: tried again after this summary, and a day later if it fails again`;
  if (r.copies === 0) return undefined;
  const more = r.copies > r.sample.length ? ` and ${r.copies - r.sample.length} more` : "";
  return `masked ${r.lines} line${r.lines === 1 ? "" : "s"} holding secrets in ${r.copies} approved cop${r.copies === 1 ? "y" : "ies"} (${r.sample.join(", ")}${more}), which an older Covenant kept in clear (lines ending in CRLF): no approved copy holds them now, and state.db is rewritten after this summary to drop their former text, though a diff that Covenant recorded in the history may hold them; diffs are unchanged`;
}
