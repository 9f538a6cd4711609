// File metadata (lstat, link targets) and streaming content hashes: a 10 GB ledger file is
// hashed in fixed-size chunks, never read into memory whole.
import { createHash } from "node:crypto";
import { closeSync, lstatSync, openSync, readlinkSync, readSync, type Stats } from "node:fs";
import { fromFsError, ok, type ProbeResult } from "./result.js";

export type FileType = "file" | "directory" | "symlink" | "socket" | "fifo" | "block-device" | "char-device";

export interface FileStat {
  path: string;
  type: FileType;
  /** permission bits and set-id/sticky bits (mode & 0o7777) */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeMs: number;
  inode: number;
  dev: number;
  nlink: number;
  /** where a symbolic link points (not followed) */
  linkTarget?: string;
}

function typeOf(st: Stats): FileType {
  if (st.isSymbolicLink()) return "symlink";
  if (st.isDirectory()) return "directory";
  if (st.isSocket()) return "socket";
  if (st.isFIFO()) return "fifo";
  if (st.isBlockDevice()) return "block-device";
  if (st.isCharacterDevice()) return "char-device";
  return "file";
}

/** Metadata of the path itself: a symbolic link is reported as a link, with its target. */
export function stat(path: string): ProbeResult<FileStat> {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch (err) {
    return fromFsError(err, path);
  }
  const out: FileStat = {
    path,
    type: typeOf(st),
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
    size: st.size,
    mtimeMs: st.mtimeMs,
    inode: st.ino,
    dev: st.dev,
    nlink: st.nlink,
  };
  if (out.type === "symlink") {
    try {
      out.linkTarget = readlinkSync(path);
    } catch (err) {
      return fromFsError(err, path);
    }
  }
  return ok(out);
}

export type HashAlgorithm = "sha256" | "sha512";

const CHUNK = 1 << 20;
// one buffer for every hash: hash() is synchronous, and a fresh 1 MiB per file made hashing
// 2,000 files allocate 2 GiB and spend a quarter of the run collecting garbage
const chunk = Buffer.allocUnsafe(CHUNK);

/** Hex digest of a file's content, read in 1 MiB chunks. */
export function hash(path: string, algorithm: HashAlgorithm): ProbeResult<{ digest: string; bytes: number }> {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    return fromFsError(err, path);
  }
  const h = createHash(algorithm);
  const buf = chunk;
  let bytes = 0;
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      h.update(n === CHUNK ? buf : buf.subarray(0, n));
      bytes += n;
    }
  } catch (err) {
    return fromFsError(err, path);
  } finally {
    closeSync(fd);
  }
  return ok({ digest: h.digest("hex"), bytes });
}

/** `0640` style text of permission bits. */
export function modeText(mode: number): string {
  return mode.toString(8).padStart(4, "0");
}
