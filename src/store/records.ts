// What the history holds: the bodies of its five kinds of record, as JSON in the chain, and a
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

/** What made a run: `covenant run` (cron, an operator), or the watcher re-evaluating what changed. */
export type RunKind = "run" | "watch";

export interface RunBody {
  run: number;
  /** absent in summaries written before the watcher existed: those are all "run" (runKindOf) */
  kind?: RunKind;
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

/** A summary's kind: one written before kinds were kept was a `covenant run`. */
export function runKindOf(body: { kind?: unknown }): RunKind {
  return body.kind === "watch" ? "watch" : "run";
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

/** The acknowledgement of a deficiency (`covenant ack`): who accepted that it is known, and why. */
export interface AckBody {
  deficiency: string;
  key: string;
  control: string;
  at: string;
  reason: string;
  /** the name given with --by, else the operating-system user */
  by: string;
  /** the operating-system user who ran the command, and the login uid (null when unset) */
  user: string;
  loginUid: number | null;
}

/** A message delivered, or given up after its last attempt: evidence of who was told, when, how and about what. */
export interface DeliveryBody {
  message: string;
  /** the channel's name under `channels:` */
  channel: string;
  /** stakeholder, channel and address: "security/mail/alice@example.com", "siem/hook" (never a secret) */
  recipient: string;
  kind: string;
  route: string;
  groupKey: string;
  deficiencies: string[];
  status: "sent" | "given-up";
  attempts: number;
  providerId?: string;
  error?: string;
}

export interface HistoryEntry {
  seq: number;
  kind: RecordKind;
  run: number;
  time: string;
  body: ChangeBody | RunBody | BaselineBody | AckBody | DeliveryBody | { unreadable: string };
  /** whether the record's MAC matches: false for a record altered, inserted, or cut off from the records before it */
  verified: boolean;
  /** why it is not verified */
  problem?: string;
}

