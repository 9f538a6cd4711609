// Which object a path names, told exactly: its device and inode number.
//
// Covenant, as root, checks that the object it opens is the one it observed (stat, then open, then
// compare), so that a file swapped in between is neither read for the other nor changed. Inode
// numbers are 64 bits, and a JavaScript number holds an integer exactly only below 2^53: above it,
// numbers that differ in their low bits are one double. That happens for real: overlayfs with
// xino puts a lower layer's index in the top bits (numbers from 2^63 up, where a double's step is
// 2048), so a file renamed over its neighbour in the same layer has another inode number that
// rounds to the same double, and a comparison of doubles let the swap through.
//
// So an identity carries the inode number as its decimal text, every digit kept: from the native
// helper's two exact 32-bit halves (native/safe_fs.c, STAT_FIELDS), or from Node's bigint stats.
// A FileStat keeps its `inode` a number (approved states and findings store and show it) and adds
// `inodeExact`, the text, only where the number is not exact: at 2^53 and above.
//
// Device numbers need no such care: stat gives the kernel's 32-bit encoding (new_encode_dev, 12
// bits of major and 20 of minor), which a number holds exactly.
import { fstatSync, lstatSync, statSync, type BigIntStats } from "node:fs";

export interface FileIdentity {
  dev: number;
  /** the inode number in decimal, every digit (a number would round it above 2^53) */
  ino: string;
}

/** The inode fields of a FileStat, or of a state stored from one. */
export interface InodeFields {
  dev: number;
  /** the nearest double: exact below 2^53 */
  inode: number;
  /** at 2^53 and above only: the exact decimal text (absent below, and in states stored before it was kept) */
  inodeExact?: string | undefined;
}

/** 2^53 / 2^32: an inode number whose high half reaches this is not exact as a double. */
const INEXACT_HIGH = 0x200000;

/** Whether two identities are one object. */
export function sameObject(a: FileIdentity, b: FileIdentity): boolean {
  return a.ino === b.ino && a.dev === b.dev;
}

/** The identity a FileStat (or a state made from one) describes. */
export function identityOf(st: InodeFields): FileIdentity {
  return { dev: st.dev, ino: st.inodeExact ?? String(st.inode) };
}

/** The identity in Node's bigint stats (`{ bigint: true }`). */
export function identityOfStats(st: BigIntStats): FileIdentity {
  return { dev: Number(st.dev), ino: inodeNumber(st).toString() };
}

/**
 * The inode number in Node's bigint stats, as the kernel gives it. Node keeps them in a
 * BigInt64Array, signed: 2^63 + 2, a lower layer's file under overlayfs xino, reads as
 * -9223372036854775806.
 */
export function inodeNumber(st: BigIntStats): bigint {
  return BigInt.asUintN(64, st.ino);
}

/** The identity of what an open descriptor refers to. */
export function identityOfDescriptor(fd: number): FileIdentity {
  return identityOfStats(fstatSync(fd, { bigint: true }));
}

/** The identity of what `path` names (`follow`: after following a link as its last component; else the link itself). Throws as lstat does. */
export function identityOfPath(path: string, follow = false): FileIdentity {
  return identityOfStats(follow ? statSync(path, { bigint: true }) : lstatSync(path, { bigint: true }));
}

/**
 * `inodeExact` from the two 32-bit halves the native helper writes (native/safe_fs.c): the
 * decimal text when the number is 2^53 or more, undefined below (where the double is exact).
 */
export function inodeExactOf(high: number, low: number): string | undefined {
  return high < INEXACT_HIGH ? undefined : ((BigInt(high) << 32n) | BigInt(low)).toString();
}

/** The same from Node's bigint inode number. */
export function inodeExactOfBigInt(ino: bigint): string | undefined {
  return ino < 2n ** 53n ? undefined : ino.toString();
}

/** An inode number as text, every digit: for findings and messages. */
export function inodeText(st: InodeFields): string {
  return st.inodeExact ?? String(st.inode);
}

/**
 * Whether a stored state's object (`stored`: an approved state, or one remembered from an earlier
 * observation) is the one observed now. Exact where both carry what is needed; a state stored
 * before `inodeExact` was kept has, at 2^53 and above, only the double, and is compared as it was
 * then (by the double) rather than reported replaced on every run until it is approved again.
 */
export function sameStoredObject(stored: InodeFields, now: InodeFields): boolean {
  if (stored.dev !== now.dev || stored.inode !== now.inode) return false;
  return stored.inodeExact === now.inodeExact || stored.inodeExact === undefined;
}
