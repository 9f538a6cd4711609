// Processes from /proc/[pid]/stat, status and cmdline (and exe, only when a promise asks), and
// which process owns which socket (through /proc/[pid]/fd). Processes come and go while they
// are read: one that vanishes midway is a counted skip, never an error and never half a record.
import { readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { join, resolve as resolvePath } from "node:path";
import { identityOfPath, identityOfStats, sameObject, type FileIdentity } from "./file-identity.js";
import { fail, fromFsError, ok, type ProbeResult, type ProbeRoots, type Skip } from "./result.js";

/** USER_HZ: the unit of times in /proc/[pid]/stat, 100 on every Linux architecture. */
export const CLOCK_TICKS = 100;

export interface StatFields {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  /** clock ticks after boot */
  startTicks: number;
}

/**
 * Parses /proc/[pid]/stat. The command name sits between the first `(` and the LAST `)`, since
 * a name may itself contain spaces and parentheses (`(sd-pam)`, `a) b`).
 */
export function parseStat(text: string): StatFields | undefined {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 1 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  // after the name: state(3) ppid(4) ... starttime(22) → rest[0] is field 3
  if (!Number.isInteger(pid) || rest.length < 20) return undefined;
  const ppid = Number(rest[1]);
  const startTicks = Number(rest[19]);
  if (!/^\d+$/.test(rest[1]!) || !/^\d+$/.test(rest[19]!) || !Number.isSafeInteger(startTicks)) return undefined;
  return { pid, comm: text.slice(open + 1, close), state: rest[0]!, ppid, startTicks };
}

export interface StatusFields {
  name: string;
  uid: number;
  euid: number;
  gid: number;
}

/** Parses /proc/[pid]/status: the name and the real and effective user and group ids. */
export function parseStatus(text: string): StatusFields | undefined {
  const field = (key: string) => new RegExp(`^${key}:[ \\t]*(.*?)\\r?$`, "m").exec(text)?.[1];
  // real, effective, saved and file-system ids: four whole numbers, nothing else
  const ids = (key: string) => {
    const f = field(key)?.trim().split(/\s+/);
    return f && f.length === 4 && f.every((x) => /^\d+$/.test(x)) ? f.map(Number) : undefined;
  };
  const uids = ids("Uid");
  const gids = ids("Gid");
  const name = field("Name");
  if (name === undefined || !uids || !gids) return undefined;
  return { name, uid: uids[0]!, euid: uids[1]!, gid: gids[0]! };
}

/** Parses /proc/[pid]/cmdline: NUL-separated arguments (empty for kernel threads). */
export function parseCmdline(text: string): string[] {
  const args = text.split("\0");
  if (args.at(-1) === "") args.pop();
  return args;
}

/** Boot time from the `btime` line of /proc/stat, in ms since the epoch. */
export function parseBootTime(text: string): number | undefined {
  const m = /^btime\s+(\d{1,12})\r?$/m.exec(text);
  return m ? Number(m[1]) * 1000 : undefined;
}

/** A process's stat fields now, or undefined when it is gone (or its stat cannot be parsed). */
export function readStat(roots: Pick<ProbeRoots, "proc">, pid: number): StatFields | undefined {
  try {
    return parseStat(readFileSync(join(roots.proc, String(pid), "stat"), "utf8"));
  } catch {
    return undefined;
  }
}

export function readBootTime(roots: Pick<ProbeRoots, "proc">): number | undefined {
  try {
    return parseBootTime(readFileSync(join(roots.proc, "stat"), "latin1"));
  } catch {
    return undefined;
  }
}

/** When a process started, from its start ticks and the boot time; undefined when that is no real date. */
export function startedAt(bootTimeMs: number, startTicks: number): Date | undefined {
  const d = new Date(bootTimeMs + (startTicks / CLOCK_TICKS) * 1000);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

export interface ProcessInfo {
  pid: number;
  ppid: number;
  comm: string;
  state: string;
  uid: number;
  euid: number;
  gid: number;
  argv: string[];
  startTicks: number;
}

function pids(roots: Pick<ProbeRoots, "proc">): number[] {
  return readdirSync(roots.proc)
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .sort((a, b) => a - b);
}

export function readProcess(roots: Pick<ProbeRoots, "proc">, pid: number): ProbeResult<ProcessInfo> {
  const dir = join(roots.proc, String(pid));
  let stat: StatFields | undefined;
  let status: StatusFields | undefined;
  let argv: string[];
  try {
    stat = parseStat(readFileSync(join(dir, "stat"), "utf8"));
    status = parseStatus(readFileSync(join(dir, "status"), "utf8"));
    argv = parseCmdline(readFileSync(join(dir, "cmdline"), "utf8"));
  } catch (err) {
    return fromFsError(err, dir);
  }
  if (!stat) return { ok: false, error: { code: "malformed", message: `cannot parse ${join(dir, "stat")}`, path: join(dir, "stat") } };
  if (!status) return { ok: false, error: { code: "malformed", message: `cannot parse ${join(dir, "status")}`, path: join(dir, "status") } };
  return ok({ pid, ppid: stat.ppid, comm: stat.comm, state: stat.state, uid: status.uid, euid: status.euid, gid: status.gid, argv, startTicks: stat.startTicks });
}

/** Every process; those that vanish or cannot be parsed while being read are counted skips. */
export function readProcesses(roots: Pick<ProbeRoots, "proc">): ProbeResult<ProcessInfo[]> {
  let list: number[];
  try {
    list = pids(roots);
  } catch (err) {
    return fromFsError(err, roots.proc);
  }
  const out: ProcessInfo[] = [];
  const skipped: Skip[] = [];
  for (const pid of list) {
    const r = readProcess(roots, pid);
    if (r.ok) out.push(r.value);
    else skipped.push({ path: r.error.path ?? join(roots.proc, String(pid)), reason: r.error.code === "not-found" ? "process ended while being read" : r.error.message });
  }
  return ok(out, skipped);
}

/** The program a process runs, from /proc/[pid]/exe. */
export interface Executable {
  /** the path the kernel gives, without the ` (deleted)` it appends for a file since deleted */
  path: string;
  /** the file was deleted or replaced since the process started it (an upgrade, or a program removed to hide) */
  deleted: boolean;
  /** the file the process runs (its device and inode, exactly), whatever the path says */
  file?: FileIdentity;
}

const DELETED = " (deleted)";

/**
 * The executable a process runs, read from the /proc/[pid]/exe link. Unlike the name (comm) and
 * the command line, which the process itself or whoever starts it can set to anything, the
 * kernel sets this at exec, so it names the program the process really runs. Read only when a
 * promise asks for it (one readlink per process). `null`: the process has no executable (a
 * kernel thread). When `expected` is given, the process's start time and name are read again
 * afterwards: a pid reused, or a process that exec'd another program, since the process table
 * was read is `not-found`, never another process's executable. Another user's process needs
 * root (`denied`).
 */
export function readExecutable(roots: Pick<ProbeRoots, "proc">, pid: number, expected?: { startTicks: number; comm: string }): ProbeResult<Executable | null> {
  const link = join(roots.proc, String(pid), "exe");
  let target: string | undefined;
  try {
    target = readlinkSync(link);
  } catch (err) {
    // ENOENT for a live process: it has no executable (a kernel thread, or a zombie)
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") return fromFsError(err, link);
  }
  if (expected) {
    const now = readStat(roots, pid);
    if (!now || now.startTicks !== expected.startTicks || now.comm !== expected.comm) return fail("not-found", `process ${pid} ended or ran another program while being read`, link);
  } else if (target === undefined && readStat(roots, pid) === undefined) return fail("not-found", `process ${pid} ended while being read`, link);
  if (target === undefined) return ok(null);
  const file = fileOf(link);
  // a path may itself end in " (deleted)": only a file with no links left is one deleted
  const exe: Executable = target.endsWith(DELETED) && file?.nlink === 0 ? { path: target.slice(0, -DELETED.length), deleted: true } : { path: target, deleted: false };
  if (file) exe.file = file.identity;
  return ok(exe);
}

/** The file behind /proc/PID/exe (stat follows the kernel's link to the very file the process runs). */
function fileOf(exeLink: string): { identity: FileIdentity; nlink: number } | undefined {
  try {
    const st = statSync(exeLink, { bigint: true });
    return { identity: identityOfStats(st), nlink: Number(st.nlink) };
  } catch {
    return undefined;
  }
}

/**
 * Which of the promised programs a process runs, judged on the file, not on the path the kernel
 * shows: that path is the one the program had in the process's own mount namespace, so any user
 * who can make a namespace (unprivileged user namespaces) can run a copy from a private tmpfs
 * mounted at /usr/local/sbin and show "/usr/local/sbin/ledger-postd". The process runs the
 * promised program only if its executable is the same file (device and inode) as the promised
 * path on the host (read through PROC/1/root when --proc-root is not this process's /proc). A
 * deleted file is no longer the installed program: it never matches.
 */
export function runsProgram(roots: Pick<ProbeRoots, "proc">, exe: Executable | null, promised: string[]): string | undefined {
  if (!exe || exe.deleted || !exe.file || !promised.includes(exe.path)) return undefined;
  const onHost = resolvePath(roots.proc) === "/proc" ? exe.path : join(roots.proc, "1", "root", exe.path);
  try {
    return sameObject(identityOfPath(onHost, true), exe.file) ? exe.path : undefined;
  } catch {
    return undefined;
  }
}

/** Why a process does not run a promised program, for notes and reasons. */
export function programText(exe: Executable | null, promised: string[]): string {
  if (!exe) return "no executable";
  if (exe.deleted) return `${exe.path} (deleted or replaced since it started: not the installed program)`;
  if (promised.includes(exe.path)) return `a file shown as ${exe.path} that is not the installed ${exe.path} (another mount namespace's, or a copy)`;
  return exe.path;
}

/**
 * Socket inode → the processes holding it (a socket can be shared after fork). Processes whose
 * descriptors cannot be listed (another user's, when not root) are counted skips.
 */
export function readSocketOwners(roots: Pick<ProbeRoots, "proc">): ProbeResult<Map<number, number[]>> {
  let list: number[];
  try {
    list = pids(roots);
  } catch (err) {
    return fromFsError(err, roots.proc);
  }
  const owners = new Map<number, number[]>();
  const skipped: Skip[] = [];
  for (const pid of list) {
    const fdDir = join(roots.proc, String(pid), "fd");
    let fds: string[];
    try {
      fds = readdirSync(fdDir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      skipped.push({ path: fdDir, reason: code === "ENOENT" ? "process ended while being read" : `cannot list descriptors (${code})` });
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(join(fdDir, fd));
      } catch {
        continue; // the descriptor was closed between listing and reading: nothing to own
      }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (!m) continue;
      const inode = Number(m[1]);
      const holders = owners.get(inode);
      if (!holders) owners.set(inode, [pid]);
      else if (!holders.includes(pid)) holders.push(pid);
    }
  }
  return ok(owners, skipped);
}
