// The learnt bands of `anomaly` promises (mean and spread per metric and hour of the week). Each
// row is sealed with the host key, and the bands change only with a run's summary, in the same
// transaction, whose database head anchor records their digest: a band edited, put back from an
// older copy, added or deleted no longer matches. A run that finds them so uses none of them
// (each `anomaly` promise is `error`, saying why), and its summary discards them all and says so:
// they are learnt again from the next run, and the history keeps what happened.
import type Database from "better-sqlite3";
import { CannotObserve } from "../evaluator/contract.js";
import { addSample, stddevOf, type Band } from "./memory.js";
import { bandsDigest, sealBand, sealMatches, type BandRow } from "./seals.js";

export interface BandView {
  count: number;
  mean: number;
  stddev: number;
}

const view = (b: Band): BandView => ({ count: b.count, mean: b.mean, stddev: stddevOf(b) });

export class LearntBands {
  /** samples of this run, written with its summary */
  private readonly pending = new Map<string, BandRow>();
  private readonly read: Database.Statement;
  /** why the stored bands cannot be used in this run; undefined when they can */
  untrusted: string | undefined;
  /** the digest the database's head anchor carries until the next summary */
  digest: string;

  constructor(
    private readonly db: Database.Database,
    private readonly key: Buffer,
    /** the digest the database's head anchor records; undefined in a store from before it did */
    anchored: string | undefined,
  ) {
    this.read = db.prepare("SELECT * FROM bands WHERE metric = ? AND hour = ?");
    const stored = bandsDigest(db);
    this.digest = anchored ?? stored;
    this.untrusted = this.whyUntrusted(stored, anchored);
  }

  private whyUntrusted(stored: string, anchored: string | undefined): string | undefined {
    for (const b of this.db.prepare("SELECT * FROM bands ORDER BY metric, hour").iterate() as IterableIterator<BandRow>) {
      if (!sealMatches(b.seal, sealBand(this.key, b))) return `the learnt band of ${b.metric} at hour ${b.hour} of the week was changed outside Covenant (its seal does not match)`;
    }
    if (anchored !== undefined && stored !== anchored) return "the learnt bands are not the ones the last run left (a band was put back from an older copy, added or deleted)";
    return undefined;
  }

  private stored(metric: string, hour: number): Band | undefined {
    if (this.untrusted) throw new CannotObserve(`${this.untrusted}; \`covenant verify\` reports it. No band is used in this run; it discards them all, and they are learnt again from the next run`);
    const pending = this.pending.get(`${metric}\0${hour}`);
    if (pending) return pending;
    const row = this.read.get(metric, hour) as BandRow | undefined;
    // a band edited in the database would decide what counts as normal: it is not used, and kept for `verify`
    if (row && !sealMatches(row.seal, sealBand(this.key, row))) {
      throw new CannotObserve(`the learnt band of ${metric} at hour ${hour} of the week was changed outside Covenant (its seal does not match); \`covenant verify\` reports it`);
    }
    return row;
  }

  /** The band learnt so far, learning nothing (a dry run). */
  band(metric: string, hour: number): BandView {
    return view(this.stored(metric, hour) ?? { count: 0, mean: 0, m2: 0 });
  }

  /** The band before `value`, which is learnt (written with the run's summary). */
  observe(metric: string, hour: number, value: number): BandView {
    const before = this.stored(metric, hour) ?? { count: 0, mean: 0, m2: 0 };
    this.pending.set(`${metric}\0${hour}`, { metric, hour, ...addSample(before, value), seal: null });
    return view(before);
  }

  /**
   * Writes this run's samples (inside the summary's transaction) and returns the new digest, with
   * a note for the summary when untrusted bands were discarded. `dryRun`: nothing is written.
   */
  writeWithSummary(dryRun: boolean): { digest: string; note?: string } {
    if (dryRun) return { digest: this.digest };
    let note: string | undefined;
    if (this.untrusted) {
      const count = this.db.prepare("SELECT count(*) FROM bands").pluck().get() as number;
      this.db.exec("DELETE FROM bands");
      note = `${this.untrusted}: all ${count} learnt band${count === 1 ? "" : "s"} discarded, to be learnt again from the next run`;
    }
    const write = this.db.prepare("INSERT OR REPLACE INTO bands VALUES (?, ?, ?, ?, ?, ?)");
    for (const b of this.pending.values()) write.run(b.metric, b.hour, b.count, b.mean, b.m2, sealBand(this.key, b));
    return note ? { digest: bandsDigest(this.db), note } : { digest: bandsDigest(this.db) };
  }

  /** After the summary committed. */
  committed(digest: string, dryRun: boolean): void {
    this.pending.clear();
    this.digest = digest;
    if (!dryRun) this.untrusted = undefined;
  }
}
