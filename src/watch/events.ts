// inotify events, through chokidar, as batches of the promises they may have changed. Events
// that come close together (a burst of writes, an editor's write-then-rename) are coalesced: the
// first starts a short window, and what arrives within it joins the same batch, so a promise is
// evaluated once per burst rather than once per write. A full inotify table is said in words
// that name the kernel setting to raise, never left as a silent gap.
import { lstatSync } from "node:fs";
import { basename, join } from "node:path";
import chokidar, { type FSWatcher } from "chokidar";
import type { WatchSet } from "./watch-set.js";

export interface Batch {
  /** promise keys, in policy order, each once */
  keys: string[];
  /** the paths the events named, each once, in arrival order */
  paths: string[];
  /** when the first event of the batch arrived (ms since the epoch) */
  firstAt: number;
}

export interface WatchProblem {
  kind: "watch-limit" | "instance-limit" | "error";
  /** what happened, in words for a person: which kernel setting to raise, or the error */
  message: string;
}

export interface EventSourceOptions {
  /** how long after a batch's first event others still join it, ms */
  coalesceMs?: number;
  onBatch(batch: Batch): void;
  onProblem(problem: WatchProblem): void;
  /** the clock, for tests */
  now?: () => number;
}

export interface EventSource {
  /** resolves once the initial scan is done: events from then on are changes */
  ready: Promise<void>;
  close(): Promise<void>;
}

/** What an error from the watcher means: the two inotify limits are said as such. */
export function problemOf(err: unknown): WatchProblem {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ENOSPC") {
    return { kind: "watch-limit", message: "inotify's watch limit is reached (fs.inotify.max_user_watches): changes under some watched paths are not seen as they happen; raise it (sysctl fs.inotify.max_user_watches) or watch fewer paths" };
  }
  if (code === "EMFILE") {
    return { kind: "instance-limit", message: "inotify's instance limit is reached (fs.inotify.max_user_instances) or the process is out of file descriptors: changes are not seen as they happen; raise fs.inotify.max_user_instances" };
  }
  return { kind: "error", message: `the file watcher failed: ${(err as Error | undefined)?.message ?? String(err)}` };
}

/** Whether `path` is a directory now (not following a final link). */
function isDirectory(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

export function watchEvents(set: WatchSet, opts: EventSourceOptions): EventSource {
  let closed = false;
  const coalesceMs = opts.coalesceMs ?? 10;
  const now = opts.now ?? Date.now;
  let pending: { keys: Set<string>; paths: Set<string>; firstAt: number } | undefined;
  const order = new Map(set.targets.map((t, i) => [t.key, i]));
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    const b = pending;
    pending = undefined;
    if (!b) return;
    opts.onBatch({ keys: [...b.keys].sort((x, y) => order.get(x)! - order.get(y)!), paths: [...b.paths], firstAt: b.firstAt });
  };
  const note = (keys: string[], path: string) => {
    pending ??= { keys: new Set(), paths: new Set(), firstAt: now() };
    for (const k of keys) pending.keys.add(k);
    pending.paths.add(path);
    timer ??= setTimeout(flush, coalesceMs);
  };
  const onEvent = (path: string) => {
    const keys = set.affected(path);
    if (keys.length > 0) note(keys, path);
  };
  /**
   * A raw event names an entry of the watched directory, or the watched file itself (a file
   * watched alone gets its own name): both readings are tried, as a promise evaluated once too
   * often costs little and one missed costs a finding. An event that names nothing may concern
   * any entry of the directory.
   */
  const onRaw = (name: string | undefined, watchedPath: unknown) => {
    if (typeof watchedPath !== "string") return;
    if (name === undefined || name === "") {
      const keys = set.affectedWithin(watchedPath);
      if (keys.length > 0) note(keys, watchedPath);
      return;
    }
    const entry = join(watchedPath, name);
    onEvent(entry);
    if (basename(watchedPath) === name) onEvent(watchedPath);
    // a watched directory's name came or went in its parent: chokidar's own events miss a
    // directory renamed away and made again (it still believes the first one is there)
    if (rootWatcher.has(entry)) rewatch(entry);
  };
  const watchers: FSWatcher[] = [];
  // one watcher per depth: chokidar's depth is per watcher, and the roots ask for different ones
  const byDepth = new Map<number, string[]>();
  for (const r of set.roots) byDepth.set(r.depth, [...(byDepth.get(r.depth) ?? []), r.path]);
  const ready: Promise<void>[] = [];
  // a watched directory renamed away (its watch goes with it) and made again at its path is
  // watched anew: its parent is watched too (watch-set.ts), which sees it come back
  const rootWatcher = new Map<string, FSWatcher>();
  const rewatching = new Map<string, NodeJS.Timeout>();
  const rewatch = (path: string) => {
    const w = rootWatcher.get(path);
    if (!w || rewatching.has(path)) return;
    // after the burst of events a move and a mkdir make; a path gone is watched again when it is back
    rewatching.set(
      path,
      setTimeout(() => {
        rewatching.delete(path);
        if (closed || !isDirectory(path)) return;
        w.unwatch(path);
        w.add(path);
      }, 50),
    );
  };
  for (const [depth, paths] of byDepth) {
    // no symlink is followed: a link is watched as itself (its target may be anywhere, even a
    // path another user controls), and its retargeting is an event on the link
    const w = chokidar.watch(paths, { ignoreInitial: true, persistent: true, followSymlinks: false, depth, atomic: false, alwaysStat: false });
    // chokidar's own events for what it adds and removes (a new subdirectory, a file created or
    // deleted), and inotify's raw events for everything else: chokidar passes over a change that
    // leaves mtime alone when the file was read since it was last written (its atime heuristic),
    // which is how a chmod or chown of a recently read file would go unseen
    w.on("all", (_event, path) => onEvent(path));
    w.on("raw", (_event, name, details) => onRaw(typeof name === "string" ? name : undefined, (details as { watchedPath?: unknown } | undefined)?.watchedPath));
    w.on("error", (err) => opts.onProblem(problemOf(err)));
    ready.push(new Promise<void>((resolve) => w.once("ready", () => resolve())));
    watchers.push(w);
    for (const p of paths) rootWatcher.set(p, w);
  }
  return {
    ready: Promise.all(ready).then(() => undefined),
    async close() {
      closed = true;
      for (const t of rewatching.values()) clearTimeout(t);
      if (timer) clearTimeout(timer);
      flush();
      await Promise.all(watchers.map((w) => w.close()));
    },
  };
}
