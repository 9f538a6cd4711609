// One run at a time per state directory. The lock is a file created exclusively, holding the
// pid and start time of its run; a lock whose process is gone (a run killed by the OOM killer
// or a reboot) is taken over, and the takeover is reported.
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseStat } from "../probes/processes.js";

export interface LockHolder {
  pid: number;
  startTicks: number;
  startedAt: string;
}

export type LockResult = { ok: true; release: () => void; tookOverFrom?: LockHolder } | { ok: false; holder: LockHolder };

function startTicksOf(pid: number, procRoot: string): number | undefined {
  try {
    return parseStat(readFileSync(join(procRoot, String(pid), "stat"), "utf8"))?.startTicks;
  } catch {
    return undefined;
  }
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
  for (let attempt = 0; attempt < 3; attempt++) {
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
    // take over atomically: write ours beside it and rename over the stale one
    const tmp = `${path}.${process.pid}`;
    writeFileSync(tmp, body, { mode: 0o600 });
    renameSync(tmp, path);
    const now = JSON.parse(readFileSync(path, "utf8")) as LockHolder;
    if (now.pid === me.pid) return { ok: true, release, tookOverFrom: holder };
  }
  throw new Error(`cannot take the run lock ${path}`);
}
