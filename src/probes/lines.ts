// A text file as lines, with the byte range of each, so that an edit can keep every other byte
// as it was. Read without following a link (O_NOFOLLOW) and without waiting on a FIFO
// (O_NONBLOCK), up to a size limit: the file may be an adversary's.
import { createHash } from "node:crypto";
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { identityOfStats, type FileIdentity } from "./file-identity.js";
import { fail, fromFsError, ok, type ProbeResult } from "./result.js";

export interface TextLine {
  /** 1-based */
  number: number;
  /** byte offsets of the line in the file, without its newline */
  start: number;
  end: number;
  /** the line's bytes decoded as UTF-8 (an invalid byte reads as U+FFFD), without the newline */
  text: string;
}

export interface TextFile {
  lines: TextLine[];
  /** whether the last byte is a newline (an empty file: true, nothing to close) */
  endsWithNewline: boolean;
  size: number;
  /** sha256 of the bytes read: what an edit checks the file still holds */
  sha256: string;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  /** the file read (device and inode number, exactly): what an edit checks it still is */
  identity: FileIdentity;
}

/** Splits bytes into lines at each `\n`; never throws. A last line without a newline is a line. */
export function parse(bytes: Uint8Array): { lines: TextLine[]; endsWithNewline: boolean } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lines: TextLine[] = [];
  let start = 0;
  while (start < buf.length) {
    const nl = buf.indexOf(0x0a, start);
    const end = nl === -1 ? buf.length : nl;
    lines.push({ number: lines.length + 1, start, end, text: buf.toString("utf8", start, end) });
    start = end + 1;
  }
  return { lines, endsWithNewline: buf.length === 0 || buf[buf.length - 1] === 0x0a };
}

export const DEFAULT_MAX_BYTES = 4 * 1024 * 1024;

/** What is at a path where a regular file was looked for, and is not one: a link, a directory, a device. */
export interface NotAFile {
  notAFile: string;
}

/** The regular file at `path` as lines; what is there instead (a link, a directory) is said, not read. */
export function read(path: string, maxBytes = DEFAULT_MAX_BYTES): ProbeResult<TextFile | NotAFile> {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY | constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ELOOP") return ok({ notAFile: "a symbolic link (not followed)" });
    return fromFsError(err, path);
  }
  try {
    // in bigint, for the exact inode number (file-identity.ts)
    const big = fstatSync(fd, { bigint: true });
    if (!big.isFile()) return ok({ notAFile: big.isDirectory() ? "a directory" : "not a regular file" });
    const st = { size: Number(big.size), mode: Number(big.mode), uid: Number(big.uid), gid: Number(big.gid), nlink: Number(big.nlink) };
    if (st.size > maxBytes) return fail("malformed", `${path} is ${st.size} bytes, more than max_size (${maxBytes} bytes): it is not read`, path);
    const buf = Buffer.alloc(Math.min(st.size, maxBytes) + 1);
    let length = 0;
    // read one byte past the limit: a file grown since fstat is caught, not cut
    while (length < buf.length) {
      const n = readSync(fd, buf, length, buf.length - length, null);
      if (n === 0) break;
      length += n;
    }
    if (length > maxBytes) return fail("malformed", `${path} grew past max_size (${maxBytes} bytes) while being read: it is not read`, path);
    const bytes = buf.subarray(0, length);
    const parsed = parse(bytes);
    return ok({
      ...parsed,
      size: length,
      sha256: createHash("sha256").update(bytes).digest("hex"),
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
      nlink: st.nlink,
      identity: identityOfStats(big),
    });
  } catch (err) {
    return fromFsError(err, path);
  } finally {
    closeSync(fd);
  }
}
