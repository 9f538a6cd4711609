// Reading one policy file, bounded: a policy is text someone wrote, so anything else in its place
// (a FIFO or device that would block or never end, a socket, a file larger than any policy, bytes
// that are not UTF-8) is refused with a reason, never read into memory, and never waited on.
// The path given is a real path (no link in it); the file is opened without following a link
// (one swapped in since is refused) and without blocking, judged on its descriptor, and read
// up to the cap and one byte more, so a file that grows while read is refused too.
import { isUtf8 } from "node:buffer";
import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, readSync, type BigIntStats, type Stats } from "node:fs";
import { identityOfDescriptor, identityOfStats, sameObject, type FileIdentity } from "../probes/file-identity.js";
import { kindOf } from "../trust/strict-modes.js";

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK, O_NOCTTY } = constants;

/** The largest policy file read unless `--max-file-size` says otherwise: far above any real policy, far below what would exhaust memory. */
export const DEFAULT_MAX_FILE_SIZE = 16 * 1024 * 1024;

/**
 * The largest `--max-file-size` accepted. Above it, the file's text would not fit in one
 * JavaScript string (about 512 Mi UTF-16 units) with room to spare, and parsing it would take
 * gigabytes.
 */
export const LARGEST_MAX_FILE_SIZE = 256 * 1024 * 1024;

export type PolicyRead =
  /** `identity`: the file read, exactly (fmt rewrites it only while it is still that file) */
  | { ok: true; text: string; st: Stats; identity: FileIdentity }
  /** E006 cannot be read, E008 too large, E009 not a regular file: `problem` follows the file's name */
  | { ok: false; code: "E006" | "E008" | "E009"; problem: string }
  /** E122: `judge` refused the file as opened (`problem` is the whole message) */
  | { ok: false; code: "E122"; problem: string }
  /** E007: `text` is what precedes the first byte that is not UTF-8, at UTF-16 offset `offset` */
  | { ok: false; code: "E007"; problem: string; text: string; offset: number };

/** `16 MiB`, `512 KiB`, `100 bytes`: a size as people read it. */
export function sizeText(bytes: number): string {
  for (const [unit, n] of [["GiB", 1024 ** 3], ["MiB", 1024 ** 2], ["KiB", 1024]] as const) if (bytes >= n && bytes % n === 0) return `${bytes / n} ${unit}`;
  return `${bytes} bytes`;
}

/** Why a file or directory could not be reached, in words: for E006 and E110. */
export function errnoReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "no such file or directory";
  if (code === "EACCES") return "permission denied";
  if (code === "EISDIR") return "is a directory";
  if (code === "ENOTDIR") return "not a directory";
  if (code === "ELOOP") return "too many symbolic links";
  return code ?? (err as Error).message;
}

/** As errnoReason, for a file opened without following links after its lstat: ELOOP means a link replaced it. */
function errnoText(err: unknown): string {
  return (err as NodeJS.ErrnoException).code === "ELOOP" ? "a symbolic link took its place while it was read" : errnoReason(err);
}

/**
 * `judge`, when given, is asked about the file as opened, before a byte of it is read: a file it
 * refuses is never read, so nothing of its content can reach a diagnostic.
 */
