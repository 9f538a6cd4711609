// The hub's TLS files (its CA's and its own keys and certificates) as root reads and writes them:
// by the rule root applies to every file it trusts (src/trust/strict-modes.ts). The directory that
// holds them, and every directory and link on the way, must be root's and closed to others; a
// private key must be root's, readable by root alone, with one name, and not in a directory where
// others may make names (a sticky /tmp), where someone could have made its name first. Files are
// read without following a link or blocking on a FIFO, and written whole or not at all, never over
// a file that exists: a CA key overwritten is every host's trust lost.
import { closeSync, constants, fstatSync, mkdirSync, openSync, readSync, rmSync, type Stats } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { createFileExclusively } from "../store/safe-files.js";
import { judge, kindOf, lstatOrUndefined, modeText, runningAsRoot, walk, type Rule } from "../trust/strict-modes.js";

/** A TLS file or directory that cannot be used or made as asked: commands say it and exit 2. */
export class HubTlsError extends Error {}

const TLS_RULE: Rule = { says: "as root, Covenant uses only TLS keys and certificates no other user can change", error: (m) => new HubTlsError(m) };

/** The largest key or certificate file read: a PEM bundle of a few CAs is a few KB. */
const MAX_TLS_FILE = 1024 * 1024;

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = constants;

function errnoOf(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String((err as Error).message);
}

/**
 * The directory TLS files are written to, made 0700 (its missing parents 0755) when it does not
 * exist. As root, it and the way to it must be root's and closed to others. Returns it with no
 * link in it.
 */
export function prepareTlsDirectory(dir: string): string {
  const abs = resolve(dir);
  const of = `the TLS directory ${abs}`;
  const elsewhere = "choose another --dir";
  const walked = (): string => (runningAsRoot() ? walk(abs, { of, elsewhere, sticky: true, rule: TLS_RULE }) : abs);
  let real = walked();
  if (!lstatOrUndefined(real, TLS_RULE)) {
    try {
      mkdirSync(dirname(real), { recursive: true, mode: 0o755 });
      mkdirSync(real, { mode: 0o700 });
    } catch (err) {
      if (errnoOf(err) !== "EEXIST") throw new HubTlsError(`${abs}: cannot be made (${errnoOf(err)})${errnoOf(err) === "EACCES" ? ": run as root, or choose another --dir" : ""}`);
    }
    // walked again: a link someone planted on the way while it was made is judged, not followed
    real = walked();
  }
  const st = lstatOrUndefined(real, TLS_RULE);
  if (!st) throw new HubTlsError(`${abs}: disappeared while it was made`);
  if (!st.isDirectory()) throw new HubTlsError(`${abs}: is ${kindOf(st)}, not a directory`);
  if (runningAsRoot()) judge(st, of, (why) => (why === "owner" ? `move ${real} aside (Covenant never adopts a directory another user made), or ${elsewhere}` : `chmod go-w ${real}, or ${elsewhere}`), false, TLS_RULE);
  return real;
}

/** One file to write: its name in the directory, its content and its mode. */
export interface TlsFile {
  name: string;
  content: string;
  mode: number;
}

/**
 * Writes the files into a directory prepareTlsDirectory returned, all or none: any that exists
 * already is refused before anything is written, and a failure part way removes what this call
 * made. Nothing is ever overwritten.
 */
export function writeTlsFiles(dir: string, files: readonly TlsFile[]): string[] {
  for (const f of files) {
    const path = join(dir, f.name);
    if (lstatOrUndefined(path, TLS_RULE)) throw existsError(path);
  }
  const made: string[] = [];
  try {
    for (const f of files) {
      const path = join(dir, f.name);
      if (!createFileExclusively(path, f.content, { sync: true, mode: f.mode })) throw existsError(path);
      made.push(path);
    }
  } catch (err) {
    for (const path of made) rmSync(path, { force: true });
    if (err instanceof HubTlsError) throw err;
    throw new HubTlsError(`${dir}: cannot write the TLS files (${errnoOf(err)}); nothing was left there`);
  }
  return made;
}

