// When each promise is next due for the watcher's scheduled evaluation: its `every` after it was
// last evaluated, whatever made that evaluation (its schedule, an event, the start-up rescan).
export class Schedule {
  private readonly next = new Map<string, number>();

  /** `every`: key → interval (ms); each is first due one interval after `now` */
  constructor(
    private readonly every: ReadonlyMap<string, number>,
    now: number,
  ) {
    for (const [key, ms] of every) this.next.set(key, now + ms);
  }

  /** The keys due at `now`, in the order they were given. */
  due(now: number): string[] {
    const out: string[] = [];
    for (const [key, at] of this.next) if (at <= now) out.push(key);
    return out;
  }

  /** These keys were evaluated at `at`: each is next due one interval later. */
  evaluated(keys: Iterable<string>, at: number): void {
    for (const key of keys) {
      const ms = this.every.get(key);
      if (ms !== undefined) this.next.set(key, at + ms);
    }
  }

  /** When the next key falls due (ms since the epoch), if any. */
  nextAt(): number | undefined {
    let min: number | undefined;
    for (const at of this.next.values()) if (min === undefined || at < min) min = at;
    return min;
  }
}
