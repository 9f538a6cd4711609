// Directories watched through Covenant's own inotify reader (native/inotify.c): one watch per
// directory, never one per file (a watch on a directory reports its entries' changes), so memory
// and the per-user watch limit grow with directories. What it looks after, because inotify does
// not:
// - a new subdirectory is watched as it appears (to its root's depth), and scanned for what was
//   made in it before its watch existed;
// - a directory renamed away is no longer watched under its old name (its watch would follow it);
// - a root that is missing, deleted or renamed away is watched for from its nearest existing
//   ancestor (a "guard"), and watched again, and scanned, when it is back;
// - a watch refused for the per-user limit (ENOSPC, or the test cap) is remembered, said, and
//   tried again when a watch is freed and at every resync;
// - IN_Q_OVERFLOW (the kernel's queue was full, events were lost) is passed on.
import { lstatSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import type { InotifyAddon, InotifyHandle } from "../native/inotify.js";
import { parseInotifyEvents, type InotifyEvent } from "./inotify-events.js";
import type { WatchRoot } from "./watch-set.js";

export interface DirWatcherOptions {
  roots: WatchRoot[];
  addon: InotifyAddon;
  /** something at `path` changed; `whole`: the event names no entry (it may concern any of the directory's) */
  onChange(path: string, whole: boolean): void;
  /** the kernel's queue overflowed: events were lost (the watches are resynced already) */
  onOverflow(): void;
  /** the directories that should be watched and are not changed (empty: all are) */
  onUnwatched(paths: string[], cause: Error): void;
  /** a record the decoder could not read (a bug somewhere: said, the rest read) */
  onDecodeError(message: string): void;
  /** at most this many watches (tests: a simulated fs.inotify.max_user_watches) */
  maxWatches?: number;
}

export interface DirWatcher {
  /** adds what is missing (after an overflow, on the rescan timer): new directories, roots back, refused watches */
  resync(): void;
  /** tests: stop reading (the kernel queues, then overflows), or resume */
  pause(paused: boolean): void;
  watches(): number;
  unwatched(): string[];
  close(): void;
}

/** A watched directory: its watch, and how many levels below it are watched too (-1: a guard, for a missing root below it). */
interface Watched {
  wd: number;
  depth: number;
}

/** The error a refused watch gives, as the kernel's would (the test cap says it is one). */
function limitError(path: string, max: number): Error {
  return Object.assign(new Error(`inotify_add_watch ${path}: the watch cap of ${max} (COVENANT_WATCH_MAX_DIRS) is reached`), { code: "ENOSPC" });
}

function isDirectory(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The entries of `dir`, [] when it cannot be read (gone, or not a directory any more). */
function entries(dir: string): { name: string; dir: boolean }[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).map((d) => ({ name: d.name, dir: d.isDirectory() }));
  } catch {
    return [];
  }
}

function under(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir === "/" ? "/" : `${dir}/`);
}

