// One run at a time per state directory. The lock is a file created exclusively, holding the
// pid and start time of its run, and whether it is a `covenant run` or the watcher; a lock whose process is gone (a run killed by the OOM killer
// or a reboot) is taken over, and the takeover is reported. Lock files appear whole or not at
// all (written under a random name, then linked or renamed into place): a full disk never leaves
// an empty lock behind to stop every later run. A run that finds the lock held may wait for it a
// bounded time (waitForRunLock): the watcher holds it only while it evaluates what changed.
import { rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { readStat } from "../probes/processes.js";
import { operationalError, StoreError } from "./errors.js";
import type { RunKind } from "./records.js";
import { createFileExclusively, readRegularFile, replaceFile } from "./safe-files.js";

export interface LockHolder {
  pid: number;
  startTicks: number;
  startedAt: string;
  /** "watch": the watcher, for one evaluation; "run": a run, or a command that writes the store (ack, notify flush). Absent in locks of older versions: "run" */
  kind: RunKind;
}

/**
 * `release` removes the lock if it is still this run's; a host failure (a file system turned
 * read-only, an I/O error) is returned as a StoreError saying so, never thrown: the run is over,
 * and the lock left behind names a process that is gone, so the next run takes it over.
 */
export type LockResult = { ok: true; release: () => StoreError | undefined; tookOverFrom?: LockHolder } | { ok: false; holder: LockHolder };

function startTicksOf(pid: number, procRoot: string): number | undefined {
  return readStat({ proc: procRoot }, pid)?.startTicks;
}

function alive(h: LockHolder, procRoot: string): boolean {
  // the same pid with another start time is a different process: the old run is gone
  return startTicksOf(h.pid, procRoot) === h.startTicks;
}

/** The holder named in a lock file; undefined when it is absent, unreadable or half-written. */
function holderOf(path: string): LockHolder | undefined {
  try {
    const text = readRegularFile(path, "the run lock", 4096);
    if (text === undefined) return undefined;
    const h = JSON.parse(text) as Partial<LockHolder> | null;
    if (typeof h !== "object" || h === null) return undefined;
    return { ...(h as LockHolder), kind: h.kind === "watch" ? "watch" : "run" };
  } catch {
    return undefined;
  }
}

/** Takes the run lock of a state directory for a run of `kind`; a full disk or read-only directory is a StoreError. */
export function acquireRunLock(stateDir: string, procRoot = "/proc", kind: RunKind = "run"): LockResult {
  try {
    return takeLock(stateDir, procRoot, kind);
  } catch (err) {
    throw operationalError(err, `cannot take the run lock ${join(stateDir, "run.lock")}`) ?? err;
  }
}

export interface LockWait {
  /** how long to wait for the lock held by `holder`, in ms (0: not at all); asked again each time the lock is found held, since the holder may change */
  waitMs: (holder: LockHolder) => number;
  procRoot?: string;
  kind?: RunKind;
  /** how often to look again, in ms (default 100) */
  pollMs?: number;
  /** told each time the lock is found held, with its holder */
  onHeld?: (holder: LockHolder) => void;
}

/**
 * Takes the run lock, waiting for it while it is held, as long as `waitMs` allows for the holder
 * found: the lock is tried again every `pollMs` (a timer, never a busy loop), until it is taken
 * or the wait for the holder then found is over, and that holder is returned as when the lock is
 * not waited for.
 */
export async function waitForRunLock(stateDir: string, w: LockWait): Promise<LockResult> {
  const began = Date.now();
  const poll = Math.max(1, w.pollMs ?? 100);
  const procRoot = w.procRoot ?? "/proc";
  let unmark: (() => void) | undefined;
  try {
    for (;;) {
      const r = acquireRunLock(stateDir, procRoot, w.kind);
      if (r.ok) return r;
      w.onHeld?.(r.holder);
      const left = w.waitMs(r.holder) - (Date.now() - began);
      if (left <= 0) return r;
      // the watcher takes the lock again right after an evaluation when more is waiting: it
      // lets a run in first when one says it is waiting
      unmark ??= markWaiting(stateDir, procRoot);
      await new Promise((resolve) => setTimeout(resolve, Math.min(poll, left)));
    }
  } finally {
    unmark?.();
  }
}

/** The file a run waiting for the lock names itself in (as the lock names its holder). */
function waitPath(stateDir: string): string {
  return join(stateDir, "run.lock.wait");
}

/**
 * Says that this process waits for the lock; the function returned takes it back. Best effort:
 * a state directory that cannot be written to makes the wait as it was before (the watcher's
 * evaluations are short, and the run waits its bounded time either way).
 */
function markWaiting(stateDir: string, procRoot: string): () => void {
  const path = waitPath(stateDir);
  const me: LockHolder = { pid: process.pid, startTicks: startTicksOf(process.pid, procRoot) ?? 0, startedAt: new Date().toISOString(), kind: "run" };
  const body = JSON.stringify(me) + "\n";
  try {
    if (!createFileExclusively(path, body)) {
      // another waiter, alive, already says so; one gone left its mark: this one takes its place
      const other = holderOf(path);
      if (other && other.pid !== 0 && alive(other, procRoot)) return () => undefined;
      replaceFile(path, body);
    }
  } catch {
    return () => undefined;
  }
  return () => {
    try {
      const h = holderOf(path);
      if (h && h.pid === me.pid && h.startTicks === me.startTicks) rmSync(path, { force: true });
    } catch {
      // left behind naming a process that is gone: runWaiting ignores it
    }
  };
}

/** Whether a live process says it waits for the run lock (the watcher then lets it in before its next evaluation). */
export function runWaiting(stateDir: string, procRoot = "/proc"): boolean {
  const h = holderOf(waitPath(stateDir));
  return h !== undefined && h.pid !== 0 && alive(h, procRoot);
}

function takeLock(stateDir: string, procRoot: string, kind: RunKind): LockResult {
  const path = join(stateDir, "run.lock");
  const me: LockHolder = { pid: process.pid, startTicks: startTicksOf(process.pid, procRoot) ?? 0, startedAt: new Date().toISOString(), kind };
  const body = JSON.stringify(me) + "\n";
  let released = false;
  const release = (): StoreError | undefined => {
    if (released) return undefined;
    try {
      const h = holderOf(path);
      if (h && h.pid === me.pid && h.startTicks === me.startTicks) rmSync(path, { force: true });
      released = true;
      return undefined;
    } catch (err) {
      const failure = operationalError(err, `cannot remove the run lock ${path}`);
      if (!failure) throw err;
      return new StoreError(`${failure.message}; it is left behind, naming this run, and the next run takes it over once this one has ended`);
    }
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    if (createFileExclusively(path, body)) return { ok: true, release };
    // unreadable or half-written (by an older Covenant killed while writing it): stale
    const holder = holderOf(path) ?? { pid: 0, startTicks: 0, startedAt: "unknown", kind: "run" };
    if (holder.pid !== 0 && alive(holder, procRoot)) return { ok: false, holder };
    // Taking over is check-then-replace: done by one process at a time, under a second lock,
    // so that two runs finding the same stale lock cannot both take it.
    const takeover = `${path}.takeover`;
    if (!createFileExclusively(takeover, body)) {
      // a takeover lock older than a minute was left by a run killed mid-takeover
      if (Date.now() - (statSync(takeover, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 60_000) rmSync(takeover, { force: true });
      // another run is taking over right now: give it a moment, then look again
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25);
      continue;
    }
    try {
      const current = holderOf(path);
      if (current && current.pid !== 0 && alive(current, procRoot)) return { ok: false, holder: current };
      replaceFile(path, body);
      return { ok: true, release, tookOverFrom: current ?? holder };
    } finally {
      rmSync(takeover, { force: true });
    }
  }
  throw new StoreError(`cannot take the run lock ${path}: other runs kept replacing it`);
}
