// Each promise's latest outcome, from the store: the history keeps a record at every change of a
// promise's state, so the last change record of a key is the state it is in now (as the store's
// current states hold it). Read-only: the store is opened by the caller as `covenant history` does.
import { outcomeOrder, type Outcome } from "../evaluator/outcomes.js";
import type { ChangeBody, StateStore } from "../store/store.js";
import type { LatestOutcome } from "./map-graph.js";

const OUTCOMES = new Set<string>(outcomeOrder);

/** The latest outcome of every promise the store has recorded; records that fail their check are passed over and counted. */
export function latestOutcomes(store: StateStore): { outcomes: Map<string, LatestOutcome>; unverified: number; end?: string } {
  const outcomes = new Map<string, LatestOutcome>();
  let unverified = 0;
  const read = store.readHistory({ kinds: ["change"] });
  for (const e of read.entries) {
    if (!e.verified || "unreadable" in e.body) {
      unverified++;
      continue;
    }
    const body = e.body as ChangeBody;
    if (typeof body.key !== "string" || !OUTCOMES.has(body.to)) continue;
    outcomes.set(body.key, { outcome: body.to as Outcome, since: e.time, reason: typeof body.reason === "string" ? body.reason : "" });
  }
  // records cut off the end, or another tampering found past the last record read
  return read.end ? { outcomes, unverified, end: read.end.message } : { outcomes, unverified };
}
