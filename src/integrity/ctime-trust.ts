// When a file's unchanged change time proves its content unchanged. Any write(2) moves a file's
// ctime, which no user can set, so an integrity check that finds a file's ctime and metadata as
// approved need not read it again (a tree of 20,000 files is compared at the speed of lstat).
// Not so for a write through a shared mapping: the kernel moves the times when a clean page is
// first written, and a page already dirty takes more writes without any (until it is written
// back, `vm.dirty_expire_centisecs` + `vm.dirty_writeback_centisecs` later, 35 s by default). So
// a state hashed while its ctime was that recent may not be what the page cache holds now: its
// content is read every time. And tmpfs and ramfs never move the times for a mapped write at all:
// their files are read every time. (Found by the attack tests of issue 15: content written
// through a mapping after its approval was never seen again.)
import { readFileSync, statfsSync } from "node:fs";

/** tmpfs (and so /dev/shm) and ramfs: a write through a mapping there moves no time ever. */
const NO_MAPPED_TIMES = new Set([0x01021994, 0x858458f6]);
const byDevice = new Map<number, boolean>();
let windowMs: number | undefined;

/** How long a page dirtied through a mapping may stay dirty (the kernel's writeback settings, with a margin). */
export function writebackWindowMs(procRoot = "/proc"): number {
  if (windowMs !== undefined) return windowMs;
  const centis = (name: string, fallback: number) => {
    try {
      const n = Number(readFileSync(`${procRoot}/sys/vm/${name}`, "latin1").trim());
      return Number.isFinite(n) && n >= 0 ? n : fallback;
    } catch {
      return fallback;
    }
  };
  windowMs = (centis("dirty_expire_centisecs", 3000) + centis("dirty_writeback_centisecs", 500)) * 10 + 5_000;
  return windowMs;
}

/** Whether files on the device of `path` move their times for a write through a mapping. */
function timesMoveOnMappedWrite(dev: number, path: string): boolean {
  const known = byDevice.get(dev);
  if (known !== undefined) return known;
  let moves = true;
  try {
    moves = !NO_MAPPED_TIMES.has(Number(statfsSync(path).type));
  } catch {
    moves = false;
  }
  byDevice.set(dev, moves);
  return moves;
}

/**
 * Whether an approved state's ctime, seen again unchanged, proves its content unchanged: the
 * ctime was older than the writeback window when the content was hashed (`hashedAt`, ISO), and the
 * file system moves times for mapped writes.
 */
export function ctimeProvesContent(ctimeMs: number, hashedAt: string, dev: number, path: string): boolean {
  const hashed = Date.parse(hashedAt);
  if (Number.isNaN(hashed) || hashed - ctimeMs < writebackWindowMs()) return false;
  return timesMoveOnMappedWrite(dev, path);
}
