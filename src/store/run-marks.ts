// Per-run facts verify keeps for every run of the history (which runs have a summary, which wrote
// changes, how many): a year holds ~115,000 runs, and a Set or Map of them cost ~5 MB each. Run
// numbers are small consecutive integers, so they index typed arrays; a number that is not (a
// store edited to say run 2^40) goes to a Map instead of growing an array to match it.
const DENSE_LIMIT = 1 << 24;

const dense = (run: number) => Number.isInteger(run) && run >= 0 && run < DENSE_LIMIT;

/** A count per run. */
export class RunCounts {
  private counts = new Uint32Array(1024);
  private readonly sparse = new Map<number, number>();

  add(run: number, by = 1): void {
    if (!dense(run)) {
      this.sparse.set(run, (this.sparse.get(run) ?? 0) + by);
      return;
    }
    if (run >= this.counts.length) {
      const grown = new Uint32Array(Math.min(DENSE_LIMIT, Math.max(this.counts.length * 2, run + 1)));
      grown.set(this.counts);
      this.counts = grown;
    }
    this.counts[run]! += by;
  }

  get(run: number): number {
    if (!dense(run)) return this.sparse.get(run) ?? 0;
    return run < this.counts.length ? this.counts[run]! : 0;
  }
}

/** A set of runs. */
export class RunMarks {
  private readonly counts = new RunCounts();

  add(run: number): void {
    if (!this.has(run)) this.counts.add(run);
  }

  has(run: number): boolean {
    return this.counts.get(run) > 0;
  }
}
