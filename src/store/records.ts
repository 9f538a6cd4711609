// What the history holds: the bodies of its three kinds of record, as JSON in the chain, and a
// record as `history` gives it, with whether its MAC proves that Covenant wrote it.
import type { Outcome } from "../evaluator/outcomes.js";
import type { RecordKind } from "./ledger.js";

/** A change of a promise's state, as kept in the history. */
export interface ChangeBody {
  key: string;
  control: string;
  type: string;
  promiser: string;
  /** null on the first observation */
  from: Outcome | null;
  to: Outcome;
  reason: string;
  /** what differed, one sentence each */
  differences: string[];
  /** what the change gate did */
  changes: string[];
  /** such as "would be drift; waived", or input a probe skipped */
  notes?: string[];
}

export interface RunBody {
  run: number;
  host: string;
  started: string;
  finished: string;
  /** sha256 of the policy files' contents */
  policy: string;
  dryRun: boolean;
  promises: number;
  counts: Partial<Record<Outcome, number>>;
  /** sha256 over every promise's key and outcome, sorted: proof of what was tested */
  outcomes: string;
  /** change records this run wrote */
  changed: number;
  notes?: string[];
}

/** The approval of a file's integrity baseline (its first observation), kept in the chain. */
export interface BaselineBody {
  path: string;
  algorithm: string;
  /** for a `nodiff` file (`keyed`), an HMAC of the digest under the host key, never the digest */
  digest: string;
  approvedAt: string;
  keyed?: boolean;
}

export interface HistoryEntry {
  seq: number;
  kind: RecordKind;
  run: number;
  time: string;
  body: ChangeBody | RunBody | BaselineBody | { unreadable: string };
  /** whether the record's MAC matches: false for a record altered, inserted, or cut off from the records before it */
  verified: boolean;
  /** why it is not verified */
  problem?: string;
}

