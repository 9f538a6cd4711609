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
import { readFileSync } from "node:fs";
import { splitDevice } from "../probes/locks.js";
import { read as readMounts } from "../probes/mountinfo.js";

/** tmpfs (and so /dev/shm) and ramfs: a write through a mapping there moves no time ever. */
const NO_MAPPED_TIMES = new Set(["tmpfs", "ramfs"]);
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

/**
 * Whether files on device `dev` move their times for a write through a mapping: the file system
 * type of the mount with that device number in /proc/self/mountinfo (never asked of a path, which
 * a user could swap for a link to another file system); one not found is not trusted.
 */
function timesMoveOnMappedWrite(dev: number): boolean {
  const known = byDevice.get(dev);
  if (known !== undefined) return known;
  const { major, minor } = splitDevice(dev);
  const mounts = readMounts({ proc: "/proc" });
  const mount = mounts.ok ? mounts.value.find((m) => m.major === major && m.minor === minor) : undefined;
  const moves = mount !== undefined && !NO_MAPPED_TIMES.has(mount.fsType);
  // only an answer from a mount found is kept: a device mounted later is looked up again
  if (mount !== undefined) byDevice.set(dev, moves);
  return moves;
}

/**
 * Whether an approved state's ctime, seen again unchanged, proves its content unchanged: the
 * ctime was older than the writeback window when the content was hashed (`hashedAt`, ISO), and the
 * file system moves times for mapped writes.
 */
export function ctimeProvesContent(ctimeMs: number, hashedAt: string, dev: number): boolean {
  const hashed = Date.parse(hashedAt);
  if (Number.isNaN(hashed) || hashed - ctimeMs < writebackWindowMs()) return false;
  return timesMoveOnMappedWrite(dev);
}
