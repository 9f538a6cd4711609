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
  disarm(): void;
}

/**
 * Ends the process with exit status 2 after `afterMs`: first through a timer (when the event
 * loop is free: `onTimer` runs, then the process exits), a second later through the native alarm.
 */
export function armHardStop(afterMs: number, stateDir: string, onTimer: (message: string) => void): HardStop {
  const seconds = Math.ceil(afterMs / 1000);
  const message = `covenant run: still running ${seconds}s after start; stopped (exit 2). Records committed so far are kept; the run has no summary (\`covenant verify\` notes it)`;
  const timer = setTimeout(() => {
    onTimer(message);
    process.exit(EXIT.policyError);
  }, afterMs);
  timer.unref();
  const native = safeFs();
  if (native) {
    const lockPath = join(stateDir, "run.lock");
    let lockBody = "";
    try {
      lockBody = readFileSync(lockPath, "utf8");
    } catch {
      // no lock to remove: the handler then removes nothing
    }
    native.armHardStop(seconds + 1, `${message}\n`, lockBody ? lockPath : "", lockBody);
  }
  return {
    disarm() {
      clearTimeout(timer);
      native?.disarmHardStop();
    },
  };
}
