// One run at a time per state directory. The lock is a file created exclusively, holding the
// pid and start time of its run; a lock whose process is gone (a run killed by the OOM killer
// or a reboot) is taken over, and the takeover is reported.
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readStat } from "../probes/processes.js";

export interface LockHolder {
  pid: number;
  startTicks: number;
  startedAt: string;
}

export type LockResult = { ok: true; release: () => void; tookOverFrom?: LockHolder } | { ok: false; holder: LockHolder };

function startTicksOf(pid: number, procRoot: string): number | undefined {
  return readStat({ proc: procRoot }, pid)?.startTicks;
}

function alive(h: LockHolder, procRoot: string): boolean {
  // the same pid with another start time is a different process: the old run is gone
  return startTicksOf(h.pid, procRoot) === h.startTicks;
}

export function acquireRunLock(stateDir: string, procRoot = "/proc"): LockResult {
  const path = join(stateDir, "run.lock");
  const me: LockHolder = { pid: process.pid, startTicks: startTicksOf(process.pid, procRoot) ?? 0, startedAt: new Date().toISOString() };
  const body = JSON.stringify(me) + "\n";
  const release = () => {
    try {
      const h = JSON.parse(readFileSync(path, "utf8")) as LockHolder;
      if (h.pid === me.pid && h.startTicks === me.startTicks) rmSync(path, { force: true });
    } catch {
      // already gone
    }
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      writeFileSync(path, body, { flag: "wx", mode: 0o600 });
      return { ok: true, release };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    let holder: LockHolder;
    try {
      holder = JSON.parse(readFileSync(path, "utf8")) as LockHolder;
    } catch {
      // unreadable or half-written by a run killed while writing it: stale
      holder = { pid: 0, startTicks: 0, startedAt: "unknown" };
    }
    if (holder.pid !== 0 && alive(holder, procRoot)) return { ok: false, holder };
    // Taking over is check-then-replace: done by one process at a time, under a second lock,
    // so that two runs finding the same stale lock cannot both take it.
    const takeover = `${path}.takeover`;
    try {
      writeFileSync(takeover, body, { flag: "wx", mode: 0o600 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      // a takeover lock older than a minute was left by a run killed mid-takeover
      if (Date.now() - (statSync(takeover, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 60_000) rmSync(takeover, { force: true });
      // another run is taking over right now: give it a moment, then look again
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25);
      continue;
    }
    try {
      let current: LockHolder | undefined;
      try {
        current = JSON.parse(readFileSync(path, "utf8")) as LockHolder;
      } catch {
        current = undefined;
      }
      if (current && current.pid !== 0 && alive(current, procRoot)) return { ok: false, holder: current };
      const tmp = `${path}.${process.pid}`;
      writeFileSync(tmp, body, { mode: 0o600 });
      renameSync(tmp, path);
      return { ok: true, release, tookOverFrom: current ?? holder };
    } finally {
      rmSync(takeover, { force: true });
    }
  }
  throw new Error(`cannot take the run lock ${path}`);
}
