// The rule root applies to every file it trusts (its state, its policy; later its configuration,
// secrets, plugins and caches), as sshd's StrictModes and sudo apply it to theirs: the file, and
// every directory on the way to it, must be owned by root and not writable by group or others. A
// directory on the way may be world-writable only with the sticky bit (as /tmp is), which keeps
// others from renaming or removing root's entries in it, and only where its caller allows it.
// Paths are followed one link at a time, each link judged where it is: a link must be root's, in a
// directory root's rules allow, or its owner decides where it leads.
//
// This module sits below every layer that reads files as root (checker, store): it knows nothing
// of what the files are for. Each caller names its files, its rule and its fixes, and says which
// error to raise, so that a refusal reads as what it is ("state", "policy") and is caught where
// that layer's errors are.
import { lstatSync, readlinkSync, type Stats } from "node:fs";
import { dirname, join, resolve } from "node:path";

export function runningAsRoot(): boolean {
  return process.getuid?.() === 0;
}

export function modeText(st: Stats): string {
  return (st.mode & 0o7777).toString(8).padStart(4, "0");
}

/** What a file that is not a regular file is, for messages. */
export function kindOf(st: { isDirectory(): boolean; isFIFO(): boolean; isSymbolicLink(): boolean; isSocket(): boolean; isBlockDevice(): boolean; isCharacterDevice(): boolean }): string {
  if (st.isDirectory()) return "a directory";
  if (st.isFIFO()) return "a FIFO";
  if (st.isSymbolicLink()) return "a symbolic link";
  if (st.isSocket()) return "a socket";
  if (st.isBlockDevice() || st.isCharacterDevice()) return "a device";
  return "not a regular file";
}

/** Why root may not use it, if so: another user owns it, or group or others can write it. */
export type Refusal = "owner" | "writable";

/** How a caller's refusals read and are raised. */
export interface Rule {
  /** the sentence after the colon: "as root, Covenant uses only state that no other user can change" */
  says: string;
  /** the error to throw, of the caller's layer */
  error: (message: string) => Error;
}

/** Whether root may use what `st` describes: `sticky` allows a world-writable directory with the sticky bit. */
export function refusalOf(st: Stats, sticky: boolean): Refusal | undefined {
  if (st.uid !== 0) return "owner";
  if (st.mode & 0o022 && !(sticky && st.isDirectory() && st.mode & 0o1000)) return "writable";
  return undefined;
}

/**
 * Root's own, and closed to others (`sticky`: world-writable is allowed with the sticky bit).
 * `fix` says what to do for each refusal.
 */
export function judge(st: Stats, what: string, fix: (why: Refusal) => string, sticky: boolean, rule: Rule): void {
  const why = refusalOf(st, sticky);
  if (why === "owner") throw rule.error(`${what} is owned by uid ${st.uid}, not root: ${rule.says}; fix: ${fix("owner")}`);
  if (why === "writable") {
    const writable = st.mode & 0o022;
    const who = writable === 0o022 ? "group and others" : writable === 0o020 ? "its group" : "others";
    throw rule.error(`${what} is writable by ${who} (mode ${modeText(st)}): ${rule.says}; fix: ${fix("writable")}`);
  }
}

/** The fix for a directory on the way: closing root's own, or going elsewhere. */
export const onTheWay = (path: string, elsewhere: string) => (why: Refusal) => (why === "owner" ? elsewhere : `chmod go-w ${path}, or ${elsewhere}`);

export interface Walk {
  /** what the path leads to, for messages */
  of: string;
  /** where else to keep it, for the fix: "choose another --state" */
  elsewhere: string;
  /** whether a sticky world-writable directory may be on the way */
  sticky: boolean;
  rule: Rule;
}

/** The entry's lstat, or undefined when it does not exist; another failure is the rule's error. */
export function lstatOrUndefined(path: string, rule: Rule): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw rule.error(`${path} cannot be examined (${(err as NodeJS.ErrnoException).code})`);
  }
}

/**
 * Follows `path` the way the kernel would, one component at a time, judging each directory on
 * the way and each link (its owner, and the directory it is in, were judged before it is read).
 * Returns the path with no link left in it; a part that does not exist yet ends the walk there
 * (what follows is created later, below directories already judged). Components are joined to a
 * path already free of links, so `..` in a link's target goes up where the kernel would. The
 * last component is not judged: its caller judges it by its own rule.
 */
export function walk(path: string, w: Walk): string {
  const pending = resolve(path).split("/").filter((c) => c !== "" && c !== ".");
  let at = "/";
  const root = lstatOrUndefined("/", w.rule);
  if (!root) throw w.rule.error("/ cannot be examined (ENOENT)");
  judge(root, `the directory /, on the way to ${w.of},`, onTheWay("/", w.elsewhere), w.sticky, w.rule);
  let links = 0;
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (name === "..") {
      at = dirname(at);
      continue;
    }
    const next = join(at, name);
    const st = lstatOrUndefined(next, w.rule);
    if (!st) return join(next, ...pending);
    if (st.isSymbolicLink()) {
      if (st.uid !== 0) throw w.rule.error(`the link ${next}, on the way to ${w.of}, is owned by uid ${st.uid}, not root: its owner decides where it leads; fix: ${w.elsewhere}`);
      if (++links > 40) throw w.rule.error(`${w.of} cannot be resolved: more than 40 links on the way (a loop)`);
      const target = readLink(next, w.rule);
      pending.unshift(...target.split("/").filter((c) => c !== "" && c !== "."));
      if (target.startsWith("/")) at = "/";
      continue;
    }
    at = next;
    if (pending.length === 0) return at;
    if (!st.isDirectory()) throw w.rule.error(`${next}, on the way to ${w.of}, is ${kindOf(st)}, not a directory`);
    judge(st, `the directory ${next}, on the way to ${w.of},`, onTheWay(next, w.elsewhere), w.sticky, w.rule);
  }
  return at;
}

function readLink(path: string, rule: Rule): string {
  try {
    return readlinkSync(path);
  } catch (err) {
    throw rule.error(`the link ${path} cannot be read (${(err as NodeJS.ErrnoException).code})`);
  }
}
