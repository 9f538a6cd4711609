// `verify` for the rosters: each `roster` record lists sorted keys that hash to the hash it is
// stored under, and a summary that names a roster names a roster record before it listing as
// many promises as the summary counts. Summaries written before rosters were kept name none.
import type { Tampering } from "./ledger.js";
import { FirstProblem, type RecordView } from "./row-check.js";
import { parseRoster, rosterHash } from "./rosters.js";

export class RosterCheck extends FirstProblem {
  private readonly sizes = new Map<number, number>();

  protected check(v: RecordView): Tampering | undefined {
    const r = v.row;
    if (r.kind === "roster") {
      const body = parseRoster(String(r.body));
      if (!body) return { kind: "altered", seq: r.seq, message: `roster record ${r.seq} does not hold a roster (promise keys and the hash of them)` };
      const sorted = [...body.keys].sort();
      if (sorted.some((k, i) => k !== body.keys[i] || (i > 0 && k === sorted[i - 1])) || rosterHash(sorted) !== body.hash) return { kind: "altered", seq: r.seq, message: `roster record ${r.seq}'s keys are not sorted and distinct` };
      this.sizes.set(r.seq, body.keys.length);
      return undefined;
    }
    if (r.kind !== "run") return undefined;
    const body = v.json() as { roster?: unknown; promises?: unknown } | undefined;
    // not JSON: the chain walk has judged this record
    if (typeof body !== "object" || body === null || body.roster === undefined) return undefined;
    const what = `run ${r.run}'s summary (record ${r.seq})`;
    const size = typeof body.roster === "number" ? this.sizes.get(body.roster) : undefined;
    if (size === undefined) return { kind: "deleted", seq: r.seq, message: `${what} names roster record ${String(body.roster)}, which is not a roster record before it: which promises the run evaluated is missing` };
    if (size !== body.promises) return { kind: "altered", seq: r.seq, message: `${what} counts ${String(body.promises)} promises, but its roster (record ${String(body.roster)}) lists ${size}` };
    return undefined;
  }
}
