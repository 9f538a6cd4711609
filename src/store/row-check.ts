// `verify` reads the history once, a record at a time: a year's store holds ~315,000 records,
// and loading them all cost ~430 MB and most of verify's time. Each check that needs the
// history is a RowCheck: it sees every record in seq order (and must not query the database
// while it does: the connection is busy with the walk), then gives its first problem, reading
// any table it compares the history with only then. A record's body is parsed once for all of
// them.
import { macOf, type LedgerRow, type MacOf, type Tampering } from "./ledger.js";

export interface RowCheck {
  /** each record, in seq order; a check that has found its problem may ignore the rest */
  visit(r: RecordView): void;
  /** the first problem found, once every record was seen */
  result(): Tampering | undefined;
}

/** A record as the checks see it: its columns, and its body parsed once, on first asking. */
export class RecordView {
  row!: LedgerRow;
  private parsed: unknown;
  private done = false;
  /** the MAC computed for this record, and the key and predecessor it was computed with (fields: one set per record of the walk) */
  private memoMac: Buffer | undefined;
  private memoKey: Buffer | undefined;
  private memoPrev: Buffer | undefined;

  /** Points the view at the next record (one view serves the whole walk). */
  at(row: LedgerRow): this {
    this.row = row;
    this.done = false;
    this.parsed = undefined;
    this.memoMac = undefined;
    return this;
  }

  /**
   * macOf for this record, computed once for a key and predecessor: the chain check and the scan
   * the evidence pack shares the walk with both check each record against the same predecessor.
   */
  readonly mac: MacOf = (key, prev, row) => {
    if (row !== this.row) return macOf(key, prev, row);
    if (this.memoMac && this.memoKey === key && this.memoPrev!.equals(prev)) return this.memoMac;
    const mac = macOf(key, prev, row);
    this.memoMac = mac;
    this.memoKey = key;
    this.memoPrev = prev;
    return mac;
  };

  /** The body as JSON, or undefined when it is not JSON (the chain walk judges such a record). */
  json(): unknown {
    if (!this.done) {
      this.done = true;
      try {
        this.parsed = JSON.parse(String(this.row.body)) as unknown;
      } catch {
        this.parsed = undefined;
      }
    }
    return this.parsed;
  }

  /** The body as a JSON object, or undefined. */
  object(): Record<string, unknown> | undefined {
    const b = this.json();
    return typeof b === "object" && b !== null && !Array.isArray(b) ? (b as Record<string, unknown>) : undefined;
  }
}

/** A check over the records only: its first problem, kept once found. */
export abstract class FirstProblem implements RowCheck {
  protected found: Tampering | undefined;

  visit(r: RecordView): void {
    if (this.found === undefined) this.found = this.check(r);
  }

  /** The problem this record shows, if any. */
  protected abstract check(r: RecordView): Tampering | undefined;

  result(): Tampering | undefined {
    return this.found;
  }
}
