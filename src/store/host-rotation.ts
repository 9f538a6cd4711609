// The rotation of the host key (the HMAC key of the history's chain and of every seal), without
// rewriting history: MACs already written never change, so copies, packs and heads printed by an
// earlier `verify` stay valid. Its steps, each safe to stop after:
//   1. the new key is written whole and exclusively as host.key.next (0600, synced);
//   2. one transaction: the `rotation` record (MAC'd with the old key: it hands over; its body
//      carries `accepted`, an HMAC under the new key: it accepts), every sealed table and the
//      database's head anchor sealed again with the new key, and the schedule (host-keys.ts);
//   3. ledger.head sealed with the new key, the old key added to host.key.retired, and
//      host.key.next renamed over host.key.
// Stopped before 2, host.key.next is named by no record: it is never used, and the next rotation
// replaces it. Stopped after 2, the last rotation names it: it is the key in force, and opening the
// store for writing (or the next `key rotate --host`) finishes step 3.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { closeSync, constants, fsyncSync, openSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import type Database from "better-sqlite3";
import { hostKeyId } from "./deficiencies.js";
import { describeErrno, StoreError } from "./errors.js";
import { readHostKey, weakness } from "./host-key.js";
import { dbHeadOf, runCounter } from "./anchors.js";
import { HostKeys, pendingHostKeyPath, readRetiredText, retiredPath, writeSchedule } from "./host-keys.js";
import { sealHead, type Head } from "./ledger.js";
import { SCHEMA_VERSION } from "./schema.js";
import type { HostRotationBody } from "./records.js";
import type { Rotator } from "./rotation.js";
import { createFileExclusively, replaceFile } from "./safe-files.js";
import { sealApproved, sealApprovedCopy, sealBand, sealBaseline, sealCurrent, sealDeficiency, sealEvent, sealGroup, sealMessage, sealWatcher } from "./seals.js";
import { readMeta, writeMeta } from "./meta.js";

/** The label that starts every host rotation statement: an HMAC over it can mean nothing else. */
const STATEMENT_LABEL = "covenant host key rotation v1";

/** The statement the new key accepts: one field a line, each value as JSON, in a fixed order (as rotation.ts makes the signing key's). */
export function hostRotationStatement(b: Omit<HostRotationBody, "accepted">): Buffer {
  const fields: [string, unknown][] = [
    ["key", b.key],
    ["at", b.at],
    ["old", b.old.id],
    ["new", b.new.id],
    ["reason", b.reason],
    ["by", b.by],
    ["user", b.user],
    ["loginUid", b.loginUid],
  ];
  return Buffer.from(`${STATEMENT_LABEL}\n${fields.map(([k, v]) => `${k} ${JSON.stringify(v)}`).join("\n")}\n`, "utf8");
}

export function acceptance(next: Buffer, b: Omit<HostRotationBody, "accepted">): string {
  return createHmac("sha256", next).update(hostRotationStatement(b)).digest("hex");
}

/** The rotation record's body from `old` to `next`, accepted by `next`. */
export function hostRotationBody(old: Buffer, next: Buffer, who: Rotator): HostRotationBody {
  const b: Omit<HostRotationBody, "accepted"> = { key: "host", at: who.at, old: { id: hostKeyId(old) }, new: { id: hostKeyId(next) }, reason: who.reason, by: who.by, user: who.user, loginUid: who.loginUid };
  return { ...b, accepted: acceptance(next, b) };
}

/** A new random key (never a weak one: weakness() is what readHostKey refuses). */
export function newHostKey(): Buffer {
  for (;;) {
    const key = randomBytes(32);
    if (!weakness(key)) return key;
  }
}

/** Step 1: the new key, whole and exclusively, as host.key.next. */
export function storePendingHostKey(keyPath: string, key: Buffer): void {
  const path = pendingHostKeyPath(keyPath);
  let made: boolean;
  try {
    made = createFileExclusively(path, key.toString("hex") + "\n", { sync: true });
  } catch (err) {
    throw new StoreError(`cannot create the new host key ${path}: ${describeErrno(err)}`);
  }
  if (!made) throw new StoreError(`cannot create the new host key ${path}: a file appeared there while Covenant was making it, so someone else made it; it is not used. Move it aside and keep it as evidence, then try again`);
}

/** A host.key.next no record names (a rotation stopped before its record): it was never in force. Only under the run lock. */
export function discardPendingHostKey(keyPath: string): void {
  try {
    rmSync(pendingHostKeyPath(keyPath), { force: true });
  } catch (err) {
    throw new StoreError(`cannot remove the unfinished rotation's host key ${pendingHostKeyPath(keyPath)}: ${describeErrno(err)}`);
  }
}

/** The sealed tables: each row whose seal is the old key's is sealed again with the new one. */
const SEALED: { table: string; by: string[]; seal: (key: Buffer, row: never) => Buffer }[] = [
  { table: "current", by: ["key"], seal: sealCurrent },
  { table: "baselines", by: ["path"], seal: sealBaseline },
  { table: "bands", by: ["metric", "hour"], seal: sealBand },
  { table: "deficiencies", by: ["id"], seal: sealDeficiency },
  { table: "outbox_events", by: ["seq"], seal: sealEvent },
  { table: "outbox_messages", by: ["id"], seal: sealMessage },
  { table: "notify_groups", by: ["route", "group_key", "recipient"], seal: sealGroup },
  { table: "watcher", by: ["id"], seal: sealWatcher },
  { table: "approved_states", by: ["path"], seal: sealApproved },
  { table: "approved_copies", by: ["path"], seal: sealApprovedCopy },
];

