// What `covenant run` makes of the watcher's heartbeat (src/store/watcher.ts): a watcher that
// says it is running but has stopped beating, or whose process is gone, no longer watches
// anything in real time, and nobody would know; that is a deficiency of Covenant's own, of
// control `covenant.watch`, opened and resolved through the store like a promise's result (as a
// channel that keeps failing is, of `covenant.notify`). No watcher ever: nothing to say.
import type { Policy } from "../checker/policy.js";
import type { SystemFinding } from "../notifiers/dispatch.js";
import type { StateStore, WatcherStatus } from "../store/store.js";

/** The key of the deficiency that says the watcher stopped watching. */
export const WATCHER_KEY = "covenant.watch/watcher:heartbeat";

/**
 * Who is told: the `->` stakeholders of every `file` and `directory` promise and their controls'
 * owners, the promises a watcher watches (once `watch = realtime` exists, only those).
 */
function watchedStakeholders(policy: Policy): string[] {
  const names = new Set<string>();
  for (const c of policy.controls) {
    for (const p of c.promises) {
      if (p.type !== "file" && p.type !== "directory") continue;
      for (const s of p.stakeholders) names.add(s);
      if (c.owner !== undefined) names.add(c.owner);
    }
  }
  return [...names].sort();
}

export function watcherFinding(policy: Policy, host: string, storePath: string): SystemFinding {
  return {
    host,
    type: "watcher",
    promiser: "heartbeat",
    control: { id: "covenant.watch", title: "The watcher watches in real time", severity: "high", key: false },
    promise: { stakeholders: watchedStakeholders(policy), dependsOn: [], file: storePath, line: 0 },
    promised: ["the watcher beats while it runs, and says when it stops"],
  };
}

export interface WatcherCheck {
  /** what the report says, if anything */
  note?: string;
  /** the watcher is not watching though it never said it stopped: the run has a deficiency to report */
  stale: boolean;
  status: WatcherStatus;
}

/**
 * Judges the heartbeat now and, when `record`, records the deficiency (or its resolution) in the
 * run being recorded. A dry run only says it.
 */
export function checkWatcher(store: StateStore, o: { policy: Policy; host: string; storePath: string; record: boolean; now: number; time: string }): WatcherCheck {
  const status = store.watcherStatus(o.now);
  const finding = () => watcherFinding(o.policy, o.host, o.storePath);
  const why = status.state === "stale" ? status.reason : status.state === "none" ? status.untrusted : undefined;
  if (why !== undefined) {
    const reason = `the watcher is not watching: ${why}`;
    if (o.record) store.recordSystemFinding(WATCHER_KEY, finding(), "error", reason, o.time);
    return { status, stale: true, note: `${reason}; ${o.record ? "recorded as a deficiency of Covenant's own (covenant.watch)" : "a real run records it as a deficiency of Covenant's own (covenant.watch)"}` };
  }
  // a heartbeat deleted since it went stale (state "none") resolves nothing: `verify` reports it
  if (status.state === "none" || !o.record) return { status, stale: false };
  const h = status.heartbeat;
  const reason = status.state === "running" ? `the watcher beats again (pid ${h.pid}, last beat at ${h.lastBeat})` : `the watcher stopped cleanly at ${h.lastBeat} (pid ${h.pid})`;
  const resolved = store.recordSystemFinding(WATCHER_KEY, finding(), "kept", reason, o.time);
  return resolved ? { status, stale: false, note: `${reason}: its deficiency (covenant.watch) is resolved` } : { status, stale: false };
}

/** The key of the deficiency that says the watcher is partly blind: directories inotify does not watch. */
export const WATCHER_BLIND_KEY = "covenant.watch/watcher:inotify";

export function watcherBlindFinding(policy: Policy, host: string, storePath: string): SystemFinding {
  return {
    host,
    type: "watcher",
    promiser: "inotify",
    control: { id: "covenant.watch", title: "The watcher watches in real time", severity: "high", key: false },
    promise: { stakeholders: watchedStakeholders(policy), dependsOn: [], file: storePath, line: 0 },
    promised: ["every realtime path is watched by inotify (within fs.inotify.max_user_watches)"],
  };
}

/**
 * Records in the watch run under way whether the watcher is blind to some directories (the
 * per-user watch limit, no inotify reader): a deficiency of Covenant's own while it is, resolved
 * once every watch is in place. Returns what the run's output says, when it changed.
 */
export function recordBlindness(store: StateStore, o: { policy: Policy; host: string; storePath: string; blind?: { unwatched: string[]; reason: string }; time: string }): string | undefined {
  const finding = watcherBlindFinding(o.policy, o.host, o.storePath);
  if (o.blind && o.blind.unwatched.length > 0) {
    return store.recordSystemFinding(WATCHER_BLIND_KEY, finding, "error", `the watcher is partly blind: ${o.blind.reason}`, o.time) ? `the watcher is partly blind (${o.blind.unwatched.length} not watched): recorded as a deficiency of Covenant's own (covenant.watch)` : undefined;
  }
  return store.recordSystemFinding(WATCHER_BLIND_KEY, finding, "kept", "every realtime path is watched again", o.time) ? "every realtime path is watched again: the deficiency (covenant.watch) is resolved" : undefined;
}
