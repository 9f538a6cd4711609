// The report directory and its files, written as root writes what it trusts: the directory is
// never a link, and as root it must be root's and closed to others' writes, with every directory
// and link on the way judged as the state's and policies' are (trust/strict-modes.ts). Files are
// read without following a link and replaced whole: a temporary file made in the same directory
// (O_EXCL, O_NOFOLLOW, mode 0640), written, flushed to disk, then renamed over the old one, so a
// reader, or a crash, sees the old digest or the new one, never half of one.
import { randomBytes } from "node:crypto";
import { closeSync, constants, fchmodSync, fstatSync, fsyncSync, lstatSync, mkdirSync, openSync, readSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { judge, kindOf, onTheWay, runningAsRoot, walk, type Rule } from "../trust/strict-modes.js";

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_DIRECTORY } = constants;

/** A digest larger than this is not read back (a day of messages is far smaller): move it aside. */
export const LARGEST_DIGEST = 64 * 1024 * 1024;

/** A refusal that trying again will not cure: someone must change the directory or the file. */
export class ReportRefusal extends Error {}

const RULE: Rule = {
  says: "as root, Covenant writes reports only where no other user can change them",
  error: (message) => new ReportRefusal(message),
};

/** Makes the directory (0750) when missing, and checks it; returns the path to write in, with no link in it. */
export function reportDirectory(directory: string): string {
  const fix = "choose another `directory:` for the report channel";
  // the directory itself is not walked: walk follows a link at its end, and this one must not be one
  const absolute = resolve(directory);
  const parent = runningAsRoot() ? walk(dirname(absolute), { of: `the report directory ${directory}`, elsewhere: fix, sticky: true, rule: RULE }) : dirname(absolute);
  // walk judges what lies on the way, not where it ends: the parent is judged here (sticky allowed, as on the way)
  const parentStat = runningAsRoot() ? lstatIfAny(parent) : undefined;
  if (parentStat?.isDirectory()) judge(parentStat, `the directory ${parent}, on the way to the report directory ${directory},`, onTheWay(parent, fix), true, RULE);
  const real = join(parent, basename(absolute));
  let st = lstatIfAny(real);
  if (!st) {
    mkdirSync(real, { recursive: true, mode: 0o750 });
    st = lstatSync(real);
  }
  if (st.isSymbolicLink()) throw new ReportRefusal(`the report directory ${directory} is a symbolic link, which is not followed; fix: name the directory it leads to`);
  if (!st.isDirectory()) throw new ReportRefusal(`the report directory ${directory} is ${kindOf(st)}, not a directory`);
  if (runningAsRoot()) judge(st, `the report directory ${directory}`, (why) => (why === "owner" ? `\`chown root ${directory}\`, or ${fix}` : `\`chmod go-w ${directory}\``), false, RULE);
  return real;
}

function lstatIfAny(path: string) {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** The file's text, or undefined when there is none; a link or anything but a regular file is refused. */
export function readDigest(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    if (code === "ELOOP") throw new ReportRefusal(`${path} is a symbolic link, which is not followed: remove it`);
    throw err;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ReportRefusal(`${path} is ${kindOf(st)}, not a regular file: remove it`);
    if (st.size > LARGEST_DIGEST) throw new ReportRefusal(`${path} is larger than ${LARGEST_DIGEST} bytes: move it aside`);
    const buffer = Buffer.alloc(st.size);
    let at = 0;
    while (at < st.size) {
      const n = readSync(fd, buffer, at, st.size - at, null);
      if (n === 0) break;
      at += n;
    }
    return buffer.subarray(0, at).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

/** Replaces `directory/name` with `text`, whole (see the head of this file). */
export function replaceDigest(directory: string, name: string, text: string): void {
  const temporary = join(directory, `.${name}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  const fd = openSync(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o640);
  let closed = false;
  let renamed = false;
  try {
    fchmodSync(fd, 0o640); // whatever the umask
    const data = Buffer.from(text, "utf8");
    for (let at = 0; at < data.length; ) at += writeSync(fd, data, at, data.length - at);
    fsyncSync(fd);
    closeSync(fd);
    closed = true;
    renameSync(temporary, join(directory, name));
    renamed = true;
    syncDirectory(directory);
  } finally {
    if (!closed) closeSync(fd);
    if (!renamed) {
      try {
        unlinkSync(temporary);
      } catch {
        // nothing to remove
      }
    }
  }
}

/** The rename lasts only once the directory's entry is on disk. */
function syncDirectory(directory: string): void {
  const fd = openSync(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** How long a writer waits for another to finish with a digest before leaving the message for a retry. */
export const LOCK_WAIT_MS = 3000;

/**
 * Runs `fn` holding the digest's lock: a file `.STEM.lock` made exclusively (O_EXCL, no link
 * followed) and holding the writer's pid. Two writers (a run, and `notify flush` or the watcher)
 * each read, add and rename: without the lock the later rename would drop what the earlier
 * added. A lock whose pid is no longer running is left by a crash, and is taken over.
 */
export async function holdingLock<T>(directory: string, stem: string, fn: () => T): Promise<T> {
  const lock = join(directory, `.${stem}.lock`);
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const fd = openSync(lock, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o640);
      try {
        writeSync(fd, `${process.pid}\n`);
      } catch (err) {
        unlinkSync(lock); // a full disk: leave no empty lock behind
        throw err;
      } finally {
        closeSync(fd);
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      if (abandoned(lock)) continue;
      if (Date.now() > deadline) throw Object.assign(new Error(`${lock} is held by another writer`), { code: "EBUSY" });
      await new Promise((r) => setTimeout(r, 10 + Math.random() * 20));
    }
  }
  try {
    return fn();
  } finally {
    unlinkSync(lock);
  }
}

/** Whether the lock's writer is gone (then the lock is removed): its pid runs no more, or it never wrote one and is old. */
function abandoned(lock: string): boolean {
  let text: string | undefined;
  // in bigint: the inode number exactly, which a number is not above 2^53
  let ino: bigint;
  try {
    ino = lstatSync(lock, { bigint: true }).ino;
    text = readDigest(lock);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ENOENT"; // released meanwhile: try again
  }
  if (text === undefined) return true; // released meanwhile: try again
  const pid = Number(text.trim());
  let gone: boolean;
  if (Number.isInteger(pid) && pid > 0) {
    try {
      process.kill(pid, 0);
      gone = false;
    } catch (err) {
      gone = (err as NodeJS.ErrnoException).code === "ESRCH";
    }
  } else {
    // made, but not yet written: give its writer a moment
    gone = Date.now() - lstatSync(lock).mtimeMs > LOCK_WAIT_MS;
  }
  // another writer that found it abandoned too may have removed it and made its own since: remove only the same file
  if (gone && lstatSync(lock, { throwIfNoEntry: false, bigint: true })?.ino === ino) {
    try {
      unlinkSync(lock);
    } catch {
      // another writer took it over first
    }
  }
  return gone;
}