export function readPolicyFile(real: string, maxBytes: number, judge?: (st: Stats) => string | undefined, isReal = true): PolicyRead {
  // in bigint: the file opened must be this one exactly (an inode number above 2^53 is no number)
  let before: BigIntStats;
  try {
    before = lstatSync(real, { bigint: true });
  } catch (err) {
    return { ok: false, code: "E006", problem: errnoText(err) };
  }
  // never opened: opening a device can act on it (a tape rewinds), a FIFO would wait for a writer
  if (!before.isFile()) return { ok: false, code: "E009", problem: `is ${kindOf(before)}, not a regular file` };
  const tooLarge = (size: string) => ({ ok: false as const, code: "E008" as const, problem: `is ${size}, more than the ${sizeText(maxBytes)} a policy file may be` });
  if (before.size > BigInt(maxBytes)) return tooLarge(`${before.size} bytes`);
  let fd: number;
  try {
    fd = openSync(real, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
  } catch (err) {
    return { ok: false, code: "E006", problem: errnoText(err) };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { ok: false, code: "E009", problem: `is ${kindOf(st)}, not a regular file` };
    const identity = identityOfDescriptor(fd);
    if (!sameObject(identity, identityOfStats(before))) return { ok: false, code: "E006", problem: "was replaced while it was read" };
    // O_NOFOLLOW guards the last component only: a directory on the way swapped for a link since
    // the path was resolved (and judged inside the policy's directories) would lead elsewhere.
    // The kernel says where the file opened is; it must be where the path was resolved to.
    if (isReal) {
      const opened = openedPath(fd);
      if (opened !== undefined && opened !== real) return { ok: false, code: "E006", problem: "was reached through a link that took the place of a directory on its path while it was read" };
    }
    const refused = judge?.(st);
    if (refused !== undefined) return { ok: false, code: "E122", problem: refused };
    const bytes = readAtMost(fd, st.size, maxBytes);
    if (bytes === undefined) return tooLarge(`more than ${sizeText(maxBytes)} (it grew while it was read)`);
    return decode(bytes, st, identity);
  } catch (err) {
    return { ok: false, code: "E006", problem: errnoText(err) };
  } finally {
    closeSync(fd);
  }
}

/** Where the kernel says the file open as `fd` is, or undefined where /proc cannot tell. */
function openedPath(fd: number): string | undefined {
  try {
    const p = readlinkSync(`/proc/self/fd/${fd}`);
    return p.startsWith("/") && !p.endsWith(" (deleted)") ? p : undefined;
  } catch {
    return undefined;
  }
}

/** The file's bytes, or undefined when there are more than `maxBytes`; `size` (from fstat) is a first guess only. */
function readAtMost(fd: number, size: number, maxBytes: number): Buffer | undefined {
  let buf = Buffer.allocUnsafe(Math.min(maxBytes, Math.max(size, 4096)) + 1);
  let length = 0;
  for (;;) {
    if (length === buf.length) {
      if (length > maxBytes) return undefined;
      const bigger = Buffer.allocUnsafe(Math.min(maxBytes + 1, buf.length * 2));
      buf.copy(bigger, 0, 0, length);
      buf = bigger;
    }
    const n = readSync(fd, buf, length, buf.length - length, null);
    if (n === 0) break;
    length += n;
  }
  return length > maxBytes ? undefined : buf.subarray(0, length);
}

function decode(bytes: Buffer, st: Stats, identity: FileIdentity): PolicyRead {
  if (isUtf8(bytes)) return { ok: true, text: bytes.toString("utf8"), st, identity };
  const bad = firstInvalidUtf8(bytes);
  const text = bytes.subarray(0, bad).toString("utf8");
  // the byte itself, in hex: it says which encoding the file is in (0xe9 is Latin-1's é), and one byte echoes nothing
  const byte = `0x${bytes[bad]!.toString(16).padStart(2, "0")}`;
  return { ok: false, code: "E007", problem: `is not UTF-8: the bytes from ${byte} here do not form a UTF-8 character (convert the file, e.g. with iconv -t UTF-8)`, text, offset: text.length };
}

/**
 * The offset of the first byte that does not belong to well-formed UTF-8 (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), that is, where the sequence it starts or
 * continues breaks; -1 when every byte does.
 */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0) lo = 0xa0;
      if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= need; k++) {
      const x = b[i + k];
      const [min, max] = k === 1 ? [lo, hi] : [0x80, 0xbf];
      if (x === undefined || x < min || x > max) return i;
    }
    i += need + 1;
  }
  return -1;
}