function existsError(path: string): HubTlsError {
  return new HubTlsError(`${path}: exists: Covenant never overwrites a key or certificate (every host that trusts it would be cut off); move it aside, or choose another --dir`);
}

export type TlsFileKind = "key" | "certificate";

/**
 * A key or certificate file's bytes. As root, the way to it is followed and judged one link at a
 * time (a link must be root's, as a secrets mount's is), and the
 * file, from the descriptor read, must be root's and not writable by others; a key must also be
 * readable by root alone, have one name, and sit in a directory where others cannot make names.
 * Errors are `path: reason`, with the fix.
 */
export function readTlsFile(path: string, kind: TlsFileKind): Buffer {
  const abs = resolve(path);
  const of = `the ${kind} ${abs}`;
  let real = abs;
  if (runningAsRoot()) {
    real = walk(abs, { of, elsewhere: `keep the ${kind} in a directory only root can write`, sticky: true, rule: TLS_RULE });
    const parent = lstatOrUndefined(dirname(real), TLS_RULE);
    if (kind === "key" && parent && parent.mode & 0o002) throw new HubTlsError(`${abs}: is in ${dirname(real)}, where anyone can make names (someone could have made this key first); fix: keep the key in a directory only root can write`);
  }
  let fd: number;
  try {
    // as root, the walk resolved every link it could judge: one still there was put there since
    fd = openSync(real, O_RDONLY | O_NONBLOCK | (runningAsRoot() ? O_NOFOLLOW : 0));
  } catch (err) {
    const code = errnoOf(err);
    throw new HubTlsError(`${abs}: ${code === "ENOENT" ? "does not exist" : code === "ELOOP" ? "became a symbolic link while it was read" : `cannot be read (${code})`}`);
  }
  try {
    const st = fstatSync(fd);
    const refused = refusalOf(st, kind, real);
    if (refused) throw new HubTlsError(`${abs}: ${refused}`);
    const buf = Buffer.alloc(MAX_TLS_FILE + 1);
    let length = 0;
    while (length <= MAX_TLS_FILE) {
      const n = readSync(fd, buf, length, buf.length - length, null);
      if (n === 0) break;
      length += n;
    }
    if (length > MAX_TLS_FILE) throw new HubTlsError(`${abs}: is more than ${MAX_TLS_FILE} bytes: not a key or certificate`);
    return Buffer.from(buf.subarray(0, length));
  } catch (err) {
    if (err instanceof HubTlsError) throw err;
    throw new HubTlsError(`${abs}: cannot be read (${errnoOf(err)})`);
  } finally {
    closeSync(fd);
  }
}

/** Why the opened file may not be used, if so; judged on the descriptor, so nothing is swapped in between. */
function refusalOf(st: Stats, kind: TlsFileKind, path: string): string | undefined {
  if (!st.isFile()) return `is ${kindOf(st)}, not a regular file`;
  if (st.size > MAX_TLS_FILE) return `is ${st.size} bytes: not a key or certificate`;
  if (!runningAsRoot()) return undefined;
  if (st.uid !== 0) return `is owned by uid ${st.uid}, not root: ${TLS_RULE.says}; fix: move it aside and make a new one as root`;
  if (st.mode & 0o022) return `is writable by ${st.mode & 0o002 ? "others" : "its group"} (mode ${modeText(st)}): someone else may have replaced it; fix: chmod go-w ${path}, after checking it is the one you made`;
  if (kind !== "key") return undefined;
  if (st.mode & 0o077) return `can be read by ${st.mode & 0o007 ? "others" : "its group"} (mode ${modeText(st)}): whoever read it can pose as the hub, so it is not used; fix: if no one else can have read it, chmod 0600 ${path}; otherwise issue a new key and certificate`;
  if (st.nlink > 1) return `has ${st.nlink} names (hard links): another may be where someone else can read it; fix: remove its other names (find / -xdev -samefile ${path})`;
  return undefined;
}
