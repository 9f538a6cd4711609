// Names that must come out the same when the same thing is planned twice: a plan redone after a
// crash (before the dispatcher saved it) gives its messages the ids they had, so the outbox keeps
// one copy and a receiver that saw the first attempt can drop the second.
import { createHash } from "node:crypto";
import type { Deficiency, MessageKind } from "../contract.js";

/** Crockford's alphabet, lower case: no i, l, o or u, so an id read aloud or retyped survives. */
const crockford = "0123456789abcdefghjkmnpqrstvwxyz";

/** The first `chars` base32 characters (5 bits each) of `bytes`. */
export function base32(bytes: Uint8Array, chars: number): string {
  if (chars * 5 > bytes.length * 8) throw new RangeError(`${chars} base32 characters need more than ${bytes.length} bytes`);
  let out = "";
  let buffer = 0;
  let bits = 0;
  let index = 0;
  while (out.length < chars) {
    if (bits < 5) {
      buffer = ((buffer << 8) | bytes[index++]!) & 0xffff;
      bits += 8;
    }
    out += crockford[(buffer >> (bits - 5)) & 31];
    bits -= 5;
  }
  return out;
}

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
