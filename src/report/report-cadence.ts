// How often a control should have been evaluated, and where it was not: the intervals between its
// evaluations kept as counters (a histogram by the second, for the median) and the longest of
// them (the candidates for gaps), so that a year's 105,000 evaluations cost kilobytes, not a list.
import type { ExpectedCadence, Gap } from "./report-model.js";

/** Intervals kept as gap candidates: the longest ones, at most this many (a gap list longer than that is cut, and says so). */
export const MAX_GAP_CANDIDATES = 1000;

export class IntervalTally {
  private readonly bySecond = new Map<number, number>();
  /**
   * the intervals of one length seen one after another, not yet in `bySecond`: a control run on
   * a schedule gives the same interval hundreds of times in a row, and a year's evaluations
   * (millions) each looked up and set in the map
   */
  private runOfSecond = 0;
  private runLength = 0;
  private count = 0;
  private longest: { fromMs: number; toMs: number }[] = [];
  /** the shortest interval kept as a candidate once the list has been cut */
  private floor = 0;
  cut = false;
  firstMs: number | undefined;
  lastMs: number | undefined;

  /** An evaluation at `ms` (in record order; an earlier time than the last, a clock step back, gives no interval). */
  add(ms: number): void {
    if (this.firstMs === undefined) this.firstMs = ms;
    const last = this.lastMs;
    this.lastMs = last === undefined ? ms : Math.max(last, ms);
    if (last === undefined || ms < last) return;
    const gap = ms - last;
    const s = Math.round(gap / 1000);
    if (s !== this.runOfSecond) {
      this.settle();
      this.runOfSecond = s;
    }
    this.runLength++;
    this.count++;
    if (gap > this.floor) this.candidate(last, ms);
  }

  private candidate(fromMs: number, toMs: number): void {
    this.longest.push({ fromMs, toMs });
    if (this.longest.length < 2 * MAX_GAP_CANDIDATES) return;
    this.longest.sort((a, b) => b.toMs - b.fromMs - (a.toMs - a.fromMs));
    this.longest.length = MAX_GAP_CANDIDATES;
    this.floor = this.longest[this.longest.length - 1]!.toMs - this.longest[this.longest.length - 1]!.fromMs;
    this.cut = true;
  }

  /** The run of equal intervals into `bySecond`. */
  private settle(): void {
    if (this.runLength === 0) return;
    this.bySecond.set(this.runOfSecond, (this.bySecond.get(this.runOfSecond) ?? 0) + this.runLength);
    this.runLength = 0;
  }

  /** The median interval (ms, to the second); undefined with no interval. */
  median(): number | undefined {
    this.settle();
    if (this.count === 0) return undefined;
    const half = (this.count + 1) / 2;
    let seen = 0;
    for (const s of [...this.bySecond.keys()].sort((a, b) => a - b)) {
      seen += this.bySecond.get(s)!;
      if (seen >= half) return s * 1000;
    }
    return undefined;
  }

  /** The intervals longer than `limitMs`, oldest first. */
  longerThan(limitMs: number): { fromMs: number; toMs: number }[] {
    return this.longest.filter((g) => g.toMs - g.fromMs > limitMs).sort((a, b) => a.fromMs - b.fromMs);
  }
}

/** The cadence: configured (covenant.yaml `report.expected_every`, else the control's `every`), else learned from the history. */
export function expectedCadence(configuredMs: number | undefined, tally: IntervalTally, windowMs: number): ExpectedCadence {
  if (configuredMs !== undefined && configuredMs > 0) return { everyMs: configuredMs, source: "configured", count: Math.floor(windowMs / configuredMs) };
  const learned = tally.median();
  if (learned !== undefined && learned > 0) return { everyMs: learned, source: "learned", count: Math.floor(windowMs / learned) };
  return { everyMs: null, source: "unknown", count: null };
}

/** Words for a gap: "control not operating from … to …". */
export function gapOf(fromMs: number, toMs: number): Gap {
  const from = new Date(fromMs).toISOString();
  const to = new Date(toMs).toISOString();
  return { from, to, durationMs: toMs - fromMs, text: `control not operating from ${from} to ${to}` };
}

/**
 * The gaps of a control evaluated over [windowStart, windowEnd): intervals between evaluations
 * longer than twice the cadence, and the edges (from the window's start to the first evaluation,
 * from the last to the window's end) longer than that too; the whole window when never evaluated.
 */
export function gapsOf(tally: IntervalTally, everyMs: number | null, windowStart: number, windowEnd: number): Gap[] {
  if (windowEnd <= windowStart) return [];
  if (tally.firstMs === undefined || tally.lastMs === undefined) return [gapOf(windowStart, windowEnd)];
  if (everyMs === null) return [];
  const limit = 2 * everyMs;
  const out: Gap[] = [];
  if (tally.firstMs - windowStart > limit) out.push(gapOf(windowStart, tally.firstMs));
  for (const g of tally.longerThan(limit)) out.push(gapOf(g.fromMs, g.toMs));
  if (windowEnd - tally.lastMs > limit) out.push(gapOf(tally.lastMs, windowEnd));
  return out;
}
