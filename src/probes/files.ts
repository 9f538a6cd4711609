// File metadata (lstat, link targets) and streaming content hashes: a 10 GB ledger file is
// hashed in fixed-size chunks, never read into memory whole, and never holds up a timeout.
// Files are reached without following any symbolic link on the way (native/safe_fs.c), as the
// change gate reaches them, so that what is judged is what would be changed.
import { createHash } from "node:crypto";
import { closeSync, constants, fstatSync, lstatSync, openSync, read, readlinkSync, readSync, realpathSync, type BigIntStats } from "node:fs";
import { resolve } from "node:path";
import { safeFs } from "../native/safe-fs.js";
import { hexDigest } from "../text/digest.js";
import { identityOfStats, inodeExactOf, inodeExactOfBigInt, inodeNumber, sameObject, type FileIdentity } from "./file-identity.js";
import { fail, fromFsError, ok, type ProbeResult } from "./result.js";

// A path that is absolute and normal already (most paths a policy names) is what path.resolve
// would give: it is passed as it is, since resolve walks every character in JavaScript (~5 µs a
// call, twice for every file a run hashes). Anything else (relative, `//`, a `.` or `..`
// component, a trailing `/`) goes through resolve. `[^]`, not `.`, before the trailing `/`: `.`
// matches no line terminator, and `/etc/x\n/` kept the `/` that path.resolve drops.
const NOT_NORMAL = /\/\/|\/\.\.?(?:\/|$)|[^]\/$/;

/** path.resolve(path), without its cost for a path that is absolute and normal. */
export function resolvePath(path: string): string {
  return path.charCodeAt(0) === 47 && !NOT_NORMAL.test(path) ? path : resolve(path);
}

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
  /** the nearest double: exact below 2^53 (file-identity.ts) */
  inode: number;
  /** at 2^53 and above only (overlayfs with xino): the inode number's exact decimal text; identityOf() compares by it */
  inodeExact?: string;
  dev: number;
  nlink: number;
  /** where a symbolic link points (not followed) */
  linkTarget?: string;
}

/** The type in a mode's S_IFMT bits (lstat's and the addon's alike). */
export function typeOfMode(mode: number): FileType {
  switch (mode & constants.S_IFMT) {
    case constants.S_IFLNK:
      return "symlink";
    case constants.S_IFDIR:
      return "directory";
    case constants.S_IFSOCK:
      return "socket";
    case constants.S_IFIFO:
      return "fifo";
    case constants.S_IFBLK:
      return "block-device";
    case constants.S_IFCHR:
      return "char-device";
    default:
      return "file";
  }
}

/**
 * Metadata of the path itself: a symbolic link as the last component is reported as a link,
 * with its target. No link before it is followed (see reach()): a path that crosses one is an
 * error naming the link.
 */
export function stat(path: string): ProbeResult<FileStat> {
  let m: Metadata;
  try {
    m = metadataOf(path);
  } catch (err) {
    return safeFs() ? reachError(err, path) : fromFsError(err, path);
  }
  if (m.stat.type !== "symlink") return ok(m.stat);
  // the addon read it through the descriptor observed, not again by path
  if (m.linkTarget !== undefined) return ok({ ...m.stat, linkTarget: m.linkTarget });
  return withLinkTarget(m.stat);
}

interface Metadata {
  stat: FileStat;
  ctimeMs: number;
  /** a link's target, as the addon reads it with the metadata (without it: undefined) */
  linkTarget?: string;
}

/** The metadata of the path itself, never followed: by the addon in one call (statPath), or by lstat. Throws the system's error. */
function metadataOf(path: string): Metadata {
  const native = safeFs();
  if (native) {
    const linkTarget = native.statPath(resolvePath(path), statFields);
    const stat = fromStatFields(path);
    return linkTarget === undefined ? { stat, ctimeMs: statFields[Field.ctimeMs]! } : { stat, ctimeMs: statFields[Field.ctimeMs]!, linkTarget };
  }
  // in bigint, for the exact inode number; the rest is made what the numbers' lstat gives
  const st = lstatSync(path, { bigint: true });
  return { stat: fromBigIntStats(path, st), ctimeMs: msOf(st.ctimeNs) };
}

/** statPath's and fstat's output (native/safe_fs.c), read at once after each call; the positions as it writes them. */
const statFields = new Float64Array(11);
const enum Field {
  mode,
  uid,
  gid,
  size,
  mtimeMs,
  inode,
  dev,
  nlink,
  ctimeMs,
  inodeHigh,
  inodeLow,
}

