// The watcher's loop: what is to be evaluated (the start-up rescan, then what events touch and
// what falls due), one evaluation at a time, and a heartbeat meanwhile. What an evaluation is
// (the store, the lock, the notifier) is the caller's: the loop only decides when, and which
// promises. Keys an evaluation could not take (the lock held by a run from cron) stay pending
// and are tried again a moment later: nothing an event asked for is dropped. A promise asked
// for by events alone carries the paths they named, so that the evaluator can look at those
// (and what it already knew to be wrong) instead of a whole tree; any other reason asks for the
// whole promise. How many evaluations it makes is paced by a token bucket (DEFAULT_PACE). What inotify may
// have missed is evaluated again: every realtime promise after the kernel's queue overflowed, on
// the rescan timer (which bounds any loss), and when the set of unwatched directories changes.
// Work that must not run beside an evaluation (an integrity approval from the fleet hub, which
// re-observes and re-baselines a promise) is given to `exclusive`: it runs between two
// evaluations, the next one held until it is done.
import { watchEvents, type Batch, type Blindness, type EventSource, type WatchProblem } from "./events.js";
import { Schedule } from "./schedule.js";
import type { WatchSet } from "./watch-set.js";

export type Trigger = "start" | "reload" | "event" | "schedule" | "overflow" | "rescan" | "watch-limit" | "approval";

export interface WatchLoopOptions {
  /** every promise key of the policy, in policy order */
  keys: string[];
  /** key → its scheduled interval (ms) */
  every: ReadonlyMap<string, number>;
  set: WatchSet;
  coalesceMs: number;
  heartbeatMs: number;
  /**
   * An evaluation still running this long after it began is stalled (its own timeout is past):
   * the heartbeat stops, so that what watches the watcher (`covenant watch --status`, `covenant
   * run`) finds it stale, since a process that beats while it evaluates nothing is not watching
   */
  stallAfterMs?: number;
  /** how often every realtime promise is evaluated again, whatever inotify said (ms) */
  rescanMs: number;
  /** at most this many inotify watches (tests: simulates fs.inotify.max_user_watches) */
  maxWatches?: number;
  /** how many evaluations at most (DEFAULT_PACE) */
  pace?: Pace;
  /** what the first evaluation of every promise is: the start-up rescan, or a reloaded policy's */
  initial?: "start" | "reload";
  /**
   * evaluates these keys; "busy" when it cannot now (the lock is held, or a run waits for it):
   * they are tried again. `focus` gives, for a key asked for by events only, the paths they named
   * since its last evaluation (the evaluator may look at those alone); a key not in it is
   * evaluated whole.
   */
  evaluate(keys: string[], why: Trigger, batch: Batch | undefined, focus: ReadonlyMap<string, readonly string[]>): Promise<"done" | "busy">;
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
  /** asks for a promise's evaluation as an event naming `paths` (or another reason, whole) would */
  ask(key: string, why: Trigger, paths?: readonly string[]): void;
  /**
   * Runs `work` alone: once the evaluation under way (if any) has ended, before the next one,
   * which waits until `work` is done. "busy" without running it when that evaluation (or other
   * work queued first) does not end within `waitMs`; "stopped" when the loop stops first.
   */
  exclusive<T>(work: () => Promise<T>, waitMs: number): Promise<{ done: T } | { not: "busy" | "stopped" }>;
}

/** Work waiting for its turn between two evaluations (exclusive). */
interface Section {
  start(): Promise<void>;
  drop(why: "busy" | "stopped"): void;
}

/** The exclusive work waiting, in the order given: each goes before any evaluation still pending. */
class Sections {
  private readonly queue: Section[] = [];

  /** queues `work`; what it resolves to once run, or dropped (`waitMs` passed first, or `dropAll`) */
  add<T>(work: () => Promise<T>, waitMs: number): Promise<{ done: T } | { not: "busy" | "stopped" }> {
    return new Promise((resolve, reject) => {
      const section: Section = {
        start: async () => {
          clearTimeout(timer);
          try {
            resolve({ done: await work() });
          } catch (err) {
            reject(err);
          }
        },
        drop: (why) => {
          clearTimeout(timer);
          resolve({ not: why });
        },
      };
      // bounded: an evaluation that runs long (a huge tree, a stalled probe) does not hold the caller past waitMs
      const timer = setTimeout(() => {
        const at = this.queue.indexOf(section);
        if (at >= 0) this.queue.splice(at, 1)[0]!.drop("busy");
      }, waitMs);
      this.queue.push(section);
    });
  }

  next(): Section | undefined {
    return this.queue.shift();
  }

  dropAll(why: "stopped"): void {
    for (const s of this.queue.splice(0)) s.drop(why);
  }
}

/** How long keys wait before another try when the lock was held (or a run waits for it). */
const BUSY_RETRY_MS = 250;
/**
 * How many evaluations the watcher makes at most: a bucket of `burst` evaluations, refilled at
 * `perSecond`. Each evaluation is a run in the history: a user creating and deleting files in a
 * watched spool as fast as they can must not add a run every few milliseconds. Within the bucket
 * every change is evaluated at once; past it, what arrives waits for the next token and is then
 * evaluated together (one run covering all of it). The defaults bound a sustained storm to 2
 * runs a second (docs/cli.md, "Pace"), and a trickle of changes below that rate never waits.
 */
export const DEFAULT_PACE: Pace = { burst: 20, perSecond: 2 };
/** How often the schedule is looked at. */
const TICK_MS = 1000;

export interface Pace {
  burst: number;
  perSecond: number;
}

