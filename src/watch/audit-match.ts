// Which audit events changed a path, and what they say of who made the change. An event
// touches a path when one of its PATH items names it (a relative name resolved against the
// event's working directory, only when the syscall resolved it from there) or names the very
// file (device and inode), as a call through a descriptor (fchmod, ftruncate) or relative to
// another directory (openat with a directory descriptor) can only be matched.
import { posix } from "node:path";
import type { AuditedChange } from "../evaluator/file-finding.js";
import type { AuditEvent, AuditPathItem } from "./audit-records.js";

/** A path and the files (device `major:minor` in decimal, inode number in decimal, every digit) that were at it. */
export interface AuditTarget {
  path: string;
  files: { dev: string; ino: string }[];
}

const AT_FDCWD = "ffffff9c";
const UNSET_ID = "4294967295";

// The file-changing syscalls by number, for logs in the RAW format (no interpretation).
const X86_64: Record<number, string> = {
  2: "open", 76: "truncate", 77: "ftruncate", 82: "rename", 83: "mkdir", 84: "rmdir", 85: "creat", 86: "link", 87: "unlink", 88: "symlink", 90: "chmod", 91: "fchmod", 92: "chown", 93: "fchown", 94: "lchown", 132: "utime", 133: "mknod", 188: "setxattr", 189: "lsetxattr", 190: "fsetxattr", 197: "removexattr", 198: "lremovexattr", 199: "fremovexattr", 235: "utimes", 257: "openat", 258: "mkdirat", 259: "mknodat", 260: "fchownat", 261: "futimesat", 263: "unlinkat", 264: "renameat", 265: "linkat", 266: "symlinkat", 268: "fchmodat", 280: "utimensat", 316: "renameat2", 437: "openat2", 452: "fchmodat2",
};
const GENERIC: Record<number, string> = {
  5: "setxattr", 6: "lsetxattr", 7: "fsetxattr", 14: "removexattr", 15: "lremovexattr", 16: "fremovexattr", 33: "mknodat", 34: "mkdirat", 35: "unlinkat", 36: "symlinkat", 37: "linkat", 38: "renameat", 45: "truncate", 46: "ftruncate", 52: "fchmod", 53: "fchmodat", 54: "fchownat", 55: "fchown", 56: "openat", 88: "utimensat", 276: "renameat2", 437: "openat2", 452: "fchmodat2",
};
const BY_ARCH: Record<string, Record<number, string>> = { c000003e: X86_64, c00000b7: GENERIC };

/** The arguments (a0..a3) that are directory descriptors a relative name is resolved from. */
const DIRFD_ARGS: Record<string, string[]> = {
  openat: ["a0"], openat2: ["a0"], mkdirat: ["a0"], mknodat: ["a0"], fchownat: ["a0"], futimesat: ["a0"], unlinkat: ["a0"], renameat: ["a0", "a2"], renameat2: ["a0", "a2"], linkat: ["a0", "a2"], symlinkat: ["a1"], fchmodat: ["a0"], fchmodat2: ["a0"], utimensat: ["a0"],
};
/** Syscalls that resolve a relative name from the working directory, always. */
const FROM_CWD = new Set(["open", "creat", "truncate", "rename", "mkdir", "rmdir", "link", "unlink", "symlink", "chmod", "chown", "lchown", "utime", "utimes", "mknod", "setxattr", "lsetxattr", "removexattr", "lremovexattr"]);

/** The syscall's name: auditd's interpretation, else the number looked up for the architecture, else `syscall N`. */
export function syscallName(e: AuditEvent): string {
  const named = e.interpreted?.["SYSCALL"];
  if (named && /^[a-z0-9_]+$/.test(named)) return named;
  const number = e.syscall?.["syscall"] ?? "";
  const known = BY_ARCH[e.syscall?.["arch"] ?? ""]?.[Number(number)];
  return known ?? `syscall ${number}`;
}

/** Whether a relative name in this event was resolved from its working directory. */
function fromCwd(e: AuditEvent): boolean {
  const name = syscallName(e);
  if (FROM_CWD.has(name)) return true;
  const args = DIRFD_ARGS[name];
  return args !== undefined && args.every((a) => e.syscall?.[a] === AT_FDCWD);
}

/**
 * The absolute path an item names, when it can be told. Not for a name with a `..` component:
 * the kernel takes `..` from wherever a link before it led, so `/srv/up/L/../../ledger` opens the
 * user's own `/srv/up/x/ledger` when L links to /srv/up/x/y, yet reads as `/srv/ledger`; such an
 * item is matched by its device and inode only.
 */