function fromStatFields(path: string): FileStat {
  const mode = statFields[Field.mode]!;
  const stat: FileStat = { path, type: typeOfMode(mode), mode: mode & 0o7777, uid: statFields[Field.uid]!, gid: statFields[Field.gid]!, size: statFields[Field.size]!, mtimeMs: statFields[Field.mtimeMs]!, inode: statFields[Field.inode]!, dev: statFields[Field.dev]!, nlink: statFields[Field.nlink]! };
  const exact = inodeExactOf(statFields[Field.inodeHigh]!, statFields[Field.inodeLow]!);
  if (exact !== undefined) stat.inodeExact = exact;
  return stat;
}

/** The same from Node's bigint lstat, where the addon is missing: the numbers as Node's Stats has them. */
export function fromBigIntStats(path: string, st: BigIntStats): FileStat {
  const mode = Number(st.mode);
  const ino = inodeNumber(st);
  const stat: FileStat = { path, type: typeOfMode(mode), mode: mode & 0o7777, uid: Number(st.uid), gid: Number(st.gid), size: Number(st.size), mtimeMs: msOf(st.mtimeNs), inode: Number(ino), dev: Number(st.dev), nlink: Number(st.nlink) };
  const exact = inodeExactOfBigInt(ino);
  if (exact !== undefined) stat.inodeExact = exact;
  return stat;
}

/** Nanoseconds since the epoch as Node's Stats gives milliseconds: seconds * 1e3 + nanoseconds / 1e6. */
function msOf(ns: bigint): number {
  let seconds = ns / 1_000_000_000n;
  let rest = ns % 1_000_000_000n;
  // a time before 1970: the nanoseconds of a timespec are never negative
  if (rest < 0n) {
    seconds -= 1n;
    rest += 1_000_000_000n;
  }
  return Number(seconds) * 1e3 + Number(rest) / 1e6;
}

/** What an opened file is: its mode, size and exact identity (the addon's fstat, else Node's in bigint). */
function openedFile(fd: number): { mode: number; size: number; identity: FileIdentity } {
  const native = safeFs();
  if (!native) {
    const st = fstatSync(fd, { bigint: true });
    return { mode: Number(st.mode), size: Number(st.size), identity: identityOfStats(st) };
  }
  native.fstat(fd, statFields);
  const identity = { dev: statFields[Field.dev]!, ino: inodeExactOf(statFields[Field.inodeHigh]!, statFields[Field.inodeLow]!) ?? String(statFields[Field.inode]!) };
  return { mode: statFields[Field.mode]!, size: statFields[Field.size]!, identity };
}

/** Without the addon: a link's target read again by its path (Node has no readlinkat). */
function withLinkTarget(out: FileStat): ProbeResult<FileStat> {
  if (out.type === "symlink") {
    try {
      out.linkTarget = readlinkSync(out.path);
    } catch (err) {
      return fromFsError(err, out.path);
    }
  }
  return ok(out);
}

/**
 * Covenant observes and changes files only through paths that cross no symbolic link: a user who
 * can write a directory on the way could otherwise point a root run at /etc or /dev. This is the
 * error for a path that does, naming the link and the real path the policy should name.
 */
function reachError<T>(err: unknown, path: string): ProbeResult<T> {
  if ((err as NodeJS.ErrnoException).code !== "ELOOP") return fromFsError(err, path);
  const link = firstLink(path);
  let real = "";
  try {
    real = realpathSync(path);
  } catch {
    // the link leads nowhere: there is no real path to suggest
  }
  const fix = real && real !== path ? `; name the real path ${real} in the policy` : "";
  return fail("io", `${path} cannot be observed: ${link ?? "a component of its path"} is a symbolic link, and Covenant never reads or changes a file through a link${fix}`, path);
}

/** The first component of `path` that is a symbolic link now (for messages only). */
export function firstLink(path: string): string | undefined {
  let prefix = "";
  for (const part of resolvePath(path).split("/").filter(Boolean)) {
    prefix += `/${part}`;
    if (lstatSync(prefix, { throwIfNoEntry: false })?.isSymbolicLink()) return prefix;
  }
  return undefined;
}

export type HashAlgorithm = "sha256" | "sha512";

