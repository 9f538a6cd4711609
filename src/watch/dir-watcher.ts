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
  const w = new DirWatches(o);
  for (const root of w.roots.keys()) w.installRoot(root, false);
  w.report();

  return {
    resync() {
      if (w.closed) return;
      w.resync();
      w.report();
    },
    pause(paused: boolean) {
      if (!w.closed) o.addon.pause(w.handle, paused);
    },
    watches: () => w.byWd.size,
    unwatched: () => [...w.refused.keys()].sort(),
    close() {
      if (w.closed) return;
      w.closed = true;
      o.addon.close(w.handle);
    },
  };
}

/** The watches of one watcher, and what it does as the kernel tells it what happened. */
class DirWatches {
  private readonly addon: InotifyAddon;
  private readonly mask: number;
  /** the roots, with how many levels below each are watched */
  readonly roots: Map<string, number>;
  private readonly byPath = new Map<string, Watched>();
  readonly byWd = new Map<number, string>();
  /** roots not there now (missing, not a directory, gone): watched for from a guard */
  private readonly lost = new Set<string>();
  /** directories refused a watch (the limit), with the depth they were wanted at */
  readonly refused = new Map<string, number>();
  private lastCause: Error = new Error("");
  private reported = "";
  closed = false;
  readonly handle: InotifyHandle;

  constructor(private readonly o: DirWatcherOptions) {
    const a = o.addon;
    this.addon = a;
    this.mask = a.IN_CREATE | a.IN_DELETE | a.IN_MODIFY | a.IN_ATTRIB | a.IN_CLOSE_WRITE | a.IN_MOVED_FROM | a.IN_MOVED_TO | a.IN_DELETE_SELF | a.IN_MOVE_SELF | a.IN_DONT_FOLLOW | a.IN_ONLYDIR | a.IN_EXCL_UNLINK;
    this.roots = new Map(o.roots.map((r) => [r.path, r.depth]));
    this.handle = a.open((bytes) => this.onBytes(bytes));
  }

  /** Watches `path`: its watch, or the error (ENOENT, ENOTDIR, ENOSPC, ...). */
  private addOne(path: string, depth: number): Error | undefined {
    const had = this.byPath.get(path);
    if (had) {
      had.depth = Math.max(had.depth, depth);
      return undefined;
    }
    if (this.o.maxWatches !== undefined && this.byWd.size >= this.o.maxWatches) return limitError(path, this.o.maxWatches);
    try {
      const wd = this.addon.addWatch(this.handle, path, this.mask);
      this.byPath.set(path, { wd, depth });
      this.byWd.set(wd, path);
      this.refused.delete(path);
      return undefined;
    } catch (err) {
      return err as Error;
    }
  }

