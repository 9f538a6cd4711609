// Reading and writing the small files beside the store (host key, head anchor, run lock) as root
// must never follow a link someone planted, block on a FIFO, or leave a half-written file. Reads
// open without following links and without blocking, and refuse anything but a regular file of a
// bounded size; writes go to a new file with a random name created exclusively, then take its
// place by rename (replace) or link (create only if absent), so the named file is whole or absent.
import { randomBytes } from "node:crypto";
import { closeSync, constants, fchmodSync, fstatSync, fsyncSync, linkSync, openSync, readSync, renameSync, rmSync, writeSync, type Stats } from "node:fs";
import { basename, dirname, join } from "node:path";
import { kindOf } from "../trust/strict-modes.js";
import { describeErrno, StoreError } from "./errors.js";

// libuv opens every file close-on-exec itself
const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK } = constants;

/**
 * The content of a small regular file, or undefined when it does not exist. A link, FIFO,
 * device, socket or directory in its place, or a file larger than `maxBytes`, is a StoreError
 * naming it: such a file was not written by Covenant, and reading it could block forever.
 * `judge` says what else refuses the file opened (its owner, its mode), from its descriptor.
 */
export function readRegularFile(path: string, what: string, maxBytes: number, judge?: (st: Stats) => string | undefined): string | undefined {
  return readRegularBytes(path, what, maxBytes, judge)?.toString("utf8");
}

/** As readRegularFile, the bytes as they are (a binary file: the policy cache). */
export function readRegularBytes(path: string, what: string, maxBytes: number, judge?: (st: Stats) => string | undefined): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    throw new StoreError(`${what} ${path} cannot be read: ${describeErrno(err)}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new StoreError(`${what} ${path} is not a regular file (${kindOf(st)}): Covenant never writes one there; remove it`);
    if (st.size > maxBytes) throw new StoreError(`${what} ${path} is ${st.size} bytes, more than the ${maxBytes} it can be: it was not written by Covenant`);
    // judged on the descriptor read, not on an earlier lstat: nothing can be swapped in between
    const refused = judge?.(st);
    if (refused) throw new StoreError(refused);
    // sized by the file (one byte more, to see it grow), grown up to the bound if it grows
    let buf = Buffer.alloc(st.size + 1);
    let length = 0;
    for (;;) {
      if (length === buf.length) buf = Buffer.concat([buf, Buffer.alloc(Math.min(buf.length, maxBytes + 1 - buf.length))]);
      const n = readSync(fd, buf, length, buf.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > maxBytes) throw new StoreError(`${what} ${path} is more than ${maxBytes} bytes: it was not written by Covenant`);
    }
    return buf.subarray(0, length);
  } catch (err) {
    if (err instanceof StoreError) throw err;
    throw new StoreError(`${what} ${path} cannot be read: ${describeErrno(err)}`);
  } finally {
    closeSync(fd);
  }
}

export { kindOf };

/**
 * Writes `content` to a new file beside `path`, with a random name nobody can have planted; `mode`
 * is set on its descriptor (no umask), 0600 unless given.
 */
function writeTemporary(path: string, content: string | Buffer, sync: boolean, mode?: number): string {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(8).toString("hex")}.tmp`);
  // O_EXCL with O_CREAT fails on any existing name, a link included; O_NOFOLLOW says so twice
  const fd = openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  try {
    if (mode !== undefined) fchmodSync(fd, mode);
    const bytes = Buffer.from(content);
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
    if (sync) fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  return tmp;
}

/**
 * Replaces `path` with a file holding `content`, whole or not at all: a link planted at the
 * name is replaced, never followed. Errors are the system's (the caller says what failed).
 */
export function replaceFile(path: string, content: string | Buffer, opts: { sync?: boolean; mode?: number } = {}): void {
  const tmp = writeTemporary(path, content, opts.sync ?? false, opts.mode);
  try {
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Creates `path` holding `content` if nothing is there, atomically: returns false when the name
 * exists (whatever it is). The file appears complete or not at all, so a full disk never leaves
 * an empty one behind.
 */
export function createFileExclusively(path: string, content: string | Buffer, opts: { sync?: boolean; mode?: number } = {}): boolean {
  const tmp = writeTemporary(path, content, opts.sync ?? false, opts.mode);
  try {
    linkSync(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
}
