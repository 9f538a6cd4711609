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
// each descriptor stat'ed once. Processes end while they are read: such a process is skipped,
// never an error, and a pid reused between the scan and the reading of its details is not
// another process's details (the start time is read before and after).
import { lstatSync, readdirSync, readFileSync, readlinkSync, statSync, type Stats } from "node:fs";
import { join } from "node:path";
import { maskedCommandLine } from "../integrity/mask.js";
import { read as readAccounts } from "./accounts.js";
import { read as readLocks, splitDevice, type FileLock } from "./locks.js";
import { parseCmdline, parseStatus, readExecutable, readStat } from "./processes.js";
import type { ProbeRoots } from "./result.js";
import type { FileHolder } from "../text/finding-who-text.js";

/** A file to find holders of: its path (as the caller names it) and the file now there. */
export interface HeldTarget {
  path: string;
  /** stat of the path now (not following a final link); absent when nothing is there */
  dev?: number;
  ino?: number;
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
}

export interface ScanOptions {
  /** stop listing descriptors after this long (ms): the list is then said to be incomplete */
  budgetMs?: number;
  now?: () => number;
}

const DELETED = " (deleted)";

/**
 * The path a descriptor's link text names when the file was deleted or replaced since it was
 * opened, or undefined: "/srv/a (deleted)" → "/srv/a". The text alone proves nothing (a file
 * may be named so): the caller checks the file's link count.
 */
export function deletedName(linkText: string): string | undefined {
  return linkText.startsWith("/") && linkText.endsWith(DELETED) ? linkText.slice(0, -DELETED.length) : undefined;
}

/** The key /proc/locks uses for a file: `major:minor:inode`. */
export function lockKey(dev: number, ino: number): string {
  const { major, minor } = splitDevice(dev);
  return `${major}:${minor}:${ino}`;
}

/** The pids holding locks (held, not waited for) on each target, by device and inode. */
export function lockHolders(locks: readonly FileLock[], targets: readonly HeldTarget[]): Map<string, number[]> {
  const byKey = new Map<string, string[]>();
  for (const t of targets) {
    if (t.dev === undefined || t.ino === undefined) continue;
    const k = lockKey(t.dev, t.ino);
    byKey.set(k, [...(byKey.get(k) ?? []), t.path]);
  }
  const out = new Map<string, number[]>();
  for (const l of locks) {
    if (l.blocked) continue;
    for (const path of byKey.get(`${l.major}:${l.minor}:${l.inode}`) ?? []) {
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
      const st = lstatSync(join(root, path), { throwIfNoEntry: false });
      return st ? { path, dev: st.dev, ino: st.ino } : { path };
    } catch {
      return { path };
    }
  });
}

interface OpenMatch {
  pid: number;
  path: string;
  deleted: boolean;
}

/**
 * Every process's descriptors, matched against the targets; one pass for all of them. A
 * process gone or unreadable midway is passed over (counted in notes when it is unreadable
 * rather than gone).
 */
