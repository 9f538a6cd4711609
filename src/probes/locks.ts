// File locks from /proc/locks, resolved to the files a promise names (by device and inode)
// and to the processes holding them. The inode is matched by every digit: /proc/locks prints it
// in full, and above 2^53 (overlayfs with xino: from 2^63 up) a double would take the lock on a
// neighbour for a lock on the file (file-identity.ts).
import { lstatSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { identityOfStats, inodeExactOfBigInt } from "./file-identity.js";
import { fail, fromFsError, ok, readText, readTextAsync, type ProbeResult, type ProbeRoots, type Skip } from "./result.js";

export type LockKind = "posix" | "flock" | "ofd" | "lease" | "delegation";

export interface FileLock {
  id: number;
  kind: LockKind;
  /** a process waiting for this lock rather than holding it (`->` in /proc/locks) */
  blocked: boolean;
  mandatory: boolean;
  access: "read" | "write" | "none";
  /** the holder; -1 when the kernel does not know it (older kernels' OFD locks) */
  pid: number;
  major: number;
  minor: number;
  /** the nearest double: exact below 2^53 */
  inode: number;
  /** at 2^53 and above only: the inode number's decimal text, every digit (as FileStat's) */
  inodeExact?: string;
  start: number;
  /** byte after the last one locked; Infinity for `EOF` */
  end: number;
}

const kinds: Record<string, LockKind> = { POSIX: "posix", FLOCK: "flock", OFDLCK: "ofd", LEASE: "lease", DELEG: "delegation" };

/** Parses /proc/locks; lines that do not have its shape are counted skips. */
export function parse(text: string, path = "/proc/locks"): { locks: FileLock[]; skipped: Skip[] } {
  const locks: FileLock[] = [];
  const skipped: Skip[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    const f = line.trim().split(/\s+/);
    const skip = (reason: string) => skipped.push({ path, line: i + 1, reason });
    const id = /^(\d+):$/.exec(f[0] ?? "");
    if (!id) return skip("expected a lock number such as `1:`");
    let k = 1;
    const blocked = f[k] === "->";
    if (blocked) k++;
    const kind = kinds[f[k] ?? ""];
    if (!kind) return skip(`unknown lock type \`${f[k]}\``);
    // leases print their state (ACTIVE, BREAKING, ...) where other locks print the mode
    const modeText = f[k + 1] ?? "";
    const accessText = f[k + 2] ?? "";
    const pidText = f[k + 3] ?? "";
    const dev = /^([0-9a-f]+):([0-9a-f]+):(\d+)$/i.exec(f[k + 4] ?? "");
    const startText = f[k + 5] ?? "";
    const endText = f[k + 6] ?? "";
    if (!dev || !/^-?\d+$/.test(pidText) || !/^\d+$/.test(startText) || !/^(\d+|EOF)$/.test(endText)) return skip("malformed pid, device, inode or range");
    const access = accessText === "READ" ? "read" : accessText === "WRITE" ? "write" : accessText === "UNLCK" || accessText === "NONE" ? "none" : undefined;
    if (!access) return skip(`unknown access \`${accessText}\``);
    const inode = BigInt(dev[3]!);
    if (inode >= 2n ** 64n) return skip("malformed pid, device, inode or range");
    const inodeExact = inodeExactOfBigInt(inode);
    locks.push({
      id: Number(id[1]),
      kind,
      blocked,
      mandatory: modeText === "MANDATORY",
      access,
      pid: Number(pidText),
      major: parseInt(dev[1]!, 16),
      minor: parseInt(dev[2]!, 16),
      inode: Number(inode),
      ...(inodeExact === undefined ? {} : { inodeExact }),
      start: Number(startText),
      // offsets past 2^53 can only be OFFSET_MAX (2^63 - 1): the end of any file
      end: endText === "EOF" || !Number.isSafeInteger(Number(endText)) ? Infinity : Number(endText),
    });
  });
  return { locks, skipped };
}

export function read(roots: Pick<ProbeRoots, "proc">): ProbeResult<FileLock[]> {
  const path = join(roots.proc, "locks");
  const read = readText(path);
  if (!read.ok) return read.result;
  const { locks, skipped } = parse(read.text, path);
  return ok(locks, skipped);
}

