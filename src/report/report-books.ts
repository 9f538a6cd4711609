// What a control keeps of its episodes and repairs as the pass goes. Listing every one (`--list
// all`, JSON and CSV by default) keeps every one. A listing of at most N (`--list N`, the HTML and
// Markdown default, and the evidence pack's reports) keeps only what can still be listed: the
// counts and each resolved episode's duration for the figures, every episode still open, the N
// longest and the N most recent resolved ones, and the N most recent repairs. A year of a host
// that flaps holds ~100,000 episodes, ~50 MB as objects, where this keeps a few hundred. What it
// lists is what episodesToList would pick from all of them (report-listing.ts): the open ones, then
// the longest for half the room left, then the most recent; none of those can be outside the N
// longest or the N most recent.
import { episodesToList } from "./report-listing.js";
import type { Episode, Repair } from "./report-model.js";

const longer = (a: Episode, b: Episode) => (b.durationMs ?? 0) - (a.durationMs ?? 0) || b.openedRecord - a.openedRecord;
const newer = (a: Episode, b: Episode) => b.openedRecord - a.openedRecord;

/** The `limit` first of what it is given by `order`, kept sorted; `add` returns the one that fell out. */
class Best {
  readonly items: Episode[] = [];

  constructor(
    private readonly limit: number,
    private readonly order: (a: Episode, b: Episode) => number,
  ) {}

  add(e: Episode): Episode | undefined {
    const items = this.items;
    if (this.limit <= 0) return e;
    if (items.length === this.limit && this.order(e, items[items.length - 1]!) >= 0) return e;
    let lo = 0;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.order(items[mid]!, e) <= 0) lo = mid + 1;
      else hi = mid;
    }
    items.splice(lo, 0, e);
    return items.length > this.limit ? items.pop() : undefined;
  }

  has(e: Episode): boolean {
    return this.items.includes(e);
  }
}

export class EpisodeBook {
  total = 0;
  /** not notices: deficiencies found and left */
  deficiencies = 0;
  openAtEnd = 0;
  /** the durations of resolved deficiencies (not notices), for the remediation figures */
  readonly durations: number[] = [];
  private readonly all: Episode[] | undefined;
  private readonly open: Episode[] = [];
  private readonly longest: Best | undefined;
  private readonly recent: Best | undefined;

  /** `forget`: an episode that can no longer be listed (its deliveries and acknowledgement need not reach it) */
  constructor(
    limit: number | undefined,
    private readonly forget: (e: Episode) => void = () => undefined,
  ) {
    if (limit === undefined) this.all = [];
    else {
      this.longest = new Best(limit, longer);
      this.recent = new Best(limit, newer);
    }
  }

  /** An episode of the period: resolved, a notice, or (at the pass's end) still open. */
  add(e: Episode): void {
    this.total++;
    if (!e.notice) this.deficiencies++;
    if (e.resolved === undefined) this.openAtEnd++;
    if (!e.notice && e.durationMs !== undefined) this.durations.push(e.durationMs);
    if (this.all) {
      this.all.push(e);
      return;
    }
    if (e.resolved === undefined) {
      this.open.push(e);
      return;
    }
    const longest = this.longest!;
    const recent = this.recent!;
    const fromLongest = longest.add(e);
    const fromRecent = recent.add(e);
    if (fromLongest && !longest.has(fromLongest) && !recent.has(fromLongest)) this.forget(fromLongest);
    if (fromRecent && fromRecent !== fromLongest && !longest.has(fromRecent) && !recent.has(fromRecent)) this.forget(fromRecent);
  }

  /** The episodes to list, in the order they opened. */
  listed(limit: number | undefined): Episode[] {
    if (this.all) return episodesToList(this.all, limit);
    return episodesToList([...new Set([...this.open, ...this.longest!.items, ...this.recent!.items])], limit);
  }
}

export class RepairBook {
  total = 0;
  private readonly kept: Repair[] = [];

  constructor(private readonly limit: number | undefined) {}

  add(r: Repair): void {
    this.total++;
    this.kept.push(r);
    if (this.limit !== undefined && this.kept.length > this.limit) this.kept.shift();
  }

  /** The repairs to list, in time order: all, or the most recent `limit`. */
  listed(): Repair[] {
    return [...this.kept];
  }
}
