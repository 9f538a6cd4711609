// inotify events, through Covenant's own inotify reader (dir-watcher.ts, native/inotify.c), as
// batches of the promises they may have changed. Events that come close together (a burst of
// writes, an editor's write-then-rename) are coalesced: the first starts a short window, and what
// arrives within it joins the same batch, so a promise is evaluated once per burst rather than
// once per write. What inotify cannot promise is said, never left as a silent gap: the kernel's
// queue overflowed (every realtime promise is then evaluated again), and directories refused a
// watch by the per-user limit (fs.inotify.max_user_watches), which the caller records as a
// deficiency until every watch is in place again.
//
// Why not chokidar (which `covenant watch` used first, and still uses for the policy files):
// it watches every file on its own (a libuv fs.watch, and an inotify watch, per file), so 10,000
// files took 10,101 watches and 171 MB, 100,000 files 101,001 watches and 711 MB (bench/watch);
// and libuv drops IN_Q_OVERFLOW, so an overflow could never be told.
import { inotifyAddon, inotifyUnavailableReason } from "../native/inotify.js";
import { watchDirectories, type DirWatcher } from "./dir-watcher.js";
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
  kind: "watch-limit" | "instance-limit" | "overflow" | "unavailable" | "error";
  /** what happened, in words for a person: which kernel setting to raise, or the error */
  message: string;
}

export interface EventSourceOptions {
  /** how long after a batch's first event others still join it, ms */
  coalesceMs?: number;
  onBatch(batch: Batch): void;
  onProblem(problem: WatchProblem): void;
  /** the kernel's event queue overflowed: events were lost, every realtime promise must be evaluated again */
  onOverflow?(): void;
  /**
   * Which wanted paths are not watched now, and why in words (empty: every watch is in place).
   * Told at start and whenever it changes.
   */
  onBlind?(blind: Blindness): void;
  /** at most this many inotify watches (tests: simulates fs.inotify.max_user_watches) */
  maxWatches?: number;
  /** the clock, for tests */
  now?: () => number;
}

export interface Blindness {
  /** the directories not watched (all the roots when there is no inotify reader) */
  unwatched: string[];
  /** why, naming the kernel setting to raise; "" when nothing is unwatched */
  reason: string;
}

export interface EventSource {
  /** resolves once the initial scan is done: events from then on are changes */
  ready: Promise<void>;
  /** adds the watches missing (new directories, roots back, watches refused before) */
  resync(): void;
  /** tests: stop reading events (the kernel queues them, then overflows), or resume */
  pause(paused: boolean): void;
  /** inotify watches in use */
  watches(): number;
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


/** The paths, a few named and the rest counted. */
function someOf(paths: string[], named = 5): string {
  return `${paths.slice(0, named).join(", ")}${paths.length > named ? ` and ${paths.length - named} more` : ""}`;
}

/** Why watched paths are not watched, in words: what the error meant and which paths. */
export function blindReason(unwatched: string[], cause: unknown): string {
  if (unwatched.length === 0) return "";
  const what = `${unwatched.length} director${unwatched.length === 1 ? "y is" : "ies are"} not watched (${someOf(unwatched)})`;
  return `${problemOf(cause).message}; ${what}: changes there are found only by the periodic rescan`;
}

/**
 * Watches the set's directories and calls `onBatch` with what changed. The inotify reader is
 * Covenant's own addon: without it nothing is watched in real time, and that is said (a problem,
 * and every root blind) rather than hidden.
 */
export function watchEvents(set: WatchSet, opts: EventSourceOptions): EventSource {
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
  /** An event names an entry of a watched directory, or (`whole`) the directory itself, which may concern any entry. */
  const onChange = (path: string, whole: boolean) => {
    const keys = whole ? set.affectedWithin(path) : set.affected(path);
    if (keys.length > 0) note(keys, path);
  };
  const addon = set.roots.length > 0 ? inotifyAddon() : null;
  if (set.roots.length > 0 && !addon) {
    const message = `nothing is watched in real time: ${inotifyUnavailableReason()}; realtime promises are evaluated by the periodic rescan only`;
    opts.onProblem({ kind: "unavailable", message });
    opts.onBlind?.({ unwatched: set.roots.map((r) => r.path), reason: message });
  }
  let dirs: DirWatcher | undefined;
  try {
    dirs = addon
      ? watchDirectories({
          roots: set.roots,
          addon,
          onChange,
          onOverflow: () => {
            opts.onProblem({ kind: "overflow", message: "inotify's event queue overflowed (fs.inotify.max_queued_events): events were lost; every realtime promise is evaluated again" });
            opts.onOverflow?.();
          },
          onUnwatched: (unwatched, cause) => {
            if (unwatched.length > 0) opts.onProblem({ ...problemOf(cause), message: blindReason(unwatched, cause) });
            opts.onBlind?.({ unwatched, reason: blindReason(unwatched, cause) });
          },
          onDecodeError: (message) => opts.onProblem({ kind: "error", message: `an inotify record could not be read: ${message}` }),
          ...(opts.maxWatches !== undefined ? { maxWatches: opts.maxWatches } : {}),
        })
      : undefined;
  } catch (err) {
    // inotify_init1 refused (EMFILE: fs.inotify.max_user_instances, or out of descriptors)
    const problem = problemOf(err);
    opts.onProblem(problem);
    opts.onBlind?.({ unwatched: set.roots.map((r) => r.path), reason: `${problem.message}; realtime promises are evaluated by the periodic rescan only` });
  }
  return {
    ready: Promise.resolve(),
    resync: () => dirs?.resync(),
    pause: (paused) => dirs?.pause(paused),
    watches: () => dirs?.watches() ?? 0,
    async close() {
      if (timer) clearTimeout(timer);
      flush();
      dirs?.close();
    },
  };
}