/** read, off the event loop: the kernel takes several ms to start a read of /proc/locks not read in the last moments (file-holders.ts reads it beside its descriptor scan). */
export async function readAsync(roots: Pick<ProbeRoots, "proc">): Promise<ProbeResult<FileLock[]>> {
  const path = join(roots.proc, "locks");
  const read = await readTextAsync(path);
  if (!read.ok) return read.result;
  const { locks, skipped } = parse(read.text, path);
  return ok(locks, skipped);
}

/** Major and minor numbers of a device number as glibc's gnu_dev_major/minor split them. */
export function splitDevice(dev: number): { major: number; minor: number } {
  const big = BigInt(dev);
  const u32 = 0xffffffffn; // glibc casts the shifted halves to unsigned int
  const major = Number(((big >> 8n) & 0xfffn) | ((big >> 32n) & u32 & ~0xfffn));
  const minor = Number((big & 0xffn) | ((big >> 12n) & u32 & ~0xffn));
  return { major, minor };
}

/** A lock's inode number in decimal, every digit (a FileIdentity's `ino`). */
export function lockInode(l: Pick<FileLock, "inode" | "inodeExact">): string {
  return l.inodeExact ?? String(l.inode);
}

/** The key /proc/locks gives a file by: `major:minor:inode`, the inode every digit. */
export function lockKeyOf(dev: number, ino: string): string {
  const { major, minor } = splitDevice(dev);
  return `${major}:${minor}:${ino}`;
}

/** A lock's own key, as lockKeyOf gives its file's. */
export function keyOfLock(l: Pick<FileLock, "major" | "minor" | "inode" | "inodeExact">): string {
  return `${l.major}:${l.minor}:${lockInode(l)}`;
}

export interface LockOnPath extends FileLock {
  path: string;
}

/**
 * Locks on the given files, or on the files below the given directories (to `maxDepth`),
 * matched by device and inode since /proc/locks names no paths.
 */
export function locksUnder(locks: FileLock[], paths: string[], maxDepth = 8): ProbeResult<LockOnPath[]> {
  const byKey = new Map<string, string>();
  const skipped: Skip[] = [];
  const visit = (path: string, depth: number) => {
    let st;
    try {
      st = statSync(path, { bigint: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      let dangling = false;
      try {
        dangling = code === "ENOENT" && lstatSync(path).isSymbolicLink();
      } catch {
        // gone altogether
      }
      skipped.push({ path, reason: dangling ? "dangling symbolic link" : code === "ENOENT" ? "vanished while being read" : `cannot stat (${code})` });
      return;
    }
    const id = identityOfStats(st);
    byKey.set(lockKeyOf(id.dev, id.ino), path);
    if (!st.isDirectory()) return;
    if (depth >= maxDepth) {
      skipped.push({ path, reason: `not searched: deeper than ${maxDepth} levels` });
      return;
    }
    let names: string[];
    try {
      names = readdirSync(path);
    } catch (err) {
      skipped.push({ path, reason: `cannot list (${(err as NodeJS.ErrnoException).code})` });
      return;
    }
    for (const n of names) visit(join(path, n), depth + 1);
  };
  for (const p of paths) {
    try {
      statSync(p);
    } catch (err) {
      return fromFsError(err, p);
    }
    visit(p, 0);
  }
  const out: LockOnPath[] = [];
  for (const l of locks) {
    const path = byKey.get(keyOfLock(l));
    if (path !== undefined) out.push({ ...l, path });
  }
  return ok(out, skipped);
}

/** The locks on one file, matched by device and inode (paths do not appear in /proc/locks). */
export function locksOnFile(locks: FileLock[], path: string): ProbeResult<FileLock[]> {
  let st;
  try {
    st = statSync(path, { bigint: true });
  } catch (err) {
    return fromFsError(err, path);
  }
  if (!st.isFile() && !st.isDirectory()) return fail("malformed", `${path} is not a file`, path);
  const id = identityOfStats(st);
  const key = lockKeyOf(id.dev, id.ino);
  return ok(locks.filter((l) => keyOfLock(l) === key));
}
