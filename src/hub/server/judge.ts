// Whether a push continues what the hub holds of a host: the rules that catch a host whose store
// was rolled back or forked, decided from the hub's position, the chain values it holds over the
// push's overlap, and the push, with no database in sight (push.ts brings those). A head below
// what the hub holds is a rollback only when the push claims it now: a copy of a push signed
// before the host's latest accepted one (a late retry, a replay) is stale, not tampering.
import type { PushedRecord } from "../protocol.js";

/** What the hub holds of a host's chain. */
export interface Held {
  lastSeq: number;
  lastChain: Buffer;
  /** the chain's value before any record */
  start: Buffer;
  /** the prune's cut the host named before its first push: holes at or below it are allowed, nowhere else */
  pruneCut: number | null;
  /** the host's clock when it sent the last push the hub took (ms; null before any, or unreadable) */
  lastSentAt: number | null;
}

/** A pushed record with the chain value after it. */
export interface Chained extends PushedRecord {
  chain: Buffer;
}

export type Verdict =
  | { kind: "store"; from: number; stored: number; last: { seq: number; chain: Buffer } }
  | { kind: "refuse"; reason: "fork" | "rollback" | "gap"; seq?: number; message: string; incident: boolean; detail?: Record<string, unknown> }
  /** an older copy of what the hub already took: nothing to store, nothing to report */
  | { kind: "stale"; message: string };

export interface PushFacts {
  after: { seq: number; chain: Buffer };
  records: readonly Chained[];
  head: { seq: number } | null;
  /** the host's clock when it signed the push (the body's sentAt, ms) */
  sentAt: number;
}

/**
 * The verdict on a push: records to store from index `from`, or a refusal. `overlap` holds the
 * hub's chain value for each record it holds from `after.seq` up to its last (only those are
 * needed: the push can only agree or disagree with them).
 */
export function judgePush(held: Held, push: PushFacts, overlap: ReadonlyMap<number, Buffer>): Verdict {
  const headSeq = push.head?.seq ?? 0;
  return headSeq < held.lastSeq ? judgeBelow(held, push, overlap, headSeq) : judgeFollowing(held, push, overlap);
}

/**
 * A push whose head is below what the hub holds. Its head, its records and its `after` say what
 * the host's history was when it signed it; that is a rollback only if it was signed after the
 * host's latest push the hub took (sentAt, signed with the body). A push that agrees with
 * everything the hub holds and was signed no later than that push is an old copy arriving late
 * (a retry whose first attempt was taken, a delayed duplicate, a replay): stale. A host that set
 * its clock back to look stale gains only silence: it can send no record the hub does not hold
 * (that is a fork) and no push with its clock right (that is this rollback), docs/hub.md.
 */
function judgeBelow(held: Held, push: PushFacts, overlap: ReadonlyMap<number, Buffer>, headSeq: number): Verdict {
  // an honest host's position is never past its head: a push after its own head is a store cut short
  const agrees = push.after.seq <= headSeq && judgeFollowing(held, push, overlap).kind === "store";
  const sent = new Date(push.sentAt).toISOString();
  if (agrees && held.lastSentAt !== null && push.sentAt <= held.lastSentAt) {
    return { kind: "stale", message: `the push (sent at ${sent}, the host's head then record ${headSeq}) is an older copy of what the hub holds: it took a later push, sent at ${new Date(held.lastSentAt).toISOString()}, and holds records up to ${held.lastSeq}` };
  }
  return {
    kind: "refuse",
    reason: "rollback",
    seq: headSeq,
    incident: true,
    message: `the host's history ends at record ${headSeq}, but it had already sent records up to ${held.lastSeq}: its store was rolled back or records were removed`,
    detail: { hostHead: headSeq, hubHolds: held.lastSeq, sentAt: sent, lastSentAt: held.lastSentAt !== null ? new Date(held.lastSentAt).toISOString() : null, agrees },
  };
}

/** A push whose head is at or past what the hub holds: does it follow on, re-send the same, or differ? */
function judgeFollowing(held: Held, push: PushFacts, overlap: ReadonlyMap<number, Buffer>): Verdict {
  if (push.after.seq > held.lastSeq) {
    return { kind: "refuse", reason: "gap", incident: false, message: `the push follows record ${push.after.seq}, but the hub holds records up to ${held.lastSeq} only: send from there` };
  }
  const before = push.after.seq === 0 ? held.start : push.after.seq === held.lastSeq ? held.lastChain : overlap.get(push.after.seq);
  if (before === undefined) {
    return { kind: "refuse", reason: "gap", incident: false, message: `the hub holds no record ${push.after.seq} to follow: send from record ${held.lastSeq}` };
  }
  if (!before.equals(push.after.chain)) return fork(push.after.seq, "the chain up to it differs from the one the host sent before");
  return judgeRecords(held, push, overlap);
}

function fork(seq: number, why: string): Verdict {
  return { kind: "refuse", reason: "fork", seq, incident: true, message: `the host's history forks at record ${seq}: ${why}`, detail: { seq } };
}

/** The push's records against the hub's: those it holds must be the same; the rest must follow on. */
function judgeRecords(held: Held, push: PushFacts, overlap: ReadonlyMap<number, Buffer>): Verdict {
  const heldSeqs = [...overlap.keys()].filter((s) => s > push.after.seq).sort((a, b) => a - b);
  let h = 0;
  let i = 0;
  const records = push.records;
  for (; i < records.length && records[i]!.seq <= held.lastSeq; i++) {
    const r = records[i]!;
    const expected = heldSeqs[h];
    // the hub holds nothing more up to this record (holes below a prune cut): the record is not one it took
    if (expected === undefined || expected > r.seq) return fork(r.seq, `record ${r.seq} was not in what the host sent before`);
    if (expected < r.seq) return fork(expected, `the hub holds record ${expected}, which this push leaves out`);
    if (!overlap.get(expected)!.equals(r.chain)) return fork(r.seq, "the record differs from the one the host sent before");
    h++;
  }
  if (i < records.length && h < heldSeqs.length) return fork(heldSeqs[h]!, `the hub holds record ${heldSeqs[h]!}, which this push leaves out`);
  const from = i;
  const cut = held.pruneCut ?? -1;
  let prev = held.lastSeq;
  for (; i < records.length; i++) {
    const seq = records[i]!.seq;
    const hole = seq !== prev + 1;
    if (hole && seq > cut + 1) {
      return {
        kind: "refuse",
        reason: "gap",
        seq: prev + 1,
        incident: true,
        message: `record ${seq} follows record ${prev}: the host's history lacks records ${prev + 1} to ${seq - 1}, which it never sent`,
        detail: { after: prev, next: seq },
      };
    }
    prev = seq;
  }
  const last = records.length > from ? { seq: records[records.length - 1]!.seq, chain: records[records.length - 1]!.chain } : { seq: held.lastSeq, chain: held.lastChain };
  return { kind: "store", from, stored: records.length - from, last };
}
