// Taking the run lock for `covenant run` (run.ts): waited for as long as --lock-wait, or the
// holder's kind, allows; the run's hard stop moved to the wait it had; the wait, and a lock taken
// over from a process gone, noted; a lock still held or that cannot be taken is exit 2.
import { waitForRunLock, type LockHolder, type LockResult } from "../../store/run-lock.js";
import { StoreError } from "../../store/store.js";
import { escapeText } from "../escape.js";
import { EXIT } from "../exit-codes.js";
import type { HardStop } from "../hard-stop.js";
import type { Io } from "../io.js";
import type { RunOptions } from "./run.js";

/**
 * How long a run waits, unless told, for the lock the watcher holds: the watcher holds it only
 * while it evaluates the promises an event touched (seconds), so a run from cron that meets it
 * should wait rather than fail. Another run is not waited for: it holds the lock for up to its
 * whole timeout (10 minutes by default), and overlapping runs from cron have always failed at
 * once (exit 2), which is what schedulers and wrappers expect.
 */
export const WATCHER_LOCK_WAIT_MS = 60_000;

/** How long a run waits for the lock held by `holder`. */
function lockWaitFor(holder: LockHolder, given: number | undefined): number {
  return given ?? (holder.kind === "watch" ? WATCHER_LOCK_WAIT_MS : 0);
}

/**
 * The run lock, waited for as long as --lock-wait (or the holder's kind) allows: exit 2 when it
 * is still held, or cannot be taken. The hard stop moves to the wait the run had; the wait, and
 * a lock taken over from a process gone, are noted.
 */
export async function takeRunLock(stateDir: string, opts: RunOptions, io: Io, hardStop: HardStop, notes: string[]): Promise<{ lock: LockResult & { ok: true }; waitedMs: number } | number> {
  // liveness of the lock holder is judged in this process's own /proc, whatever --proc-root reads
  let lock: LockResult;
  let waitedFor: LockHolder | undefined;
  const waitStart = Date.now();
  try {
    lock = await waitForRunLock(stateDir, { waitMs: (h) => lockWaitFor(h, opts.lockWaitMs), onHeld: (h) => (waitedFor = h) });
  } catch (err) {
    if (!(err instanceof StoreError)) throw err;
    io.err(`covenant run: ${escapeText(err.message)}`);
    return EXIT.policyError;
  }
  const waitedMs = Date.now() - waitStart;
  if (!lock.ok) {
    const waited = lockWaitFor(lock.holder, opts.lockWaitMs) > 0 ? ` (waited ${seconds(waitedMs)}, --lock-wait)` : "";
    io.err(`covenant run: ${lockHeld(lock.holder)} holds the lock on ${escapeText(stateDir)}${waited}; not running twice`);
    return EXIT.policyError;
  }
  // the run's timeout starts once it holds the lock: the stop armed for the longest wait moves to the wait it had
  hardStop.moveTo(hardStop.deadline - Math.max(0, (opts.lockWaitMs ?? WATCHER_LOCK_WAIT_MS) - waitedMs));
  if (waitedFor) notes.push(`waited ${seconds(waitedMs)} for the run lock, held by ${lockHeld(waitedFor)}`);
  if (lock.tookOverFrom) notes.push(`took over the run lock left by a ${lock.tookOverFrom.kind === "watch" ? "watcher" : "run"} that is gone (pid ${lock.tookOverFrom.pid}, started ${lock.tookOverFrom.startedAt})`);
  return { lock, waitedMs };
}

/** Who holds the lock, for messages: `another run (pid 12, started ...)`, `the watcher (pid 9, started ...)`. */
function lockHeld(h: LockHolder): string {
  return `${h.kind === "watch" ? "the watcher" : "another run"} (pid ${h.pid}, started ${escapeText(String(h.startedAt))})`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
}
