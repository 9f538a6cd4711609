// Who is at a file: the processes holding a lock on it (/proc/locks) and the processes that have
// it open (/proc/PID/fd), each with its effective user, executable and command line. Used by
// `covenant watch` at the moment a change is seen (issue 15): a writer that lives a few
// milliseconds is gone by the next run.
//
// A descriptor is matched by the device and inode of the file it reaches (stat follows the
// kernel's magic link to the very file the process holds), never by the text of the link: that
// text is a path the process's mount namespace and the file's own name decide, and a file named
// "/srv/ledger.dat (deleted)" reads like a deleted ledger. The one use of the text is a file
// deleted or replaced since it was opened (an editor's rename, `sed -i`): the kernel keeps only
// its former name, so such a descriptor is reported when its text is the watched path followed
// by " (deleted)", the file it reaches has no links left and lies on the watched path's file
// system, the process is in the watcher's mount namespace, and it says that it was matched by name.
//
// One scan serves all paths of a batch: every process's descriptor directory is listed once and
// each descriptor stat'ed once, off the event loop (fd-scan.ts: native/fd_scan.c on libuv's
// threadpool, or JavaScript in slices when the addon is missing). Processes end while they are
// read: such a process is skipped, never an error, and a pid reused between the scan and the
// reading of its details is not another process's details (the native scan reads them through
// the directory it scanned, which is that process's whatever becomes of its pid; the JavaScript
// one reads the start time before and after).
import { lstatSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { maskedCommandLine, type SecretPattern } from "../integrity/mask.js";
import { read as readAccounts } from "./accounts.js";
import { scanDescriptors, Slicer, type DescriptorScanOptions, type ScanEngine } from "./fd-scan.js";
import { identityOfStats } from "./file-identity.js";
import { keyOfLock, lockKeyOf, readAsync as readLocksAsync, type FileLock } from "./locks.js";
import { parseCmdline, parseStat, parseStatus, readExecutable, readStat } from "./processes.js";
import type { FdScanHolder } from "../native/fd-scan.js";
import type { ProbeRoots } from "./result.js";
import type { FileHolder } from "../text/finding-who-text.js";

export { deletedName } from "./fd-scan.js";

/** A file to find holders of: its path (as the caller names it) and the file now there. */
export interface HeldTarget {
  path: string;
  /** the identity of the file at the path now (lstat: not following a final link); absent when nothing is there */
  dev?: number;
  /** its inode number in decimal, every digit (FileIdentity's: a double rounds it above 2^53) */
  ino?: string;
}

/** A process at the file (the finding's shape, text/finding-who-text.ts). */
export type HolderProcess = FileHolder;

export interface HoldersScan {
  /** path → its holders, every target present (an empty list: nobody) */
  holders: Map<string, HolderProcess[]>;
  /** what could not be looked at, in words (another user's process when not root, the time budget) */
  notes: string[];
  /** how long the scan took, ms */
  tookMs: number;
  processes: number;
  descriptors: number;
  /** which engine listed the descriptors (fd-scan.ts) */
  engine: ScanEngine;
}

/** budgetMs: stop listing descriptors after this long (the list is then said to be incomplete); engine: fd-scan.ts */
export interface ScanOptions extends DescriptorScanOptions {
  /** what command lines are masked with (the built-in patterns and the policy's `mask`s; DEFAULT_SECRET_PATTERNS) */
  secretPatterns?: readonly SecretPattern[];
}

/** The key /proc/locks uses for a file: `major:minor:inode`, the inode every digit. */
export { lockKeyOf as lockKey } from "./locks.js";

/** The pids holding locks (held, not waited for) on each target, by device and inode. */
export function lockHolders(locks: readonly FileLock[], targets: readonly HeldTarget[]): Map<string, number[]> {
  const byKey = new Map<string, string[]>();
  for (const t of targets) {
    if (t.dev === undefined || t.ino === undefined) continue;
    const k = lockKeyOf(t.dev, t.ino);
    byKey.set(k, [...(byKey.get(k) ?? []), t.path]);
  }
  const out = new Map<string, number[]>();
  for (const l of locks) {
    if (l.blocked) continue;
    for (const path of byKey.get(keyOfLock(l)) ?? []) {
      const pids = out.get(path) ?? [];
      if (!pids.includes(l.pid)) pids.push(l.pid);
      out.set(path, pids);
    }
  }
  return out;
}

/** The target now at each path (lstat: a final link is the link itself). */
export function targetsOf(paths: readonly string[], root = "/"): HeldTarget[] {
  return paths.map((path) => {
    try {
      const st = lstatSync(join(root, path), { bigint: true, throwIfNoEntry: false });
      return st ? { path, ...identityOfStats(st) } : { path };
    } catch {
      return { path };
    }
  });
}

/** The details of a holder: effective user, executable, masked command line; undefined fields when unreadable. */
export function holderDetails(roots: Pick<ProbeRoots, "proc">, pid: number, userName: (uid: number) => string | undefined, mask: (argv: string[]) => string = maskedCommandLine): Omit<HolderProcess, "via"> | undefined {
  if (pid <= 0) return { pid };
  const before = readStat(roots, pid);
  if (!before) return undefined; // ended
  const out: Omit<HolderProcess, "via"> = { pid };
  const dir = join(roots.proc, String(pid));
  try {
    const status = parseStatus(readFileSync(join(dir, "status"), "utf8"));
    if (status) {
      out.uid = status.euid;
      const name = userName(status.euid);
      if (name !== undefined) out.user = name;
    }
  } catch {
    // ended: found out below
  }
  try {
    out.commandLine = mask(parseCmdline(readFileSync(join(dir, "cmdline"), "utf8")));
  } catch {
    // ended, or unreadable
  }
  const exe = readExecutable(roots, pid, { startTicks: before.startTicks, comm: before.comm });
  if (exe.ok && exe.value) out.exe = exe.value.deleted ? `${exe.value.path} (deleted)` : exe.value.path;
  const after = readStat(roots, pid);
  // a pid that ended, or was reused by another process, while being read: none of this is its
  if (!after || after.startTicks !== before.startTicks) return undefined;
  return out;
}

/**
 * holderDetails from the files the native scan read through the process's directory (the very
 * process, whatever became of its pid since): by the same rules, the start time and name read
 * before and after the others.
 */
export function detailsFromTexts(h: FdScanHolder, userName: (uid: number) => string | undefined, mask: (argv: string[]) => string = maskedCommandLine): Omit<HolderProcess, "via"> | undefined {
  const before = h.stat === undefined ? undefined : parseStat(h.stat);
  const after = h.statAfter === undefined ? undefined : parseStat(h.statAfter);
  // ended while being read (its files then read empty or not at all)
  if (!before || !after || after.startTicks !== before.startTicks) return undefined;
  const out: Omit<HolderProcess, "via"> = { pid: h.pid };
  const status = h.status === undefined ? undefined : parseStatus(h.status);
  if (status) {
    out.uid = status.euid;
    const name = userName(status.euid);
    if (name !== undefined) out.user = name;
  }
  if (h.cmdline !== undefined) out.commandLine = mask(parseCmdline(h.cmdline));
  // the link's text, " (deleted)" included when the program was removed or replaced; not when it ran another meanwhile
  if (h.exe !== undefined && after.comm === before.comm) out.exe = h.exe;
  return out;
}

/**
 * The holders of each target: lock holders first, then processes with it open (a process both
 * locking and holding it open appears under both). Never rejects. The descriptors are listed
 * off the event loop (fd-scan.ts) while the locks and accounts are read here.
 */
export async function scanHolders(roots: Pick<ProbeRoots, "proc" | "etc">, targets: readonly HeldTarget[], opts: ScanOptions = {}): Promise<HoldersScan> {
  const now = opts.now ?? Date.now;
  const started = now();
  const notes: string[] = [];
  const scanNotes: string[] = [];
  // /proc/locks, read beside the descriptor scan: its read can take longer than the scan itself
  const locksRead = readLocksAsync(roots);
  const scanning = scanDescriptors(roots, targets, opts, scanNotes);
  const holders = new Map<string, HolderProcess[]>(targets.map((t) => [t.path, []]));
  const accounts = readAccounts(roots);
  const users = accounts.ok ? accounts.value.userByUid : new Map<number, { name: string }>();
  const userName = (uid: number) => users.get(uid)?.name;
  const details = new Map<number, Omit<HolderProcess, "via"> | undefined>();
  // masking a long command line costs a fraction of a millisecond, and a pool of workers holding
  // a log file often shares one: masked once a scan
  const maskedOnce = new Map<string, string>();
  const mask = (argv: string[]) => {
    const key = argv.join("\0");
    if (!maskedOnce.has(key)) maskedOnce.set(key, maskedCommandLine(argv, opts.secretPatterns));
    return maskedOnce.get(key)!;
  };
  const detailOf = (pid: number) => {
    if (!details.has(pid)) details.set(pid, holderDetails(roots, pid, userName, mask));
    return details.get(pid);
  };
  const opened = new Map<number, Omit<HolderProcess, "via"> | undefined>();
  // a process with the file open: its details as the native scan read them, else read now
  const openerOf = (pid: number, read: FdScanHolder | undefined) => {
    if (!read) return detailOf(pid);
    if (!opened.has(pid)) opened.set(pid, detailsFromTexts(read, userName, mask));
    return opened.get(pid);
  };
  const locks = await locksRead;
  if (!locks.ok) notes.push(`locks cannot be read: ${locks.error.message}`);
  const locked = locks.ok ? lockHolders(locks.value, targets) : new Map<string, number[]>();
  // this process (the watcher hashing the file for an earlier change while the scan runs on its
  // thread) is never who was at it; a fixture /proc's pids are not this host's
  const ownPid = roots.proc === "/proc" ? process.pid : undefined;
  const scan = await scanning;
  notes.push(...scanNotes);
  for (const [path, pids] of locked) {
    for (const pid of pids) {
      if (pid === ownPid) continue;
      const d = detailOf(pid);
      if (d) holders.get(path)!.push({ ...d, via: "lock" });
    }
  }
  const seen = new Set<string>();
  // many holders' details take a while: the event loop gets its turns meanwhile
  const slicer = new Slicer();
  for (const m of scan.matches) {
    await slicer.maybeYield();
    if (m.pid === ownPid) continue;
    const key = `${m.path}\0${m.pid}\0${m.deleted}`;
    if (seen.has(key)) continue; // several descriptors on one file
    seen.add(key);
    const d = openerOf(m.pid, scan.holders?.get(m.pid));
    if (d) holders.get(m.path)!.push({ ...d, via: "open", ...(m.deleted ? { deleted: true } : {}) });
  }
  return { holders, notes, tookMs: now() - started, processes: scan.processes, descriptors: scan.descriptors, engine: scan.engine };
}
