// The auditor's sample: N evaluations of a control picked uniformly from those of the period,
// reproducibly. The random numbers are sha256 over the seed, the control's id and a counter (the
// first 52 bits of each digest, as a fraction in (0, 1)); the picking is reservoir sampling,
// Li's Algorithm L, over the control's evaluations in record order. The same store, period,
// control, N and seed therefore always give the same picks, and a stream of a year's evaluations
// costs a few hundred digests, not one per evaluation. N larger than the population takes all.
import { createHash } from "node:crypto";

/** Uniform numbers in (0, 1) from sha256(seed, control, counter). */
export class SeededRandom {
  private counter = 0;

  constructor(
    private readonly seed: string,
    private readonly stream: string,
  ) {}

  next(): number {
    const d = createHash("sha256").update(`covenant sample\n${this.seed}\n${this.stream}\n${this.counter++}`).digest();
    // 52 bits: exact in a double; +0.5 keeps it off 0 and 1
    const bits = d.readUIntBE(0, 6) * 16 + (d[6]! >> 4);
    return (bits + 0.5) / 2 ** 52;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.min(n - 1, Math.floor(this.next() * n));
  }
}

/** Algorithm L: k items from a stream of unknown length, each equally likely, with O(k log(n/k)) random numbers. */
export class Reservoir<T> {
  readonly picks: T[] = [];
  private seen = 0;
  private w = 1;
  private nextPick = 0;

  constructor(
    private readonly size: number,
    private readonly random: SeededRandom,
  ) {}

  get population(): number {
    return this.seen;
  }

  offer(item: T): void {
    const i = this.seen++;
    if (this.size <= 0) return;
    if (i < this.size) {
      this.picks.push(item);
      if (i === this.size - 1) this.skip(true);
      return;
    }
    if (i === this.nextPick) {
      this.picks[this.random.below(this.size)] = item;
      this.skip(false);
    }
  }

  /** Draws the weight and the index of the next item to take. */
  private skip(first: boolean): void {
    this.w *= Math.exp(Math.log(this.random.next()) / this.size);
    const from = first ? this.size - 1 : this.nextPick;
    this.nextPick = from + Math.floor(Math.log(this.random.next()) / Math.log(1 - this.w)) + 1;
  }
}
