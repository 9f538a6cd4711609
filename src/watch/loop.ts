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

/** The loop's state and its steps; startWatchLoop gives its caller the WatchLoop face of it. */
class Loop {
  private readonly now: () => number;
  private readonly order: Map<string, number>;
  private readonly schedule: Schedule;
  /** the start-up rescan: every promise, so a change made while the watcher was down is found */
  private readonly pending: Map<string, Wanted>;
  private lastBatch: Batch | undefined;
  running: Promise<void> | undefined;
  private runningSince = 0;
  private runningWhat = "an evaluation";
  readonly sections = new Sections();
  stopping = false;
  /** nothing is evaluated before inotify watches: a change made during the start-up rescan is then an event */
  private armed = false;
  waiting: NodeJS.Timeout | undefined;
  private readonly bucket: Bucket;
  private readonly realtime: string[];
  private stallSaid = false;

  constructor(private readonly o: WatchLoopOptions) {
    this.now = o.now ?? Date.now;
    this.order = new Map(o.keys.map((k, i) => [k, i]));
    this.schedule = new Schedule(o.every, this.now());
    this.pending = new Map<string, Wanted>(o.keys.map((k) => [k, { why: o.initial ?? "start" }]));
    this.bucket = new Bucket(o.pace ?? DEFAULT_PACE, this.now);
    this.realtime = [...new Set(o.set.targets.map((t) => t.key))];
  }

  /** asks for a key's evaluation: an event adds its paths; any other reason asks for the whole promise */
  want(k: string, why: Trigger, paths?: readonly string[], override = false): void {
    const w = this.pending.get(k);
    if (!w) {
      this.pending.set(k, paths ? { why, paths: new Set(paths) } : { why });
      return;
    }
    if (override) w.why = why;
    if (!paths) delete w.paths;
    else if (w.paths) for (const p of paths) w.paths.add(p);
  }

  private later(ms: number): void {
    this.waiting ??= setTimeout(() => {
      this.waiting = undefined;
      this.kick();
    }, ms);
  }

  /** starts what is next, when nothing runs: exclusive work first, then the pending keys (as the bucket allows) */
  kick(): void {
    if (this.running || this.stopping) return;
    const section = this.sections.next();
    if (section) {
      this.began("work between evaluations (the hub's decisions applied)", () => section.start());
      return;
    }
    if (!this.armed || this.waiting || this.pending.size === 0) return;
    const wait = this.bucket.take();
    if (wait > 0) return this.later(wait);
    const keys = [...this.pending.keys()].sort((a, b) => (this.order.get(a) ?? 0) - (this.order.get(b) ?? 0));
    const why = this.pending.get(keys[0]!)!.why;
    const taken = new Map(this.pending);
    const focus = new Map<string, string[]>();
    for (const [k, w] of taken) if (w.paths) focus.set(k, [...w.paths]);
    const batch = this.lastBatch;
    this.pending.clear();
    this.lastBatch = undefined;
    this.began("an evaluation", () => this.evaluate(keys, why, taken, focus, batch));
  }

  private began(what: string, work: () => Promise<void>): void {
    this.runningSince = this.now();
    this.runningWhat = what;
    this.running = work().finally(() => {
      this.running = undefined;
      // what arrived meanwhile is evaluated now (as the bucket allows)
      this.kick();
    });
  }

  private async evaluate(keys: string[], why: Trigger, taken: ReadonlyMap<string, Wanted>, focus: ReadonlyMap<string, readonly string[]>, batch: Batch | undefined): Promise<void> {
    const at = this.now();
    try {
      if ((await this.o.evaluate(keys, why, batch, focus)) === "busy") {
        // asked again as they were (an event's paths joined to what arrived meanwhile)
        for (const [k, w] of taken) this.want(k, w.why, w.paths ? [...w.paths] : undefined);
        this.bucket.refund();
        this.lastBatch ??= batch;
        this.later(BUSY_RETRY_MS);
        return;
      }
      // an evaluation of what events named is not the schedule's: a promise that events keep
      // naming is still evaluated whole on its schedule, which bounds what no event tells (a
      // write through a mapping or through a hard link from elsewhere, docs/cli.md)
      this.schedule.evaluated(keys.filter((k) => !focus.has(k)), at);
    } catch (err) {
      this.o.onFailure(err);
      // tried again with the next beat of the schedule, not at once (a failing store would spin)
      this.schedule.evaluated(keys, at);
    }
  }

  /** every realtime promise again, for `why` (a reason stronger than an event's: it is what the run says) */
  again(why: Trigger, over: boolean): void {
    for (const k of this.realtime) this.want(k, why, undefined, over);
    this.kick();
  }

  onBatch(b: Batch): void {
    try {
      this.o.onBatch?.(b);
    } catch (err) {
      this.o.onFailure(err);
    }
    // an overflow's rescan pending says why it runs; an event joins it
    for (const k of b.keys) this.want(k, "event", b.paths);
    this.lastBatch = b;
    this.kick();
  }

  tick(): void {
    for (const k of this.schedule.due(this.now())) this.want(k, "schedule");
    this.kick();
  }

  /** the heartbeat, withheld while an evaluation runs past its timeout (the watcher is then seen as stalled) */
  beat(): void {
    const o = this.o;
    if (this.running && o.stallAfterMs !== undefined && this.now() - this.runningSince > o.stallAfterMs) {
      if (!this.stallSaid) o.onFailure(new Error(`${this.runningWhat} has run for ${Math.round((this.now() - this.runningSince) / 1000)}s, past its timeout: the heartbeat stops until it ends, so that the watcher is seen as stalled`));
      this.stallSaid = true;
      return;
    }
    this.stallSaid = false;
    try {
      o.beat();
    } catch (err) {
      o.onFailure(err);
    }
  }

  arm(): void {
    this.armed = true;
    this.kick();
  }
}

export function startWatchLoop(o: WatchLoopOptions): WatchLoop {
  const loop = new Loop(o);
  const events: EventSource = watchEvents(o.set, {
    coalesceMs: o.coalesceMs,
    onBatch: (b) => loop.onBatch(b),
    onProblem: o.onProblem,
    onOverflow: () => loop.again("overflow", true),
    onBlind: (blind) => {
      o.onBlind?.(blind);
      loop.again("watch-limit", false);
    },
    ...(o.maxWatches !== undefined ? { maxWatches: o.maxWatches } : {}),
  });
  const rescan = setInterval(() => {
    events.resync();
    loop.again("rescan", false);
  }, o.rescanMs);
  const tick = setInterval(() => loop.tick(), TICK_MS);
  const beat = setInterval(() => loop.beat(), o.heartbeatMs);
  const ready = events.ready.then(() => loop.arm());

  return {
    ready,
    async stop() {
      loop.stopping = true;
      clearInterval(tick);
      clearInterval(beat);
      clearInterval(rescan);
      if (loop.waiting) clearTimeout(loop.waiting);
      // work not begun is not begun now: its caller hears the loop stopped (the hub carries decisions again)
      loop.sections.dropAll("stopped");
      await events.close();
      await loop.running;
    },
    pauseEvents: (paused) => events.pause(paused),
    ask(key, why, paths) {
      loop.want(key, why, paths);
      loop.kick();
    },
    exclusive(work, waitMs) {
      if (loop.stopping) return Promise.resolve({ not: "stopped" as const });
      const turn = loop.sections.add(work, waitMs);
      loop.kick();
      return turn;
    },
  };
}
