// The watcher's heartbeat in the state store (watcher.ts): written without the run lock, one row in
// its own transaction.
import type { StoreCore } from "./store-core.js";
import { guarded } from "./opening.js";
import { judgeHeartbeat, type Beat, type Watcher, type WatcherStatus } from "./watcher.js";

export function readHeartbeat(s: StoreCore): ReturnType<Watcher["read"]> {
  return s.watcher ? s.read(() => s.watcher!.read()) : {};
}

/** The watcher says it is alive (and which process, policy and interval it is): one statement. */
export function beat(s: StoreCore, b: Beat): void {
  if (s.mode !== "write" || !s.watcher) throw new Error("the store was opened read-only");
  const w = s.watcher;
  // the key checked in the beat's transaction: a rotation cannot commit between the two
  guarded(s.dir, `cannot record the watcher's heartbeat in the store ${s.dbPath}`, () =>
    s.db
      .transaction(() => {
        s.checkKeyInForce();
        w.beat(b);
      })
      .immediate(),
  );
}

/** The watcher `who` says it stopped cleanly at `at`; false when the heartbeat is not its own. */
export function stopWatcher(s: StoreCore, who: { pid: number; startTicks: number }, at: string): boolean {
  if (s.mode !== "write" || !s.watcher) throw new Error("the store was opened read-only");
  const w = s.watcher;
  return guarded(s.dir, `cannot record that the watcher stopped in the store ${s.dbPath}`, () =>
    s.db
      .transaction(() => {
        s.checkKeyInForce();
        return w.stop(who, at);
      })
      .immediate(),
  );
}

/** The watcher at `now` (ms since the epoch), its process looked up in `procRoot`: one indexed read. */
export function watcherStatus(s: StoreCore, now: number, procRoot: string): WatcherStatus {
  const { heartbeat, untrusted } = readHeartbeat(s);
  if (heartbeat) return judgeHeartbeat(heartbeat, now, procRoot);
  return untrusted !== undefined ? { state: "none", untrusted } : { state: "none" };
}