const CHUNK = 1 << 20;
// A file of at most this many bytes (most files a policy hashes) is read synchronously: two trips
// through libuv's thread pool per file (its content, then its end) left a 2,000-file run idle for
// a sixth to a quarter of its time (bench/run). The file is opened and its metadata read
// synchronously already, so a read stuck in the kernel blocks no more than before (the run's hard
// stop ends it, cli/hard-stop.ts); a file larger, or grown past it while read, is read
// asynchronously, as the timeouts need.
const SYNC_BYTES = 64 * 1024;
// One buffer shared by every hash while it is free: a fresh 1 MiB per file made hashing 2,000
// files allocate 2 GiB and spend a quarter of the run collecting garbage. A second hash running
// at the same time gets its own. Made at the first hash, not when the module loads: `run`'s
// start-up snapshot holds this module, and a buffer made then was written into the snapshot and
// made whole again in every run (1 MiB in the blob, 1 MiB more resident), where a buffer made at
// the first hash has only the pages its reads touch (64 KiB for a small file).
let shared: Buffer | undefined;
let sharedInUse = false;

export interface HashLimits {
  /** stop reading when aborted (the promise's timeout): an AbortSignal or anything with its `aborted` */
  signal?: { readonly aborted: boolean };
  /** refuse a file larger than this many bytes, without reading it */
  maxBytes?: number;
  /** the object the caller observed at this path (stat: identityOf): the opened file must be it, exactly (file-identity.ts) */
  expect?: FileIdentity;
  /**
   * also hand back the bytes hashed when the file has at most this many and fewer than SYNC_BYTES
   * (read whole at once, by one read: a file of exactly 64 KiB is not), so that a caller keeping a
   * copy of a small file has the very content the digest is of, without opening and reading it again
   */
  keepUpTo?: number;
}

// Read-only, never through a link, and never waiting: opening a FIFO for reading would block
// until a writer came, and a device has no end (/dev/zero as an approved copy hung a run forever).
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

function readChunk(fd: number, buf: Buffer): Promise<number> {
  return new Promise((resolve, reject) => read(fd, buf, 0, buf.length, null, (err, n) => (err ? reject(err) : resolve(n))));
}

/**
 * Hex digest of a regular file's content, read asynchronously in 1 MiB chunks (a small one at
 * once: SYNC_BYTES), so that the promise's and the run's timeouts fire while a large file is read
 * and stop the reading. Anything that is not a regular file (a FIFO, a device, a socket, a link)
 * is refused without reading it, as is a file that is not the one observed or is larger than
 * `maxBytes`.
 */
export async function hash(path: string, algorithm: HashAlgorithm, limits: HashLimits = {}): Promise<ProbeResult<{ digest: string; bytes: number; content?: Buffer }>> {
  let fd: number;
  const native = safeFs();
  try {
    // without following a link anywhere in the path (the last component included)
    fd = native ? native.resolve(resolvePath(path), -1, OPEN_FLAGS) : openSync(path, OPEN_FLAGS);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ELOOP") return fromFsError(err, path);
    if (lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink()) return fail("io", `${path} is a symbolic link: its content is not read`, path);
    return reachError(err, path);
  }
  let ownsShared = false;
  try {
    // made inside the try: a buffer that cannot be made (out of memory) still closes the file
    const buf = sharedInUse ? Buffer.allocUnsafe(CHUNK) : (shared ??= Buffer.allocUnsafe(CHUNK));
    ownsShared = buf === shared;
    if (ownsShared) sharedInUse = true;
    const st = openedFile(fd);
    if ((st.mode & constants.S_IFMT) !== constants.S_IFREG) return fail("io", `${path} is ${article(typeOfMode(st.mode))}, not a regular file: its content is not read`, path);
    if (limits.expect && !sameObject(st.identity, limits.expect)) {
      return fail("io", `${path} changed while being observed (replaced between its metadata and its content); observe it again`, path);
    }
    if (limits.maxBytes !== undefined && st.size > limits.maxBytes) {
      return fail("io", `${path} is ${sizeText(st.size)}, more than max_hash_size ${sizeText(limits.maxBytes)}: its content was not hashed`, path);
    }
    // a small file is read whole at once and hashed in one call (no Hash object), without a second
    // read for its end: a regular file's read returns less than was asked only at its end
    // (~15 µs a file of a 2,000-file run, bench/run)
    if (limits.signal?.aborted) return fail("io", `stopped hashing ${path} after 0 bytes: the timeout expired`, path);
    if (st.size < SYNC_BYTES) {
      const n = readSync(fd, buf, 0, SYNC_BYTES, null);
      if (n === st.size) {
        const read = buf.subarray(0, n);
        const digest = hexDigest(algorithm, read);
        // a copy: the shared buffer is the next file's
        return ok(limits.keepUpTo !== undefined && n <= limits.keepUpTo ? { digest, bytes: n, content: Buffer.from(read) } : { digest, bytes: n });
      }
      return await hashRead(fd, buf, n, path, algorithm, st.size, limits);
    }
    return await hashRead(fd, buf, 0, path, algorithm, st.size, limits);
  } catch (err) {
    return fromFsError(err, path);
  } finally {
    if (ownsShared) sharedInUse = false;
    closeSync(fd);
  }
}

