// The watcher's loop: what is to be evaluated (the start-up rescan, then what events touch and
// what falls due), one evaluation at a time, and a heartbeat meanwhile. What an evaluation is
// (the store, the lock, the notifier) is the caller's: the loop only decides when, and which
// promises. Keys an evaluation could not take (the lock held by a run from cron) stay pending
// and are tried again a moment later: nothing an event asked for is dropped. What inotify may
// have missed is evaluated again: every realtime promise after the kernel's queue overflowed, on
// the rescan timer (which bounds any loss), and when the set of unwatched directories changes.
import { watchEvents, type Batch, type Blindness, type EventSource, type WatchProblem } from "./events.js";
import { Schedule } from "./schedule.js";
import type { WatchSet } from "./watch-set.js";

export type Trigger = "start" | "reload" | "event" | "schedule" | "overflow" | "rescan" | "watch-limit";

export interface WatchLoopOptions {
  /** every promise key of the policy, in policy order */
  keys: string[];
  /** key → its scheduled interval (ms) */
  every: ReadonlyMap<string, number>;
  set: WatchSet;
  coalesceMs: number;
  heartbeatMs: number;
  /** how often every realtime promise is evaluated again, whatever inotify said (ms) */
  rescanMs: number;
  /** at most this many inotify watches (tests: simulates fs.inotify.max_user_watches) */
  maxWatches?: number;
  /** what the first evaluation of every promise is: the start-up rescan, or a reloaded policy's */
  initial?: "start" | "reload";
  /** evaluates these keys; "busy" when it cannot now (the lock is held): they are tried again */
  evaluate(keys: string[], why: Trigger, batch?: Batch): Promise<"done" | "busy">;
  beat(): void;
  /** a batch arrived (before it waits for its evaluation): what must be seen at once, such as who is at the files */
  onBatch?(batch: Batch): void;
  onProblem(problem: WatchProblem): void;
  /** which watched paths are not watched now (told at start when some are, and when it changes) */
  onBlind?(blind: Blindness): void;
  /** an evaluation or a beat failed: the loop goes on (the next one may work), the caller says so */
  onFailure(err: unknown): void;
  now?: () => number;
}

export interface WatchLoop {
  /** the start-up rescan is under way and inotify is watching */
  ready: Promise<void>;
  /** stops watching and scheduling, and waits for the evaluation under way */
  stop(): Promise<void>;
  /** tests: stop reading inotify events (the kernel queues them, then overflows), or resume */
  pauseEvents(paused: boolean): void;
}

/** How long keys wait before another try when the lock was held. */
const BUSY_RETRY_MS = 500;
/**
 * The least time between the end of one evaluation and the start of the next: a run from cron
 * waiting for the lock (it looks every 100 ms) takes it in between, however busy the watched
 * paths are. A change after a quiet spell is evaluated at once.
 */
const MIN_GAP_MS = 250;
/**
 * While events keep coming (what arrived during an evaluation is already waiting when it ends),
 * the gap doubles up to this: a storm of events someone makes in a watched directory costs one
 * evaluation (one run in the history) every 10 s at most, each covering all it touched.
 */
const MAX_GAP_MS = 10_000;
/** How often the schedule is looked at. */
const TICK_MS = 1000;

export function startWatchLoop(o: WatchLoopOptions): WatchLoop {
  const now = o.now ?? Date.now;
  const order = new Map(o.keys.map((k, i) => [k, i]));
  const schedule = new Schedule(o.every, now());
  // the start-up rescan: every promise, so a change made while the watcher was down is found
  const pending = new Map<string, Trigger>(o.keys.map((k) => [k, o.initial ?? "start"]));
  let lastBatch: Batch | undefined;
  let running: Promise<void> | undefined;
  let stopping = false;
  // nothing is evaluated before inotify watches: a change made during the start-up rescan is then an event
  let armed = false;
  let retry: NodeJS.Timeout | undefined;
  let gap = MIN_GAP_MS;
  let cooling: NodeJS.Timeout | undefined;

  const kick = (): void => {
    if (!armed || running || cooling || stopping || pending.size === 0) return;
    const keys = [...pending.keys()].sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
    const why = pending.get(keys[0]!)!;
    const batch = lastBatch;
    pending.clear();
    lastBatch = undefined;
    running = (async () => {
      const at = now();
      try {
        if ((await o.evaluate(keys, why, batch)) === "busy") {
          for (const k of keys) if (!pending.has(k)) pending.set(k, why);
          lastBatch ??= batch;
          retry ??= setTimeout(() => {
            retry = undefined;
            kick();
          }, BUSY_RETRY_MS);
          return;
        }
        schedule.evaluated(keys, at);
      } catch (err) {
        o.onFailure(err);
        // tried again with the next beat of the schedule, not at once (a failing store would spin)
        schedule.evaluated(keys, at);
      }
    })().finally(() => {
      running = undefined;
      cooling = setTimeout(() => {
        cooling = undefined;
        // events that came while it cooled mean a stream: the gap after the next evaluation is
        // longer; a quiet gap means the next change is evaluated at once, the gap back to its least
        gap = pending.size > 0 ? Math.min(MAX_GAP_MS, gap * 2) : MIN_GAP_MS;
        kick();
      }, gap);
    });
  };

  const realtime = [...new Set(o.set.targets.map((t) => t.key))];
  /** every realtime promise again, for `why` (a reason stronger than an event's: it is what the run says) */
  const again = (why: Trigger, over: boolean): void => {
    for (const k of realtime) if (over || !pending.has(k)) pending.set(k, why);
    kick();
  };
  const events: EventSource = watchEvents(o.set, {
    coalesceMs: o.coalesceMs,
    onBatch: (b) => {
      try {
        o.onBatch?.(b);
      } catch (err) {
        o.onFailure(err);
      }
      // an overflow's rescan pending says why it runs; an event joins it
      for (const k of b.keys) if (pending.get(k) !== "overflow") pending.set(k, "event");
      lastBatch = b;
      kick();
    },
    onProblem: o.onProblem,
    onOverflow: () => again("overflow", true),
    onBlind: (blind) => {
      o.onBlind?.(blind);
      again("watch-limit", false);
    },
    ...(o.maxWatches !== undefined ? { maxWatches: o.maxWatches } : {}),
  });
  const rescan = setInterval(() => {
    events.resync();
    again("rescan", false);
  }, o.rescanMs);
  const tick = setInterval(() => {
    for (const k of schedule.due(now())) if (!pending.has(k)) pending.set(k, "schedule");
    kick();
  }, TICK_MS);
  const beat = setInterval(() => {
    try {
      o.beat();
    } catch (err) {
      o.onFailure(err);
    }
  }, o.heartbeatMs);
  const ready = events.ready.then(() => {
    armed = true;
    kick();
  });

  return {
    ready,
    async stop() {
      stopping = true;
      clearInterval(tick);
      clearInterval(beat);
      clearInterval(rescan);
      if (retry) clearTimeout(retry);
      if (cooling) clearTimeout(cooling);
      await events.close();
      await running;
    },
    pauseEvents: (paused) => events.pause(paused),
  };
}
