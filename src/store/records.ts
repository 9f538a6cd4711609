// What the history holds: the bodies of its ten kinds of record, as JSON in the chain, and a
// record as `history` gives it, with whether its MAC proves that Covenant wrote it.
import type { Outcome } from "../evaluator/outcomes.js";
import type { RecordKind } from "./ledger.js";
import type { Attribution, FileHolder } from "../evaluator/file-finding.js";

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
  /** what changed at each path since its approved integrity state (schema 7): AIDE's terms, and the masked diff */
  findings?: RecordedFinding[];
}

/**
 * A file-integrity finding as the history keeps it: the changes in words (a `nodiff` file's with
 * its digests withheld), and the diff as shown (secrets masked; none for `nodiff`).
 */
export interface RecordedFinding {
  path: string;
  /** the kinds of change in AIDE's terms (file-change.ts): created, deleted, content, mode... */
  kinds: string[];
  changes: string[];
  diff?: { text: string; added: number; removed: number; maskedLines: number } | { none: string };
  /** who was at the file when the watcher saw the change (command lines masked by the watcher), at most RECORDED_HOLDERS */
  holders?: FileHolder[];
  holdersNote?: string;
  /** who made the change, from the audit records (the watcher's), at most RECORDED_MADE_BY changes */
  madeBy?: Attribution;
}

/**
 * The approval of integrity states (schema 7): paths first seen by a run (`first-seen`), or all
 * or named paths approved by `covenant integrity init` or `covenant approve`, with who and why.
 */
export interface ApprovalBody {
  how: "first-seen" | "init" | "approve" | "repaired";
  /** the promise that saw them (first-seen), or what the command named (controls, paths) */
  promise?: string;
  targets?: string[];
  /** how many paths were approved, and the first of them */
  paths: number;
  sample: string[];
  /** approved states removed: entries gone from a tree, approved gone */
  removed?: number;
  /** sha256 over the rows written, sorted by path: what `verify` holds them to while they stand */
  digest: string;
  at: string;
  reason?: string;
  /** the name given with --by, else the operating-system user */
  by?: string;
  user?: string;
  /** the login uid (/proc/self/loginuid), null when unset */
  loginUid?: number | null;
  /** approved copies (`baseline`) replaced with the approved content */
  copies?: string[];
  /** deficiencies closed by the approval */
  closed?: string[];
  /** the fleet hub's decision it applies, when given on the hub (by names its giver, marked "(hub)") */
  decision?: string;
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
  /** sha256 of the policy files' paths and contents (policies.ts hashPolicy) */
  policy: string;
  /** the `policy` record that holds that policy's text (absent in summaries written before policy records were kept) */
  policyRecord?: number;
  /** the `roster` record that lists the promises this run evaluated (absent in summaries written before rosters were kept) */
  roster?: number;
  /**
   * deficiencies retired in this summary's transaction: resolved, and every event of theirs seen
   * by routing, so their rows left the working tables; the history holds everything they said
   */
  retired?: string[];
  /** a dry run: a preview, never counted as operation */
  dryRun: boolean;
  /** a sandbox's run (`covenant run --sandbox`): a test of the policy, never counted as operation */
  sandbox?: boolean;
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
  /** the fleet hub's decision it applies, when given on the hub (by names its giver, marked "(hub)") */
  decision?: string;
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

/** A policy file as a run checked it: every file named, found or imported, library files included. */
export interface PolicyFile {
  path: string;
  sha256: string;
  bytes: number;
  text: string;
}

/**
 * A policy version, stored once per store when a run is first recorded with its hash (the hash
 * its summary names): the text in force from that run until a summary names another.
 */
export interface PolicyBody {
  /** hashPolicy(files), as the run summaries name it */
  hash: string;
  files: PolicyFile[];
  /** when the run that first used it began */
  at: string;
}

/** The promises a run evaluated (rosters.ts): their keys, sorted, and the hash of them; stored once per set. */
export interface RosterBody {
  hash: string;
  keys: string[];
}

/** One key of a rotation: its raw 32-byte Ed25519 public key (base64) and its fingerprint. */
export interface RotatedKey {
  publicKey: string;
  fingerprint: string;
}

/**
 * The rotation of a key (`covenant key rotate`): which, the old and the new public key, who and
 * why, and two Ed25519 signatures over the one statement rotation.ts makes of the rest: the old
 * key hands over to the new, and the new key accepts. Only the signing key rotates for now.
 */
export interface RotationBody {
  key: "signing";
  at: string;
  old: RotatedKey;
  new: RotatedKey;
  reason: string;
  /** the name given with --by, else the operating-system user */
  by: string;
  user: string;
  loginUid: number | null;
  /** base64 Ed25519 signatures over the statement, by the old key and by the new */
  signatures: { old: string; new: string };
}

/**
 * The rotation of the host key (`covenant key rotate --host`, host-rotation.ts): the ids of the
 * key retired and of the key put in force (an HMAC of a fixed label under each: never the key),
 * who and why, and `accepted`, an HMAC under the new key of the statement host-rotation.ts makes
 * of the rest: the new key accepts the handover. The record itself is MAC'd in the chain with the
 * old key (it hands over); every record after it with the new one.
 */
export interface HostRotationBody {
  key: "host";
  at: string;
  old: { id: string };
  new: { id: string };
  reason: string;
  by: string;
  user: string;
  loginUid: number | null;
  /** hex HMAC-SHA256 under the new key of the rotation's statement */
  accepted: string;
}

/**
 * The evidence pack a prune was given, as the pack says it: every record the prune removed is in
 * it (records `firstRecord` to `lastRecord`, the period `from` to `to`), signed with the key whose
 * fingerprint it names. Kept in the checkpoint and in the `prune` record, so that the history says
 * where what it no longer holds can be found and checked.
 */
export interface PruneEvidence {
  /** sha256 of the pack's manifest, as signed (hex) */
  manifestSha256: string;
  /** the fingerprint of the key that signed the manifest */
  fingerprint: string;
  firstRecord: number;
  lastRecord: number;
  /** the pack's period, as its manifest gives it (dates, YYYY-MM-DD) */
  from: string;
  to: string;
  /** the MAC of the extract's last record (hex), when the pack gives it: it must be this history's record `lastRecord` */
  lastMac?: string;
}

/** History older than a date removed (`covenant prune`), leaving a sealed checkpoint (prune.ts). */
export interface PruneBody {
  /** the instant asked for: history before it was removed, whole runs only */
  before: string;
  /** the last record removed or kept below the checkpoint: the end of the cut run, and that run */
  cut: { seq: number; run: number };
  /** records removed, per kind */
  removed: Partial<Record<RecordKind, number>>;
  /** records at or below the cut still kept, because something after it names them */
  kept: number;
  /** settled outbox messages removed with their delivery records */
  messages: number;
  /** resolved deficiencies retired with their records (and their events) */
  deficiencies: number;
  evidence: PruneEvidence;
  /** sha256 of the checkpoint as sealed in the store: the checkpoint this record vouches for */
  checkpoint: string;
}

export interface HistoryEntry {
  seq: number;
  kind: RecordKind;
  run: number;
  time: string;
  body: ChangeBody | RunBody | BaselineBody | AckBody | DeliveryBody | ApprovalBody | PolicyBody | RosterBody | RotationBody | HostRotationBody | PruneBody | { unreadable: string };
  /** whether the record's MAC matches: false for a record altered, inserted, or cut off from the records before it */
  verified: boolean;
  /** why it is not verified */
  problem?: string;
}