/**
 * The digest of the rest of an opened file, its first `already` bytes in `buf`: small reads
 * synchronously, larger ones a chunk at a time asynchronously (see SYNC_BYTES).
 */
async function hashRead(fd: number, buf: Buffer, already: number, path: string, algorithm: HashAlgorithm, size: number, limits: HashLimits): Promise<ProbeResult<{ digest: string; bytes: number }>> {
  const h = createHash(algorithm);
  let bytes = already;
  if (already > 0) h.update(buf.subarray(0, already));
  for (;;) {
    // a file that grows while it is read is still bounded by the cap
    if (limits.maxBytes !== undefined && bytes > limits.maxBytes) return fail("io", `${path} grew past max_hash_size ${sizeText(limits.maxBytes)} while being hashed`, path);
    if (limits.signal?.aborted) return fail("io", `stopped hashing ${path} after ${sizeText(bytes)}: the timeout expired`, path);
    const n = size <= SYNC_BYTES && bytes <= SYNC_BYTES ? readSync(fd, buf, 0, SYNC_BYTES, null) : await readChunk(fd, buf);
    if (n === 0) break;
    h.update(n === CHUNK ? buf : buf.subarray(0, n));
    bytes += n;
  }
  return ok({ digest: h.digest("hex"), bytes });
}

function article(type: FileType): string {
  return type === "symlink" ? "a symbolic link" : type === "fifo" ? "a FIFO" : `a ${type}`;
}

/** 512 bytes, 4.0 KiB, 1.5 MiB, 16.0 GiB */
export function sizeText(bytes: number): string {
  if (bytes >= 1 << 30) return `${(bytes / (1 << 30)).toFixed(1)} GiB`;
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
  return bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${bytes} bytes`;
}

/** `0640` style text of permission bits. */
export function modeText(mode: number): string {
  return mode.toString(8).padStart(4, "0");
}

/**
 * The content of a small regular file, read as `hash` reads it (no link followed anywhere, never
 * a FIFO or device, the object observed or nothing): for the approved copy an integrity diff is
 * made against. A file larger than `maxBytes` is not read.
 */
export function readSmall(path: string, maxBytes: number, expect?: FileIdentity): ProbeResult<Buffer> {
  let fd: number;
  const native = safeFs();
  try {
    fd = native ? native.resolve(resolvePath(path), -1, OPEN_FLAGS) : openSync(path, OPEN_FLAGS);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ELOOP") return fromFsError(err, path);
    return fail("io", `${path} is reached through a symbolic link: its content is not read`, path);
  }
  try {
    const st = openedFile(fd);
    if ((st.mode & constants.S_IFMT) !== constants.S_IFREG) return fail("io", `${path} is ${article(typeOfMode(st.mode))}, not a regular file: its content is not read`, path);
    if (expect && !sameObject(st.identity, expect)) return fail("io", `${path} changed while being observed (replaced between its metadata and its content)`, path);
    if (st.size > maxBytes) return fail("io", `${path} is ${sizeText(st.size)}, more than the ${sizeText(maxBytes)} kept`, path);
    const buf = Buffer.allocUnsafe(maxBytes + 1);
    let n = 0;
    for (;;) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
      if (n > maxBytes) return fail("io", `${path} grew past the ${sizeText(maxBytes)} kept while being read`, path);
    }
    return ok(Buffer.from(buf.subarray(0, n)));
  } catch (err) {
    return fromFsError(err, path);
  } finally {
    closeSync(fd);
  }
}

/**
 * The metadata of the path itself (as `stat`) and its change time, which no user can set: an
 * integrity check that finds a regular file's metadata and ctime as approved need not read its
 * content again (any write moves the ctime).
 */
export function statWithChangeTime(path: string): { stat: FileStat; ctimeMs: number } | undefined {
  let m: Metadata;
  try {
    m = metadataOf(path);
  } catch {
    return undefined;
  }
  return m.stat.type === "symlink" ? undefined : { stat: m.stat, ctimeMs: m.ctimeMs };
}
