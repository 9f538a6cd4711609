// The notifier seam: what a deficiency is once recorded, what a message to a stakeholder holds,
// and what every channel (one file each, registered in registry.ts) promises. Routing
// (routing/) turns deficiencies into planned messages; the dispatcher (dispatch.ts) persists each
// planned message in the store's outbox before a channel sees it, so a message resent after a
// crash carries the same id; channels render and send, and say whether a failure is worth a retry.
import type { Severity } from "../checker/policy.js";
import type { Outcome } from "../evaluator/outcomes.js";
import type { ChannelConfig, Person, Stakeholder } from "../config/types.js";
import type { RecordedFinding } from "../store/records.js";

/** A deficiency as the store keeps it (src/store/deficiencies.ts), with what a message needs to say. */
export interface Deficiency {
  /** short and stable from the run that opened it to the run that resolved it, such as "d-7k3q9m2x" */
  id: string;
  /** the promise's key (control, type, promiser) */
  key: string;
  /** a `repaired` notice (found and undone) rather than a deficiency */
  notice: boolean;
  /** open until a run finds the promise kept, skipped or waived (or it is repaired, for a notice) */
  status: "open" | "resolved";
  /** the latest outcome: drift, failed or error while open; for a notice, repaired */
  outcome: Outcome;
  /** how it was resolved: the outcome that closed it (kept, skipped, waived, repaired) */
  resolvedBy?: Outcome;
  host: string;
  control: { id: string; title: string; owner?: string; severity: Severity; key: boolean };
  promise: { type: string; promiser: string; stakeholders: string[]; handle?: string; dependsOn: string[]; file: string; line: number };
  /** what was promised, one line per attribute (`mode = 0640`) */
  promised: string[];
  /** one line: why */
  reason: string;
  /** what was observed to differ */
  differences: string[];
  /** what the change gate did: repaired, held, failed */
  changes: string[];
  openedAt: string;
  openedRun: number;
  /** the history record (ledger seq) of the change that opened it, and of the latest */
  openedRecord: number;
  lastRecord: number;
  updatedAt: string;
  resolvedAt?: string;
  resolvedRun?: number;
  ack?: Acknowledgement;
  /** an integrity deficiency closed by `covenant approve`: who approved the change, and why */
  approval?: Approval;
  /** what changed at each file, in AIDE's terms and a masked diff (issue 15; none for `nodiff`) */
  findings?: RecordedFinding[];
  /** found by the fleet hub's monitor rather than a host's run: it has no run, no host history record, and is not acknowledged with `covenant ack` */
  fleet?: true;
}

/** The approval (`covenant approve`) that closed a deficiency. */
export interface Approval {
  by: string;
  reason: string;
  /** the history record of the approval */
  record: number;
}

export interface Acknowledgement {
  at: string;
  reason: string;
  /** the name given with --by, else the operating-system user */
  by: string;
  /** who ran `covenant ack`: the operating-system user and the login uid (/proc/self/loginuid; null when unset) */
  user: string;
  loginUid: number | null;
  /** the history record that holds it */
  record: number;
  /** the fleet hub's decision it applies, when given on the hub */
  decision?: string;
}

/** Why a message is sent. */
export type MessageKind =
  /** deficiencies new to this group (or the group's first message) */
  | "opened"
  /** the group changed: new members, changed outcomes, acknowledgements */
  | "updated"
  /** nothing changed since the last message, and repeat_interval has passed */
  | "reminder"
  /** sent to an escalation receiver */
  | "escalated"
  /** every member of the group is resolved (send_resolved) */
  | "resolved"
  /** `covenant notify test` */
  | "test";

/** One message to one recipient through one channel, about one group of deficiencies. */
export interface Message {
  /** stable: the same group, receiver, channel, members and send window give the same id (dedup key, Message-ID) */
  id: string;
  kind: MessageKind;
  /** the route and group key it belongs to: messages of one group form one thread */
  route: string;
  groupKey: string;
  /** group_by labels and their values, such as { control: "ITGC-AC-01" } */
  groupLabels: Record<string, string>;
  /** the ids of earlier messages of this group to this recipient, oldest first (threading) */
  previous: string[];
  /** the recipient's id: "stakeholder/channel" or "stakeholder/channel/address" (absent in a test message) */
  recipient?: string;
  host: string;
  /** members: open ones first, then resolved and notices */
  deficiencies: Deficiency[];
  stakeholder: Stakeholder;
  /** the person addressed, for email and SMS; absent for report, webhook and alertmanager channels */
  person?: Person;
  createdAt: string;
}

/** A channel's answer: sent, or failed and whether trying again may help. */
export type Delivery =
  | { ok: true; /** the provider's id (SMTP response, Twilio SID, ...) */ providerId?: string; detail: string }
  | { ok: false; retryable: boolean; /** the provider asked for this delay (Retry-After, 429) */ retryAfterMs?: number; error: string };

export interface Channel {
  readonly config: ChannelConfig;
  /** Sends one message. Never throws: every failure is a Delivery with ok false and words that name no secret. */
  send(message: Message): Promise<Delivery>;
  /** Releases connections (an SMTP pool). */
  close(): Promise<void>;
}

/** What a channel may need besides its configuration: secrets are read only when the channel is made. */
export interface ChannelContext {
  readSecret(ref: import("../config/types.js").SecretRef, what: string): string;
  /** the PEM text of a CA file the configuration names, read by root's rule for configuration (a refusal throws, naming the file) */
  readCaFile(path: string, what: string): string;
  /** the directory for report files is judged as root's; tests inject a clock */
  now(): Date;
}

export type ChannelFactory = (config: ChannelConfig, ctx: ChannelContext) => Promise<Channel>;

/**
 * What routing remembers per group and recipient between runs (the notification log, kept
 * sealed in the store): when the group was first seen, when it was last told, and what each
 * member looked like when it was told, so a run that changes nothing sends nothing.
 */
export interface GroupState {
  route: string;
  groupKey: string;
  /** stakeholder, channel and person: "security/mail/alice@example.com", "siem/hook" */
  recipient: string;
  /** an escalation recipient's group (told because the deficiency stayed open) */
  escalation: boolean;
  /** ms since the epoch */
  firstSeenAt: number;
  lastSentAt?: number;
  /** deficiency id → the fingerprint (status, outcome, acknowledgement) it had when last told */
  told: Record<string, string>;
  /** ids of the messages sent to this recipient for this group, oldest first (at most the last 20) */
  messages: string[];
}

/** What became of one attempt to deliver a message, as the outbox records it. */
export interface DeliveryResult {
  at: string;
  status: "sent" | "retrying" | "given-up";
  error?: string;
  providerId?: string;
  /** ms since the epoch: when to try again (retrying) */
  nextAt?: number;
}

/** A planned message as the outbox keeps it until it is delivered or given up. */
export interface OutboxMessage {
  id: string;
  /** the channel's name under `channels:` */
  channel: string;
  message: Message;
  status: "pending" | "retrying" | "sent" | "given-up";
  attempts: number;
  /** ms since the epoch: not before */
  dueAt: number;
  lastError?: string;
  sentAt?: string;
  createdAt: string;
}