export function itemPath(e: AuditEvent, item: AuditPathItem): string | undefined {
  if (item.name === undefined || item.name.split("/").includes("..")) return undefined;
  if (item.name.startsWith("/")) return posix.normalize(item.name);
  if (e.cwd === undefined || !e.cwd.startsWith("/") || !fromCwd(e)) return undefined;
  return posix.resolve(e.cwd, item.name);
}

export function eventTouches(e: AuditEvent, t: AuditTarget): boolean {
  return e.paths.some((item) => itemPath(e, item) === t.path || (item.inode !== undefined && item.dev !== undefined && t.files.some((f) => f.ino === item.inode && f.dev === item.dev)));
}

function idOf(text: string | undefined): number | undefined {
  return text !== undefined && /^\d+$/.test(text) && text !== UNSET_ID ? Number(text) : undefined;
}

/** What an event says of who made a change; undefined for an event with no SYSCALL record or no pid. */
export function changeOf(e: AuditEvent, userName: (uid: number) => string | undefined): AuditedChange | undefined {
  const s = e.syscall;
  const pid = idOf(s?.["pid"]);
  const uid = idOf(s?.["uid"]);
  if (!s || pid === undefined || uid === undefined) return undefined;
  const c: AuditedChange = { at: new Date(e.timeMs).toISOString(), serial: e.serial, syscall: syscallName(e), pid, uid };
  const ppid = idOf(s["ppid"]);
  if (ppid !== undefined) c.ppid = ppid;
  const auid = idOf(s["auid"]);
  if (auid !== undefined) c.auid = auid;
  const user = userName(uid);
  if (user !== undefined) c.user = user;
  const login = auid === undefined ? undefined : userName(auid);
  if (login !== undefined) c.loginUser = login;
  if (s["exe"] !== undefined) c.exe = s["exe"];
  if (s["comm"] !== undefined) c.comm = s["comm"];
  return c;
}

/** At most this many changes are kept for one path (the latest). */
export const MAX_CHANGES = 10;

/**
 * The successful events within [fromMs, toMs], indexed once by the paths and the files their
 * items name. A batch of paths is then matched with one pass over the log's events, not one per
 * path: a user who fills the log with their own writes in a watched tree (20,000 events) and
 * makes 200 paths change at once cost the watcher seconds of blocked event loop per pass.
 */
export class EventIndex {
  private readonly byPath = new Map<string, AuditEvent[]>();
  private readonly byFile = new Map<string, AuditEvent[]>();

  constructor(events: Iterable<AuditEvent>, fromMs: number, toMs: number) {
    const add = (map: Map<string, AuditEvent[]>, key: string, e: AuditEvent) => {
      const list = map.get(key);
      if (!list) map.set(key, [e]);
      else if (list.at(-1) !== e) list.push(e);
    };
    for (const e of events) {
      if (e.timeMs < fromMs || e.timeMs > toMs || e.syscall?.["success"] === "no") continue;
      for (const item of e.paths) {
        const path = itemPath(e, item);
        if (path !== undefined) add(this.byPath, path, e);
        if (item.inode !== undefined && item.dev !== undefined) add(this.byFile, `${item.dev}:${item.inode}`, e);
      }
    }
  }

  /** The events that touch the target, as eventTouches would find them. */
  touching(t: AuditTarget): Set<AuditEvent> {
    const out = new Set(this.byPath.get(t.path) ?? []);
    for (const f of t.files) for (const e of this.byFile.get(`${f.dev}:${f.ino}`) ?? []) out.add(e);
    return out;
  }
}

/** The changes to a target among the indexed events, oldest first, the latest MAX_CHANGES. */
export function changesIn(index: EventIndex, t: AuditTarget, userName: (uid: number) => string | undefined): AuditedChange[] {
  const out: AuditedChange[] = [];
  for (const e of index.touching(t)) {
    const c = changeOf(e, userName);
    if (c) out.push(c);
  }
  out.sort((a, b) => a.at.localeCompare(b.at) || a.serial - b.serial);
  return out.slice(-MAX_CHANGES);
}

/** The changes to a target within [fromMs, toMs], oldest first, the latest MAX_CHANGES. Only successful syscalls count. */
export function changesTo(events: Iterable<AuditEvent>, t: AuditTarget, fromMs: number, toMs: number, userName: (uid: number) => string | undefined): AuditedChange[] {
  return changesIn(new EventIndex(events, fromMs, toMs), t, userName);
}