/** What a pending key is evaluated for: the first reason it was asked for, and (events only) the paths named since. */
interface Wanted {
  why: Trigger;
  /** the paths events named; undefined once any other reason (a rescan, the schedule) asks for the whole promise */
  paths?: Set<string>;
}

/** A token bucket: `take` says whether an evaluation may start now, or in how many ms it may. */
class Bucket {
  private tokens: number;
  private at: number;
  constructor(
    private readonly pace: Pace,
    private readonly now: () => number,
  ) {
    this.tokens = pace.burst;
    this.at = now();
  }
  /** 0: taken, go; otherwise wait this many ms and ask again */
  take(): number {
    const t = this.now();
    this.tokens = Math.min(this.pace.burst, this.tokens + ((t - this.at) / 1000) * this.pace.perSecond);
    this.at = t;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - this.tokens) / this.pace.perSecond) * 1000));
  }
  /** an evaluation that did not happen (the lock was held) gives its token back */
  refund(): void {
    this.tokens = Math.min(this.pace.burst, this.tokens + 1);
  }
}

export function startWatchLoop(o: WatchLoopOptions): WatchLoop {
  const now = o.now ?? Date.now;
  const order = new Map(o.keys.map((k, i) => [k, i]));
  const schedule = new Schedule(o.every, now());
  // the start-up rescan: every promise, so a change made while the watcher was down is found
  const pending = new Map<string, Wanted>(o.keys.map((k) => [k, { why: o.initial ?? "start" }]));
  let lastBatch: Batch | undefined;
  let running: Promise<void> | undefined;
  let runningSince = 0;
  let runningWhat = "an evaluation";
  const sections = new Sections();
  let stopping = false;
  // nothing is evaluated before inotify watches: a change made during the start-up rescan is then an event
  let armed = false;
  let waiting: NodeJS.Timeout | undefined;
  const bucket = new Bucket(o.pace ?? DEFAULT_PACE, now);

  /** asks for a key's evaluation: an event adds its paths; any other reason asks for the whole promise */
  const want = (k: string, why: Trigger, paths?: readonly string[], override = false): void => {
    const w = pending.get(k);
    if (!w) {
      pending.set(k, paths ? { why, paths: new Set(paths) } : { why });
      return;
    }
    if (override) w.why = why;
    if (!paths) delete w.paths;
    else if (w.paths) for (const p of paths) w.paths.add(p);
  };
  const later = (ms: number): void => {
    waiting ??= setTimeout(() => {
      waiting = undefined;
      kick();
    }, ms);
  };

  const kick = (): void => {
    if (running || stopping) return;
    const section = sections.next();
    if (section) {
      runningSince = now();
      runningWhat = "work between evaluations (the hub's decisions applied)";
      running = section.start().finally(() => {
        running = undefined;
        kick();
      });
      return;
    }
    if (!armed || waiting || pending.size === 0) return;
    const wait = bucket.take();
    if (wait > 0) return later(wait);
    const keys = [...pending.keys()].sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
    const why = pending.get(keys[0]!)!.why;
    const taken = new Map(pending);
    const focus = new Map<string, string[]>();
    for (const [k, w] of taken) if (w.paths) focus.set(k, [...w.paths]);
    const batch = lastBatch;
    pending.clear();
    lastBatch = undefined;
    runningSince = now();
    runningWhat = "an evaluation";
    running = (async () => {
      const at = now();
      try {
        if ((await o.evaluate(keys, why, batch, focus)) === "busy") {
          // asked again as they were (an event's paths joined to what arrived meanwhile)
          for (const [k, w] of taken) want(k, w.why, w.paths ? [...w.paths] : undefined);
          bucket.refund();
          lastBatch ??= batch;
          later(BUSY_RETRY_MS);
          return;
        }
        // an evaluation of what events named is not the schedule's: a promise that events keep
        // naming is still evaluated whole on its schedule, which bounds what no event tells (a
        // write through a mapping or through a hard link from elsewhere, docs/cli.md)
        schedule.evaluated(keys.filter((k) => !focus.has(k)), at);
      } catch (err) {
        o.onFailure(err);
        // tried again with the next beat of the schedule, not at once (a failing store would spin)
        schedule.evaluated(keys, at);
      }
    })().finally(() => {
      running = undefined;
      // what arrived during the evaluation is evaluated now (as the bucket allows)
      kick();
    });
  };

  const realtime = [...new Set(o.set.targets.map((t) => t.key))];
  /** every realtime promise again, for `why` (a reason stronger than an event's: it is what the run says) */
  const again = (why: Trigger, over: boolean): void => {
    for (const k of realtime) want(k, why, undefined, over);
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
      for (const k of b.keys) want(k, "event", b.paths);
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
    for (const k of schedule.due(now())) want(k, "schedule");
    kick();
  }, TICK_MS);
  let stallSaid = false;
  const beat = setInterval(() => {
    if (running && o.stallAfterMs !== undefined && now() - runningSince > o.stallAfterMs) {
      if (!stallSaid) o.onFailure(new Error(`${runningWhat} has run for ${Math.round((now() - runningSince) / 1000)}s, past its timeout: the heartbeat stops until it ends, so that the watcher is seen as stalled`));
      stallSaid = true;
      return;
    }
    stallSaid = false;
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
      if (waiting) clearTimeout(waiting);
      // work not begun is not begun now: its caller hears the loop stopped (the hub carries decisions again)
      sections.dropAll("stopped");
      await events.close();
      await running;
    },
    pauseEvents: (paused) => events.pause(paused),
    ask(key, why, paths) {
      want(key, why, paths);
      kick();
    },
    exclusive(work, waitMs) {
      if (stopping) return Promise.resolve({ not: "stopped" as const });
      const turn = sections.add(work, waitMs);
      kick();
      return turn;
    },
  };
}