  /**
   * Watches `top` and the directories below it to `depth`. `scan`: it is new since the watch
   * began, so its entries are told as changes (they may have been made before its watch).
   */
  private addTree(top: string, depth: number, scan: boolean): Error | undefined {
    let first: Error | undefined;
    const queue: [string, number][] = [[top, depth]];
    while (queue.length > 0) {
      const [dir, d] = queue.shift()!;
      const err = this.addOne(dir, d);
      if (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOSPC") {
          this.refused.set(dir, Math.max(this.refused.get(dir) ?? -1, d));
          this.lastCause = err;
        }
        if (dir === top) first = err;
        continue;
      }
      for (const e of entries(dir)) {
        const path = join(dir, e.name);
        if (scan) this.o.onChange(path, false);
        if (e.dir && d > 0) queue.push([path, d - 1]);
      }
    }
    return first;
  }

  /** Forgets the watches at and below `dir` (renamed away or deleted); removed from the kernel when `remove`. */
  private forget(dir: string, remove: boolean): void {
    for (const [path, w] of this.byPath) {
      if (!under(path, dir)) continue;
      this.byPath.delete(path);
      this.byWd.delete(w.wd);
      if (remove) this.addon.rmWatch(this.handle, w.wd);
    }
    for (const path of this.refused.keys()) if (under(path, dir)) this.refused.delete(path);
  }

  /** A root watched, or, missing, watched for from its nearest existing ancestor. */
  installRoot(root: string, scan: boolean): void {
    const err = this.addTree(root, this.roots.get(root)!, scan);
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    if (!err || code === "ENOSPC") {
      this.lost.delete(root);
      return;
    }
    this.lost.add(root);
    for (let up = dirname(root); ; up = dirname(up)) {
      if (isDirectory(up) && !this.addOne(up, this.byPath.get(up)?.depth ?? -1)) break;
      if (up === "/") break;
    }
    // made while the guard was being set: nothing would tell of it
    if (isDirectory(root) && !this.addTree(root, this.roots.get(root)!, true)) this.lost.delete(root);
  }

  /** A directory came (made, or moved in): a lost root back, or a new subdirectory of a watched one. */
  private appeared(path: string): void {
    for (const root of [...this.lost]) if (under(root, path)) this.installRoot(root, true);
    if (this.roots.has(path) && !this.byPath.has(path)) this.installRoot(path, true);
    const parent = this.byPath.get(dirname(path));
    if (parent && parent.depth >= 1) this.addTree(path, parent.depth - 1, true);
  }

  /** A directory went (deleted, or moved away): its watches, and the roots at or below it, lost. */
  private went(path: string, moved: boolean): void {
    this.forget(path, moved);
    for (const root of this.roots.keys()) if (under(root, path)) this.installRoot(root, false);
    // watches freed (renamed away): for directories refused one
    if (moved) this.retryRefused();
  }

  /**
   * Directories refused a watch, tried again; it stops at the first refused again (the limit is
   * still reached), so a user deleting directories one by one costs one try each, not a pass
   * over every refused directory.
   */
  private retryRefused(): void {
    // the map itself, not a copy: deleting the entry being visited is safe, and a copy would cost a pass
    for (const [path, depth] of this.refused) {
      if (!isDirectory(path) || this.byPath.has(path)) {
        this.refused.delete(path);
        continue;
      }
      if ((this.addTree(path, depth, true) as NodeJS.ErrnoException | undefined)?.code === "ENOSPC") break;
    }
  }

  private onEvent(e: InotifyEvent): void {
    const a = this.addon;
    if (e.wd === -1 && (e.mask & a.IN_Q_OVERFLOW) !== 0) {
      this.resync();
      this.o.onOverflow();
      return;
    }
    const dir = this.byWd.get(e.wd);
    if (dir === undefined) return; // a watch forgotten already (renamed away, removed)
    if ((e.mask & a.IN_IGNORED) !== 0) {
      // the directory is gone (or unmounted): its watch is freed, for a directory refused one
      this.forget(dir, false);
      if (this.roots.has(dir)) this.installRoot(dir, true);
      this.retryRefused();
      return;
    }
    const path = e.name === "" ? dir : join(dir, e.name);
    this.o.onChange(path, e.name === "");
    if (e.name !== "" && (e.mask & a.IN_ISDIR) !== 0) {
      if ((e.mask & (a.IN_CREATE | a.IN_MOVED_TO)) !== 0) this.appeared(path);
      else if ((e.mask & (a.IN_DELETE | a.IN_MOVED_FROM)) !== 0) this.went(path, (e.mask & a.IN_MOVED_FROM) !== 0);
    } else if (e.name === "" && (e.mask & a.IN_MOVE_SELF) !== 0) {
      // renamed away where no watched parent saw it go: what is at its path now is another matter
      this.went(dir, true);
    }
  }

  report(): void {
    const now = [...this.refused.keys()].sort().join("\0");
    if (now === this.reported) return;
    this.reported = now;
    this.o.onUnwatched([...this.refused.keys()].sort(), this.lastCause);
  }

  private onBytes(bytes: Buffer): void {
    if (this.closed) return;
    const { events, error } = parseInotifyEvents(bytes);
    for (const e of events) this.onEvent(e);
    if (error) this.o.onDecodeError(error);
    this.report();
  }

  resync(): void {
    for (const root of this.roots.keys()) this.installRoot(root, false);
    this.retryRefused();
  }
}
