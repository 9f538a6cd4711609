// Each promise is evaluated within its timeout. A run evaluates its promises one after another,
// and nearly all of them finish in microseconds: a timer and an AbortController made for each
// cost ~25 µs a promise (50 ms of a 2,000-promise run, bench/run). So one timer serves the whole
// evaluation, re-armed only when it fires early, and a promise's AbortSignal is made only when
// something asks for it (a command to kill, a plugin to stop); the cheap `aborted` flag serves
// every other check.

/** A promise's stop: `aborted` once its timeout expired; `signal` made on first use, aborted then too. */
export class PromiseStop {
  private controller: AbortController | undefined;
  private stopped = false;

  get aborted(): boolean {
    return this.stopped;
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.stopped) this.controller.abort();
    }
    return this.controller.signal;
  }

  abort(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.controller?.abort();
  }
}

/**
 * Milliseconds on a monotonic clock (a wall clock set back must not hold a timeout off): from
 * process.hrtime, not performance.now(), since the global `performance` loads perf_hooks, which
 * a run otherwise never needs (test/cli/run-start.test.ts).
 */
const now = (): number => Number(process.hrtime.bigint()) / 1e6;

/**
 * The longest delay setTimeout takes (~24.8 days): a longer one (`timeout = 30d`) is set to 1 ms,
 * with a TimeoutOverflowWarning on stderr, and the timer, firing before the deadline, was set
 * again every millisecond for as long as the promise ran. A deadline further off is reached in
 * steps of this.
 */
const MAX_DELAY = 2 ** 31 - 1;

interface Armed {
  /** now() time */
  at: number;
  fire: () => void;
}

/**
 * The timeouts of promises evaluated one at a time: at most one is armed. Arming costs no timer
 * while the one running fires no earlier than the new deadline; when it fires before the armed
 * deadline (the previous promise's was later) it is set again for the rest. `close()` clears it,
 * so that a finished evaluation keeps no timer (and no process) alive.
 */
export class PromiseTimeouts {
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private armed: Armed | undefined;

  /** Calls `fire` once `ms` have passed, unless the returned disarm is called first. */
  arm(ms: number, fire: () => void): () => void {
    const armed: Armed = { at: now() + ms, fire };
    this.armed = armed;
    if (this.timer === undefined || this.timerAt > armed.at) this.setTimer(armed.at);
    return () => {
      if (this.armed === armed) this.armed = undefined;
    };
  }

  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    this.armed = undefined;
  }

  private setTimer(at: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.onTimer(), Math.min(MAX_DELAY, Math.max(0, at - now())));
  }

  private onTimer(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const armed = this.armed;
    if (armed === undefined) return;
    if (now() >= armed.at) {
      this.armed = undefined;
      armed.fire();
    } else this.setTimer(armed.at);
  }
}
