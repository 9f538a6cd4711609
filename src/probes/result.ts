// What every probe returns. A probe never throws past its boundary: it either observed
// something (possibly skipping some input, each skip counted with its reason) or it could
// not observe at all, and says precisely why. Nothing unreadable is ever reported as zero.
import { closeSync, constants, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { open } from "node:fs/promises";

export type ProbeErrorCode =
  /** the file or directory does not exist (e.g. no IPv6 on this host) */
  | "not-found"
  /** permission denied */
  | "denied"
  /** the content could not be understood at all */
  | "malformed"
  /** the thing observed is not available on this host (e.g. systemd not running) */
  | "unavailable"
  /** any other I/O failure */
  | "io";

export interface ProbeError {
  code: ProbeErrorCode;
  message: string;
  path?: string;
}

/** Input a probe passed over: a malformed line, a process that vanished while being read. */
export interface Skip {
  path: string;
  line?: number;
  reason: string;
}

export type ProbeResult<T> = { ok: true; value: T; skipped: Skip[] } | { ok: false; error: ProbeError };

export function ok<T>(value: T, skipped: Skip[] = []): ProbeResult<T> {
  return { ok: true, value, skipped };
}

export function fail<T>(code: ProbeErrorCode, message: string, path?: string): ProbeResult<T> {
  const error: ProbeError = { code, message };
  if (path !== undefined) error.path = path;
  return { ok: false, error };
}

/** Maps a Node file-system error to a probe error. */
export function fromFsError<T>(err: unknown, path: string): ProbeResult<T> {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOENT" || code === "ENOTDIR") return fail("not-found", `${path} does not exist`, path);
  if (code === "EACCES" || code === "EPERM") return fail("denied", `permission denied reading ${path}`, path);
  return fail("io", `cannot read ${path}: ${(err as Error).message}`, path);
}

/**
 * Reads a /proc file's bytes. Such files report size 0 and are produced a page at a time, so
 * Node's readFileSync grows and joins many small buffers; reading into one buffer that
 * doubles when full avoids the copying (tens of milliseconds for the tcp table of a busy
 * server).
 */
export function readProcBytes(path: string): Buffer {
  // never waits for a writer: a FIFO planted where a /proc or /etc file is read gives EOF or
  // EAGAIN at once instead of hanging the run
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    let buf = Buffer.allocUnsafe(1 << 20);
    let length = 0;
    for (;;) {
      if (length === buf.length) {
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, length);
        buf = bigger;
      }
      const n = readSync(fd, buf, length, buf.length - length, null);
      if (n === 0) break;
      length += n;
    }
    return buf.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}

/**
 * readProcBytes of a file that may be large (a configuration file anyone who can write it may
 * have grown): its bytes, or, when it holds more than `maxBytes`, its size as far as it was
 * seen, without reading it whole (fstat's size first, then one byte past the limit at most, so
 * that a file grown since, or one whose fstat says 0, is caught too).
 */
export function readBytesAtMost(path: string, maxBytes: number): { bytes: Buffer } | { tooBig: number } {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const size = fstatSync(fd).size;
    if (size > maxBytes) return { tooBig: size };
    // room for what fstat says and one byte more, grown (up to one byte past the limit) if it is not all
    let buf = Buffer.allocUnsafe(Math.min(Math.max(size, 1 << 16), maxBytes) + 1);
    let length = 0;
    for (;;) {
      if (length === buf.length) {
        if (length > maxBytes) return { tooBig: length };
        const bigger = Buffer.allocUnsafe(Math.min(buf.length * 2, maxBytes + 1));
        buf.copy(bigger, 0, 0, length);
        buf = bigger;
      }
      const n = readSync(fd, buf, length, buf.length - length, null);
      if (n === 0) break;
      length += n;
    }
    return length > maxBytes ? { tooBig: length } : { bytes: buf.subarray(0, length) };
  } finally {
    closeSync(fd);
  }
}

/** A /proc file's text (see readProcBytes). */
export function readProcText(path: string, encoding: "latin1" | "utf8" = "latin1"): string {
  return readProcBytes(path).toString(encoding);
}

/**
 * readProcBytes off the event loop (libuv's threadpool): for a file whose read the kernel makes
 * slow, such as /proc/locks (several ms when it was not read in the last moments, on this VM),
 * read while the caller goes on.
 */
export async function readProcBytesAsync(path: string): Promise<Buffer> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const parts: Buffer[] = [];
    for (;;) {
      const buf = Buffer.allocUnsafe(1 << 16);
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      parts.push(buf.subarray(0, bytesRead));
    }
    return Buffer.concat(parts);
  } finally {
    await fh.close();
  }
}

/** readText off the event loop (readProcBytesAsync). */
export async function readTextAsync(path: string, encoding: "latin1" | "utf8" = "latin1"): Promise<{ ok: true; text: string } | { ok: false; result: ProbeResult<never> }> {
  try {
    return { ok: true, text: (await readProcBytesAsync(path)).toString(encoding) };
  } catch (err) {
    return { ok: false, result: fromFsError(err, path) };
  }
}

/** The text of a /proc (or /etc) file, or the reason it cannot be read. */
export function readText(path: string, encoding: "latin1" | "utf8" = "latin1"): { ok: true; text: string } | { ok: false; result: ProbeResult<never> } {
  try {
    return { ok: true, text: readProcText(path, encoding) };
  } catch (err) {
    return { ok: false, result: fromFsError(err, path) };
  }
}

/** The most a recorded answer (ProbeRoots.answers) may hold: rpm -qa of a large host is well under 1 MiB. */
const ANSWER_LIMIT = 16 << 20;

/**
 * A recorded answer of a sandbox (`<answers>/rpm-qa`, `units.json`): a regular file reached
 * without following a link, at most 16 MiB, as UTF-8. The sandbox's owner could swap it for a
 * link to another file or a device between runs; it is then refused, never read.
 */
export function readAnswer(path: string): { ok: true; text: string } | { ok: false; result: ProbeResult<never> } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY | constants.O_NOFOLLOW);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === "ELOOP") return { ok: false, result: fail("malformed", `${path} is a symbolic link, not a recorded answer`, path) };
    return { ok: false, result: fromFsError(err, path) };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { ok: false, result: fail("malformed", `${path} is not a regular file`, path) };
    if (st.size > ANSWER_LIMIT) return { ok: false, result: fail("malformed", `${path} is ${st.size} bytes, more than a recorded answer may be (${ANSWER_LIMIT})`, path) };
    return { ok: true, text: readFileSync(fd, "utf8") };
  } catch (err) {
    return { ok: false, result: fromFsError(err, path) };
  } finally {
    closeSync(fd);
  }
}

/** Where probes read from: `/proc` and `/etc` by default, a fixture tree in tests, `/host/proc` in a container. */
export interface ProbeRoots {
  proc: string;
  etc: string;
  /** `/run` by default: where systemd leaves its marker (`systemd/system`) when it is PID 1 */
  run?: string;
  /**
   * A directory of recorded answers of programs that cannot run here (a sandbox's): `rpm-qa`, what
   * `rpm -qa --qf QUERY_FORMAT` prints, and `units.json`, what `systemctl show` says of each unit.
   * Where set, probes read these instead of running the programs.
   */
  answers?: string;
}

export const defaultRoots: ProbeRoots = { proc: "/proc", etc: "/etc" };
