// Names that must come out the same when the same thing is planned twice: a plan redone after a
// crash (before the dispatcher saved it) gives its messages the ids they had, so the outbox keeps
// one copy and a receiver that saw the first attempt can drop the second.
import { createHash } from "node:crypto";
import type { Deficiency, MessageKind } from "../contract.js";
import { base32 } from "../../text/base32.js";

export { base32 } from "../../text/base32.js";

/**
 * What a member looked like when it was told: a member whose fingerprint differs from the one a
 * group remembers has changed (an outcome, an acknowledgement, a resolution, a new history record).
 */
export function fingerprint(d: Deficiency): string {
  return `${d.status}:${d.outcome}:${d.ack ? "ack" : ""}:${d.lastRecord}`;
}

export interface MessageIdInput {
  route: string;
  groupKey: string;
  recipient: string;
  kind: MessageKind;
  members: readonly Deficiency[];
  /** the group's lastSentAt, or its firstSeenAt before the first message: the send window */
  since: number;
}

/** "m-" and 16 base32 characters (80 bits) of a SHA-256 over everything that makes a message this one. */
export function messageId(input: MessageIdInput): string {
  const members = input.members.map((d) => `${d.id}=${fingerprint(d)}`).sort();
  // JSON keeps the parts apart: no choice of route or group key can make two inputs collide
  const text = JSON.stringify([input.route, input.groupKey, input.recipient, input.kind, members, input.since]);
  return `m-${base32(createHash("sha256").update(text).digest(), 16)}`;
}
