// As root, Covenant uses only state that no other user can change: the rule sshd's StrictModes
// and sudo apply to their files. The state directory, every directory on the way to it, and the
// files in it (state.db and its WAL, host.key, ledger.head, run.lock) must be owned by root and
// not writable by group or others; a directory on the way to the state directory may be
// world-writable only with the sticky bit (as /tmp is), which keeps others from renaming or
// removing root's entries in it. Paths are followed one link at a time, each link judged where it
// is: a link must be root's, in a directory root's rules allow, or its owner decides where it
// leads. The host key is held to more: it may not be readable by anyone but root, nor have a
// second name, nor sit in a sticky directory, where another user may create its name first.
import { lstatSync, readlinkSync, type Stats } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { UntrustedStateError } from "./errors.js";
import { kindOf } from "./safe-files.js";

/** The files of a state directory, as the store names them. */
export const STATE_FILES = ["state.db", "state.db-wal", "state.db-shm", "host.key", "ledger.head", "run.lock"] as const;

export function runningAsRoot(): boolean {
  return process.getuid?.() === 0;
}

function modeText(st: Stats): string {
  return (st.mode & 0o7777).toString(8).padStart(4, "0");
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new UntrustedStateError(`${path} cannot be examined (${(err as NodeJS.ErrnoException).code})`);
  }
}

/** Why root may not use it, if so: another user owns it, or group or others can write it. */
type Refusal = "owner" | "writable";

/**
 * Root's own, and closed to others (`sticky`: world-writable is allowed with the sticky bit).
 * `fix` says what to do: another user's file or directory is never to be adopted (chowned), since
 * what is in it is theirs; root's own, left writable, can be closed.
 */
function judge(path: string, st: Stats, what: string, fix: (why: Refusal) => string, sticky: boolean): void {
  if (st.uid !== 0) throw new UntrustedStateError(`${what} is owned by uid ${st.uid}, not root: as root, Covenant uses only state that no other user can change; fix: ${fix("owner")}`);
  const writable = st.mode & 0o022;
  if (writable && !(sticky && st.isDirectory() && st.mode & 0o1000)) {
    const who = writable === 0o022 ? "group and others" : writable === 0o020 ? "its group" : "others";
    throw new UntrustedStateError(`${what} is writable by ${who} (mode ${modeText(st)}): as root, Covenant uses only state that no other user can change; fix: ${fix("writable")}`);
  }
}

/** The fix for a directory on the way: closing root's own, or going elsewhere. */
const onTheWay = (path: string, elsewhere: string) => (why: Refusal) => (why === "owner" ? elsewhere : `chmod go-w ${path}, or ${elsewhere}`);

const ADOPT_NOTHING = "Covenant never adopts what another user made";

interface Walk {
  /** what the path leads to, for messages */
  of: string;
  /** where else to keep it, for the fix: "choose another --state" */
  elsewhere: string;
  /** whether a sticky world-writable directory may be on the way */
  sticky: boolean;
}

/**
 * Follows `path` the way the kernel would, one component at a time, judging each directory on
 * the way and each link (its owner, and the directory it is in, were judged before it is read).
 * Returns the path with no link left in it; a part that does not exist yet ends the walk there
 * (what follows is created later, below directories already judged). Components are joined to a
 * path already free of links, so `..` in a link's target goes up where the kernel would.
 */
export function walk(path: string, w: Walk): string {
  const pending = resolve(path).split("/").filter((c) => c !== "" && c !== ".");
  let at = "/";
  judge("/", lstatOrRefuse("/"), `the directory /, on the way to ${w.of},`, onTheWay("/", w.elsewhere), w.sticky);
  let links = 0;
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (name === "..") {
      at = dirname(at);
      continue;
    }
    const next = join(at, name);
    const st = lstatOrUndefined(next);
    if (!st) return join(next, ...pending);
    if (st.isSymbolicLink()) {
      if (st.uid !== 0) throw new UntrustedStateError(`the link ${next}, on the way to ${w.of}, is owned by uid ${st.uid}, not root: its owner decides where it leads; fix: ${w.elsewhere}`);
      if (++links > 40) throw new UntrustedStateError(`${w.of} cannot be resolved: more than 40 links on the way (a loop)`);
      const target = readLink(next);
      pending.unshift(...target.split("/").filter((c) => c !== "" && c !== "."));
      if (target.startsWith("/")) at = "/";
      continue;
    }
    at = next;
    // the last component is the state directory or file itself: its caller judges it
    if (pending.length === 0) return at;
    if (!st.isDirectory()) throw new UntrustedStateError(`${next}, on the way to ${w.of}, is ${kindOf(st)}, not a directory`);
    judge(next, st, `the directory ${next}, on the way to ${w.of},`, onTheWay(next, w.elsewhere), w.sticky);
  }
  return at;
}

function readLink(path: string): string {
  try {
    return readlinkSync(path);
  } catch (err) {
    throw new UntrustedStateError(`the link ${path} cannot be read (${(err as NodeJS.ErrnoException).code})`);
  }
}

