// The run's hard stop: past the run timeout and a grace period, the process ends, whatever a
// promise is doing. A JavaScript timer fires only when the event loop is free; a promise stuck in
// the kernel (a read from a hung NFS server, a /proc file of a process stuck in an uninterruptible
// sleep) holds the loop, so the native helper also sets an alarm whose handler, in C, says why,
// removes the run's lock file if it is still this run's, and exits with status 2. Every record
// committed before that point is kept: each is its own transaction.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { safeFs } from "../native/safe-fs.js";
import { EXIT } from "./exit-codes.js";

export interface HardStop {
  /** when the process is stopped, ms since the epoch (real time): work that can end sooner, should */
  readonly deadline: number;
  /** from now on, the stop also removes this state directory's lock, if it is still this run's */
  guardLock(stateDir: string): void;
  /** moves the stop to `deadline` (real time, ms since the epoch): a run that waited for the lock gets its whole timeout after it */
  moveTo(deadline: number): void;
  disarm(): void;
}

/** The longest run timeout: past it, timers and alarms would overflow (Node clamps 2^31 ms to 1). */
export const MAX_RUN_MS = 24 * 3_600_000;

/**
 * Ends the process with exit status 2 after `afterMs`: through a timer when the event loop is
 * free (`onTimer` runs first: it releases the lock), and a second later through the native alarm.
 */
export function armHardStop(afterMs: number, onTimer: (message: string) => void): HardStop {
  const start = Date.now();
  let deadline = start + Math.min(afterMs, MAX_RUN_MS + 60_000);
  const message = () => `covenant run: still running ${Math.ceil((deadline - start) / 1000)}s after start; stopped (exit 2). Records committed so far are kept; a run stopped before its summary is noted by \`covenant verify\``;
  let timer: NodeJS.Timeout | undefined;
  const setTimer = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      onTimer(message());
      process.exit(EXIT.policyError);
    }, Math.max(0, deadline - Date.now()));
    timer.unref();
  };
  setTimer();
  const native = safeFs();
  let lock = { path: "", body: "" };
  const arm = () => native?.armHardStop(Math.max(1, Math.ceil((deadline - Date.now()) / 1000) + 1), `${message()}\n`, lock.body ? lock.path : "", lock.body);
  arm();
  return {
    get deadline() {
      return deadline;
    },
    guardLock(stateDir) {
      const lockPath = join(stateDir, "run.lock");
      let lockBody = "";
      try {
        lockBody = readFileSync(lockPath, "utf8");
      } catch {
        // no lock to remove: the alarm then removes nothing
      }
      lock = { path: lockPath, body: lockBody };
      arm();
    },
    moveTo(at) {
      deadline = Math.min(at, start + MAX_RUN_MS + 60_000);
      setTimer();
      arm();
    },
    disarm() {
      clearTimeout(timer);
      native?.disarmHardStop();
    },
  };
}
