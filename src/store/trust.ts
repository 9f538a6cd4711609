// As root, Covenant uses only state that no other user can change: the rule sshd's StrictModes
// and sudo apply to their files. The state directory, every directory on the way to it, and the
// files in it (state.db and its WAL, host.key, ledger.head, run.lock) must be owned by root and
// not writable by group or others; a directory on the way may be world-writable only with the
// sticky bit (as /tmp is), which keeps others from renaming or removing root's entries in it.
// Otherwise a user could plant a key of their choosing, rewrite the history, or swap the
// directory for one of their own between two runs.
import { lstatSync, realpathSync, type Stats } from "node:fs";
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

function fixFor(path: string, hint: string): string {
  return `fix: chown root:root ${path} && chmod go-w ${path}${hint ? `, ${hint}` : ""}`;
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new UntrustedStateError(`${path} cannot be examined (${(err as NodeJS.ErrnoException).code})`);
  }
}

/** The path with every link resolved; a dangling link or an unreadable directory is refused, not an internal error. */
function real(path: string): string {
  try {
    return realpathSync(path);
  } catch (err) {
    throw new UntrustedStateError(`${path} cannot be resolved (${(err as NodeJS.ErrnoException).code}): a link on the way names nothing, or a directory cannot be read`);
  }
}

function lstatOrRefuse(path: string): Stats {
  const st = lstatOrUndefined(path);
  if (!st) throw new UntrustedStateError(`${path} cannot be examined (ENOENT)`);
  return st;
}

/** Root's own, and closed to others (`sticky`: world-writable is allowed with the sticky bit). */
function judge(path: string, st: Stats, what: string, hint: string, sticky: boolean): void {
  if (st.uid !== 0) throw new UntrustedStateError(`${what} is owned by uid ${st.uid}, not root: as root, Covenant uses only state that no other user can change; ${fixFor(path, hint)}`);
  const writable = st.mode & 0o022;
  if (writable && !(sticky && st.isDirectory() && st.mode & 0o1000)) {
    const who = writable === 0o022 ? "group and others" : writable === 0o020 ? "its group" : "others";
    throw new UntrustedStateError(`${what} is writable by ${who} (mode ${modeText(st)}): as root, Covenant uses only state that no other user can change; ${fixFor(path, hint)}`);
  }
}

/**
 * Every directory above `path`, as written and after links, must be root's and closed to others
 * (or sticky); a link on the way must be root's, or its owner could point it anywhere.
 */
function checkAncestors(path: string, of: string, hint: string): void {
  for (let d = dirname(path); ; d = dirname(d)) {
    const st = lstatOrUndefined(d);
    if (st?.isSymbolicLink()) {
      if (st.uid !== 0) throw new UntrustedStateError(`the link ${d}, on the way to ${of}, is owned by uid ${st.uid}, not root: its owner decides where it points; ${hint}`);
      checkResolved(real(d), of, hint);
    } else if (st) judge(d, st, `the directory ${d}, on the way to ${of},`, hint, true);
    if (d === "/" || d === ".") break;
  }
}

/** A path with no links left in it (from realpath): each directory above it in turn. */
function checkResolved(real: string, of: string, hint: string): void {
  for (let d = real; ; d = dirname(d)) {
    judge(d, lstatOrRefuse(d), `the directory ${d}, on the way to ${of},`, hint, true);
    if (d === "/") break;
  }
}

/** The state directory itself and the directories above it; `dir` may not exist yet. */
export function checkStateDirectory(dir: string): void {
  if (!runningAsRoot()) return;
  const abs = resolve(dir);
  const hint = "or choose another --state";
  checkAncestors(abs, `the state directory ${abs}`, hint);
  const st = lstatOrUndefined(abs);
  if (!st) return;
  if (st.isSymbolicLink()) {
    if (st.uid !== 0) throw new UntrustedStateError(`the state directory ${abs} is a link owned by uid ${st.uid}, not root: its owner decides where it points; ${hint}`);
    const target = real(abs);
    checkResolved(dirname(target), `the state directory ${abs}`, hint);
    judge(target, lstatOrRefuse(target), `the state directory ${target}`, hint, false);
    return;
  }
  judge(abs, st, `the state directory ${abs}`, hint, false);
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
    judge(path, st, `${names[name]} ${path}`, "", false);
  }
  if (keyFile !== undefined) checkKeyFile(keyFile);
}

/** COVENANT_HOST_KEY_FILE: it may be a link (a secrets mount), but the file it names and every directory on the way must be root's. */
function checkKeyFile(keyFile: string): void {
  const abs = resolve(keyFile);
  const of = `the host key ${abs} (COVENANT_HOST_KEY_FILE)`;
  const hint = "or point COVENANT_HOST_KEY_FILE at a file only root can change";
  checkAncestors(abs, of, hint);
  const st = lstatOrUndefined(abs);
  if (!st) return;
  let target = abs;
  if (st.isSymbolicLink()) {
    if (st.uid !== 0) throw new UntrustedStateError(`${of} is a link owned by uid ${st.uid}, not root: its owner decides where it points; ${hint}`);
    target = real(abs);
    checkResolved(dirname(target), of, hint);
  }
  const named = lstatOrRefuse(target);
  if (!named.isFile()) throw new UntrustedStateError(`${of} is ${kindOf(named)}, not a regular file`);
  judge(target, named, target === abs ? of : `${of}, that is ${target},`, hint, false);
}