/**
 * Seals every sealed row again with `next`, inside the rotation's transaction. A row whose seal is
 * not the old key's (changed outside Covenant) keeps its seal: a rotation never launders it.
 */
export function resealTables(db: Database.Database, old: Buffer, next: Buffer): void {
  const present = new Set(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]);
  for (const t of SEALED) {
    if (!present.has(t.table)) continue;
    const update = db.prepare(`UPDATE ${t.table} SET seal = ? WHERE ${t.by.map((c) => `${c} = ?`).join(" AND ")}`);
    for (const row of db.prepare(`SELECT * FROM ${t.table}`).all() as Record<string, unknown>[]) {
      const seal = row["seal"];
      const expected = t.seal(old, row as never);
      if (!Buffer.isBuffer(seal) || seal.length !== expected.length || !timingSafeEqual(seal, expected)) continue;
      update.run(t.seal(next, row as never), ...t.by.map((c) => row[c]));
    }
  }
}

/**
 * Step 2 after the rotation record (appended with the old key) in the same transaction: every
 * sealed row, the database's head anchor (naming the rotation record, its other fields as they
 * are), the schedule, and the id of the key in force (a process that opened the store before it
 * finds its key retired: store-core.ts checkKeyInForce) under the new key.
 */
export function handOver(db: Database.Database, keys: HostKeys, written: { seq: number; mac: Buffer }, next: Buffer): void {
  resealTables(db, keys.current, next);
  const anchored = dbHeadOf(db).value as Head;
  writeMeta(db, "head", JSON.stringify(sealHead(next, written.seq, written.mac, { schema: anchored.schema, run: anchored.run, bands: anchored.bands })));
  writeSchedule(db, keys.rotated(written.seq, next).rotations);
  writeMeta(db, "host_key_id", hostKeyId(next));
}

/**
 * A rotation whose record is committed but which did not finish, found as the store is opened for
 * writing (after its anchors vouched for the end): step 3 done, ledger.head naming the last record
 * and the last run begun. Returns the schedule with the new key in host.key.
 */
export function finishOnOpening(db: Database.Database, dir: string, keyPath: string, keys: HostKeys): HostKeys {
  const last = keys.rotations.at(-1)!;
  finishHostRotation(dir, keyPath, last.seq, keys.unfinished!, keys.current, () => {
    const end = db.prepare("SELECT seq, mac FROM ledger ORDER BY seq DESC LIMIT 1").get() as { seq: number; mac: Buffer };
    const schema = Number(readMeta(db, "schema") ?? SCHEMA_VERSION);
    replaceFile(join(dir, "ledger.head"), JSON.stringify(sealHead(keys.current, end.seq, end.mac, { schema, run: runCounter(db) })) + "\n", { sync: true });
  });
  return HostKeys.load(db, dir, keys.current);
}

/**
 * Step 3, after the record is committed: ledger.head sealed with the new key (`writeHead`), the old
 * key kept in host.key.retired, host.key.next renamed over host.key. Each part can be done again:
 * a rotation stopped in the middle of it is finished the same way.
 */
export function finishHostRotation(dir: string, keyPath: string, seq: number, old: Buffer, next: Buffer, writeHead: () => void): void {
  try {
    writeHead();
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new StoreError(`the rotation of the host key is recorded (record ${seq}), but ${why}: the next run, or \`covenant key rotate --host\`, finishes it`);
  }
  keepRetired(dir, seq, old);
  // the retired key on disk before the old key's name is taken: after a power loss, the rename
  // without the kept key would leave the history before the rotation unverifiable for ever
  syncDirectory(dir);
  try {
    renameSync(pendingHostKeyPath(keyPath), keyPath);
    syncDirectory(dirname(keyPath));
  } catch (err) {
    // another process opening the store finished it first (the watcher opens without the run lock)
    if ((err as NodeJS.ErrnoException).code === "ENOENT" && inPlace(keyPath, next)) return;
    throw new StoreError(`the rotation of the host key is recorded (record ${seq}), but the new key could not be put in place of the old (${describeErrno(err)}): the next run, or \`covenant key rotate --host\`, finishes it`);
  }
}

/** A directory's entries made durable (its renames and new names survive a power loss). */
function syncDirectory(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function inPlace(keyPath: string, next: Buffer): boolean {
  try {
    return readHostKey(keyPath, false).equals(next);
  } catch {
    return false;
  }
}

/** Adds the key retired by record `seq` to host.key.retired (0600, replaced whole, never through a link), once. */
function keepRetired(dir: string, seq: number, old: Buffer): void {
  const text = readRetiredText(dir);
  const kept = text.split("\n").find((l) => l.startsWith(`${seq} `));
  if (kept !== undefined) {
    // kept by an earlier attempt at this rotation; a line for it holding another key was put there
    // outside Covenant, and the old key is not thrown away on its word (host.key is not replaced)
    if (kept.slice(kept.indexOf(" ") + 1).trim() === old.toString("hex")) return;
    throw new StoreError(`the rotation of the host key is recorded (record ${seq}), but ${retiredPath(dir)} already holds another key for record ${seq}, which Covenant did not write: the old key is kept in host.key, not replaced; move that line aside, then run \`covenant key rotate --host\` to finish the rotation`);
  }
  try {
    replaceFile(retiredPath(dir), `${text}${seq} ${old.toString("hex")}\n`, { sync: true });
  } catch (err) {
    throw new StoreError(`the rotation of the host key is recorded (record ${seq}), but the retired key could not be kept in ${retiredPath(dir)} (${describeErrno(err)}): the next run, or \`covenant key rotate --host\`, finishes it`);
  }
}