export function watchDirectories(o: DirWatcherOptions): DirWatcher {
  const a = o.addon;
  const mask = a.IN_CREATE | a.IN_DELETE | a.IN_MODIFY | a.IN_ATTRIB | a.IN_CLOSE_WRITE | a.IN_MOVED_FROM | a.IN_MOVED_TO | a.IN_DELETE_SELF | a.IN_MOVE_SELF | a.IN_DONT_FOLLOW | a.IN_ONLYDIR | a.IN_EXCL_UNLINK;
  const roots = new Map(o.roots.map((r) => [r.path, r.depth]));
  const byPath = new Map<string, Watched>();
  const byWd = new Map<number, string>();
  /** roots not there now (missing, not a directory, gone): watched for from a guard */
  const lost = new Set<string>();
  /** directories refused a watch (the limit), with the depth they were wanted at */
  const refused = new Map<string, number>();
  let lastCause: Error = new Error("");
  let reported = "";
  let closed = false;
  const handle: InotifyHandle = a.open((bytes) => onBytes(bytes));

  /** Watches `path`: its watch, or the error (ENOENT, ENOTDIR, ENOSPC, ...). */
  const addOne = (path: string, depth: number): Error | undefined => {
    const had = byPath.get(path);
    if (had) {
      had.depth = Math.max(had.depth, depth);
      return undefined;
    }
    if (o.maxWatches !== undefined && byWd.size >= o.maxWatches) return limitError(path, o.maxWatches);
    try {
      const wd = a.addWatch(handle, path, mask);
      byPath.set(path, { wd, depth });
      byWd.set(wd, path);
      refused.delete(path);
      return undefined;
    } catch (err) {
      return err as Error;
    }
  };

  /**
   * Watches `top` and the directories below it to `depth`. `scan`: it is new since the watch
   * began, so its entries are told as changes (they may have been made before its watch).
   */
  const addTree = (top: string, depth: number, scan: boolean): Error | undefined => {
    let first: Error | undefined;
    const queue: [string, number][] = [[top, depth]];
    while (queue.length > 0) {
      const [dir, d] = queue.shift()!;
      const err = addOne(dir, d);
      if (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOSPC") {
          refused.set(dir, Math.max(refused.get(dir) ?? -1, d));
          lastCause = err;
        }
        if (dir === top) first = err;
        continue;
      }
      for (const e of entries(dir)) {
        const path = join(dir, e.name);
        if (scan) o.onChange(path, false);
        if (e.dir && d > 0) queue.push([path, d - 1]);
      }
    }
    return first;
  };

  /** Forgets the watches at and below `dir` (renamed away or deleted); removed from the kernel when `remove`. */
  const forget = (dir: string, remove: boolean): void => {
    for (const [path, w] of byPath) {
      if (!under(path, dir)) continue;
      byPath.delete(path);
      byWd.delete(w.wd);
      if (remove) a.rmWatch(handle, w.wd);
    }
    for (const path of refused.keys()) if (under(path, dir)) refused.delete(path);
  };

  /** A root watched, or, missing, watched for from its nearest existing ancestor. */
  const installRoot = (root: string, scan: boolean): void => {
    const err = addTree(root, roots.get(root)!, scan);
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    if (!err || code === "ENOSPC") {
      lost.delete(root);
      return;
    }
    lost.add(root);
    for (let up = dirname(root); ; up = dirname(up)) {
      if (isDirectory(up) && !addOne(up, byPath.get(up)?.depth ?? -1)) break;
      if (up === "/") break;
    }
    // made while the guard was being set: nothing would tell of it
    if (isDirectory(root) && !addTree(root, roots.get(root)!, true)) lost.delete(root);
  };

  /** A directory came (made, or moved in): a lost root back, or a new subdirectory of a watched one. */
  const appeared = (path: string): void => {
    for (const root of [...lost]) if (under(root, path)) installRoot(root, true);
    if (roots.has(path) && !byPath.has(path)) installRoot(path, true);
    const parent = byPath.get(dirname(path));
    if (parent && parent.depth >= 1) addTree(path, parent.depth - 1, true);
  };

  /** A directory went (deleted, or moved away): its watches, and the roots at or below it, lost. */
  const went = (path: string, moved: boolean): void => {
    forget(path, moved);
    for (const root of roots.keys()) if (under(root, path)) installRoot(root, false);
    // watches freed (renamed away): for directories refused one
    if (moved) retryRefused();
  };

  /**
   * Directories refused a watch, tried again; it stops at the first refused again (the limit is
   * still reached), so a user deleting directories one by one costs one try each, not a pass
   * over every refused directory.
   */
  const retryRefused = (): void => {
    // the map itself, not a copy: deleting the entry being visited is safe, and a copy would cost a pass
    for (const [path, depth] of refused) {
      if (!isDirectory(path) || byPath.has(path)) {
        refused.delete(path);
        continue;
      }
      if ((addTree(path, depth, true) as NodeJS.ErrnoException | undefined)?.code === "ENOSPC") break;
    }
  };

  const onEvent = (e: InotifyEvent): void => {
    if (e.wd === -1 && (e.mask & a.IN_Q_OVERFLOW) !== 0) {
      resync();
      o.onOverflow();
      return;
    }
    const dir = byWd.get(e.wd);
    if (dir === undefined) return; // a watch forgotten already (renamed away, removed)
    if ((e.mask & a.IN_IGNORED) !== 0) {
      // the directory is gone (or unmounted): its watch is freed, for a directory refused one
      forget(dir, false);
      if (roots.has(dir)) installRoot(dir, true);
      retryRefused();
      return;
    }
    const path = e.name === "" ? dir : join(dir, e.name);
    o.onChange(path, e.name === "");
    if (e.name !== "" && (e.mask & a.IN_ISDIR) !== 0) {
      if ((e.mask & (a.IN_CREATE | a.IN_MOVED_TO)) !== 0) appeared(path);
      else if ((e.mask & (a.IN_DELETE | a.IN_MOVED_FROM)) !== 0) went(path, (e.mask & a.IN_MOVED_FROM) !== 0);
    } else if (e.name === "" && (e.mask & a.IN_MOVE_SELF) !== 0) {
      // renamed away where no watched parent saw it go: what is at its path now is another matter
      went(dir, true);
    }
  };

  const report = (): void => {
    const now = [...refused.keys()].sort().join("\0");
    if (now === reported) return;
    reported = now;
    o.onUnwatched([...refused.keys()].sort(), lastCause);
  };

  const onBytes = (bytes: Buffer): void => {
    if (closed) return;
    const { events, error } = parseInotifyEvents(bytes);
    for (const e of events) onEvent(e);
    if (error) o.onDecodeError(error);
    report();
  };

  const resync = (): void => {
    for (const root of roots.keys()) installRoot(root, false);
    retryRefused();
  };

  for (const root of roots.keys()) installRoot(root, false);
  report();

  return {
    resync() {
      if (closed) return;
      resync();
      report();
    },
    pause(paused: boolean) {
      if (!closed) a.pause(handle, paused);
    },
    watches: () => byWd.size,
    unwatched: () => [...refused.keys()].sort(),
    close() {
      if (closed) return;
      closed = true;
      a.close(handle);
    },
  };
}