function scanDescriptors(roots: Pick<ProbeRoots, "proc">, targets: readonly HeldTarget[], opts: ScanOptions, notes: string[]): { matches: OpenMatch[]; processes: number; descriptors: number } {
  const now = opts.now ?? Date.now;
  const started = now();
  const byFile = new Map<string, string[]>();
  const byName = new Map<string, HeldTarget>();
  for (const t of targets) {
    byName.set(t.path, t);
    if (t.dev !== undefined && t.ino !== undefined) byFile.set(`${t.dev}:${t.ino}`, [...(byFile.get(`${t.dev}:${t.ino}`) ?? []), t.path]);
  }
  const matches: OpenMatch[] = [];
  let pids: string[];
  try {
    pids = readdirSync(roots.proc).filter((n) => /^\d+$/.test(n));
  } catch (err) {
    notes.push(`the processes cannot be listed (${(err as NodeJS.ErrnoException).code ?? String(err)}): no open descriptors found`);
    return { matches, processes: 0, descriptors: 0 };
  }
  let denied = 0;
  let descriptors = 0;
  let processes = 0;
  // the inodes sought, to pass over almost every descriptor with one number compared
  const inodes = new Set(targets.flatMap((t) => (t.ino === undefined ? [] : [t.ino])));
  const prefix = roots.proc.endsWith("/") ? roots.proc : `${roots.proc}/`;
  // the watcher's own mount namespace: a deleted file is matched by name only in it (matchDeleted)
  const ownNamespace = mountNamespace(prefix, "self");
  for (const pid of pids) {
    if (opts.budgetMs !== undefined && now() - started > opts.budgetMs) {
      notes.push(`descriptor scan stopped after ${opts.budgetMs} ms: ${pids.length - processes} of ${pids.length} processes not looked at`);
      break;
    }
    processes++;
    const fdDir = `${prefix}${pid}/fd/`;
    let fds: string[];
    try {
      fds = readdirSync(fdDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") denied++;
      continue;
    }
    for (const fd of fds) {
      descriptors++;
      const link = fdDir + fd;
      let st: Stats | undefined;
      try {
        st = statSync(link, { throwIfNoEntry: false });
      } catch {
        continue; // closed between listing and reading, or a file this process cannot reach
      }
      if (!st) continue;
      if (inodes.has(st.ino)) for (const path of byFile.get(`${st.dev}:${st.ino}`) ?? []) matches.push({ pid: Number(pid), path, deleted: false });
      if (st.nlink === 0 && byName.size > 0) matchDeleted(link, st, byName, Number(pid), matches, ownNamespace, prefix);
    }
  }
  if (denied > 0) notes.push(`${denied} process${denied === 1 ? "'s" : "es'"} descriptors could not be listed (another user's: run as root)`);
  return { matches, processes, descriptors };
}

/**
 * The mount namespace of a process (the inode of /proc/PID/ns/mnt), or undefined when it cannot
 * be read (a fixture /proc, a process gone).
 */
function mountNamespace(proc: string, pid: string): number | undefined {
  try {
    return statSync(`${proc}${pid}/ns/mnt`).ino;
  } catch {
    return undefined;
  }
}

/**
 * A descriptor on a file with no links left, whose former name is a target on the target's file
 * system, held by a process that sees the watcher's mounts. The former name is a path in the
 * holder's mount namespace: a user may make one of their own (unshare -Urm) and bind their
 * directory over the watched one, so that a file of theirs, opened and removed, reads
 * "/srv/ledger.dat (deleted)" on the same file system.
 */
function matchDeleted(link: string, st: Stats, byName: Map<string, HeldTarget>, pid: number, matches: OpenMatch[], ownNamespace: number | undefined, proc: string): void {
  if (ownNamespace !== undefined && mountNamespace(proc, String(pid)) !== ownNamespace) return;
  let text: string;
  try {
    text = readlinkSync(link);
  } catch {
    return;
  }
  const name = deletedName(text);
  const t = name === undefined ? undefined : byName.get(name);
  if (!t || (t.dev !== undefined && t.dev !== st.dev) || (t.ino !== undefined && t.ino === st.ino)) return;
  matches.push({ pid, path: t.path, deleted: true });
}

/** The details of a holder: effective user, executable, masked command line; undefined fields when unreadable. */
export function holderDetails(roots: Pick<ProbeRoots, "proc">, pid: number, userName: (uid: number) => string | undefined): Omit<HolderProcess, "via"> | undefined {
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
    out.commandLine = maskedCommandLine(parseCmdline(readFileSync(join(dir, "cmdline"), "utf8")));
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
 * The holders of each target: lock holders first, then processes with it open (a process both
 * locking and holding it open appears under both). Never throws.
 */
export function scanHolders(roots: Pick<ProbeRoots, "proc" | "etc">, targets: readonly HeldTarget[], opts: ScanOptions = {}): HoldersScan {
  const now = opts.now ?? Date.now;
  const started = now();
  const notes: string[] = [];
  const holders = new Map<string, HolderProcess[]>(targets.map((t) => [t.path, []]));
  const accounts = readAccounts(roots);
  const users = accounts.ok ? accounts.value.userByUid : new Map<number, { name: string }>();
  const userName = (uid: number) => users.get(uid)?.name;
  const details = new Map<number, Omit<HolderProcess, "via"> | undefined>();
  const detailOf = (pid: number) => {
    if (!details.has(pid)) details.set(pid, holderDetails(roots, pid, userName));
    return details.get(pid);
  };
  const locks = readLocks(roots);
  if (!locks.ok) notes.push(`locks cannot be read: ${locks.error.message}`);
  const locked = locks.ok ? lockHolders(locks.value, targets) : new Map<string, number[]>();
  const scan = scanDescriptors(roots, targets, opts, notes);
  for (const [path, pids] of locked) {
    for (const pid of pids) {
      const d = detailOf(pid);
      if (d) holders.get(path)!.push({ ...d, via: "lock" });
    }
  }
  const seen = new Set<string>();
  for (const m of scan.matches) {
    const key = `${m.path}\0${m.pid}\0${m.deleted}`;
    if (seen.has(key)) continue; // several descriptors on one file
    seen.add(key);
    const d = detailOf(m.pid);
    if (d) holders.get(m.path)!.push({ ...d, via: "open", ...(m.deleted ? { deleted: true } : {}) });
  }
  return { holders, notes, tookMs: now() - started, processes: scan.processes, descriptors: scan.descriptors };
}