function lstatOrRefuse(path: string): Stats {
  const st = lstatOrUndefined(path);
  if (!st) throw new UntrustedStateError(`${path} cannot be examined (ENOENT)`);
  return st;
}

/**
 * The state directory itself and every directory and link on the way to it; `dir` may not exist
 * yet. Returns the directory with no link in it.
 */
export function checkStateDirectory(dir: string): string {
  const abs = resolve(dir);
  if (!runningAsRoot()) return abs;
  const elsewhere = "choose another --state";
  const real = walk(abs, { of: `the state directory ${abs}`, elsewhere, sticky: true });
  const st = lstatOrUndefined(real);
  if (!st) return real;
  const named = real === abs ? `the state directory ${abs}` : `the state directory ${abs}, that is ${real},`;
  if (!st.isDirectory()) throw new UntrustedStateError(`${named} is ${kindOf(st)}, not a directory`);
  judge(real, st, named, (why) => (why === "owner" ? `move ${real} aside and keep it as evidence (${ADOPT_NOTHING}): a run as root then makes a new one; or ${elsewhere}` : `chmod go-w ${real}, or ${elsewhere}`), false);
  return real;
}

/**
 * Why the host key, as `st` describes it, may not be used as root; undefined when it may. A key
 * another user owns, can read or could have written lets them forge the history; one with a
 * second name may be reachable from where others look. `named` says which key, for messages.
 */
export function keyProblem(named: string, path: string, st: Stats): string | undefined {
  if (!runningAsRoot()) return undefined;
  const fresh = "or move the state directory aside to start a new history";
  const restore = `restore the key from its backup as root (install -o root -m 0600 BACKUP ${path}), ${fresh}`;
  if (!st.isFile()) return `${named} is ${kindOf(st)}, not a regular file`;
  if (st.uid !== 0) return `${named} is owned by uid ${st.uid}, not root: someone else made it, so it is not used (a key another user made or knows lets them forge the history); fix: move it aside and keep it as evidence (${ADOPT_NOTHING}), then ${restore}`;
  if (st.mode & 0o022) return `${named} is writable by ${st.mode & 0o002 ? "others" : "its group"} (mode ${modeText(st)}): someone else may have replaced it, so it is not used; fix: move it aside and keep it as evidence, then ${restore}`;
  if (st.mode & 0o077) return `${named} can be read by ${st.mode & 0o007 ? "others" : "its group"} (mode ${modeText(st)}): whoever read it can forge the history, so it is not used (as sshd refuses such a private key); fix: if no one else can have read it, chmod 0600 ${path}; otherwise ${fresh.replace(/^or /, "")}`;
  if (st.nlink > 1) return `${named} has ${st.nlink} names (hard links): another may be in a directory someone else controls, so it is not used; fix: find and remove its other names (find / -xdev -samefile ${path})`;
  return undefined;
}

/** The files in the state directory that exist, and the host key wherever it is kept. */
export function checkStateFiles(dir: string, keyFile: string | undefined): void {
  if (!runningAsRoot()) return;
  const abs = resolve(dir);
  const names: Record<string, string> = { "state.db": "the store", "state.db-wal": "the store's log", "state.db-shm": "the store's shared memory", "host.key": "the host key", "ledger.head": "the head anchor", "run.lock": "the run lock" };
  for (const name of STATE_FILES) {
    if (name === "host.key" && keyFile !== undefined) continue;
    const path = join(abs, name);
    const st = lstatOrUndefined(path);
    if (!st) continue;
    if (!st.isFile()) throw new UntrustedStateError(`${names[name]} ${path} is ${kindOf(st)}: Covenant never makes one there; remove it`);
    if (name === "host.key") {
      const problem = keyProblem(`the host key ${path}`, path, st);
      if (problem) throw new UntrustedStateError(problem);
      continue;
    }
    const aside = name === "run.lock" ? `remove ${path} (${ADOPT_NOTHING})` : `move ${path} aside and keep it as evidence (${ADOPT_NOTHING}), then restore it from a backup as root, or move the state directory aside to start a new history`;
    judge(path, st, `${names[name]} ${path}`, (why) => (why === "owner" ? aside : `chmod go-w ${path} (others could have changed it: run \`covenant verify\`)`), false);
  }
  if (keyFile !== undefined) checkKeyFile(keyFile);
}

/**
 * COVENANT_HOST_KEY_FILE: it may be a link (a secrets mount), but each link on the way, the file
 * it names and every directory on the way must be root's, and no directory on the way may be
 * writable by others even with the sticky bit: in /tmp, anyone can make the key's name first.
 */
function checkKeyFile(keyFile: string): void {
  const abs = resolve(keyFile);
  const of = `the host key ${abs} (COVENANT_HOST_KEY_FILE)`;
  const real = walk(abs, { of, elsewhere: "point COVENANT_HOST_KEY_FILE at a file in a directory only root can write", sticky: false });
  const st = lstatOrUndefined(real);
  if (!st) return;
  const problem = keyProblem(real === abs ? of : `${of}, that is ${real},`, real, st);
  if (problem) throw new UntrustedStateError(problem);
}
