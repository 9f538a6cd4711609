// `verify` for schema 5's tables: every deficiency, outbox event, planned message and group state
// must carry its seal; and what they say must agree with the history, which a sealed row put back
// from an older copy (or deleted) no longer does: a promise whose last record is deficient has
// exactly one open deficiency and an open deficiency's promise is still deficient; each
// acknowledgement in the history is on its deficiency; each deficiency has the events of its
// life; a deficiency retired by a run's summary (resolved and told) is gone, with its events; a
// message is sent or given up exactly when the history holds its delivery record.
import type Database from "better-sqlite3";
import { isDeficiency, type Outcome } from "../evaluator/outcomes.js";
import type { Deficiency } from "../notifiers/contract.js";
import type { Tampering } from "./ledger.js";
import type { RecordView, RowCheck } from "./row-check.js";
import { sealDeficiency, sealEvent, sealGroup, sealMatches, sealMessage, type DeficiencyRow, type EventRow, type GroupRow, type MessageRow } from "./seals.js";

function parse(text: unknown): unknown {
  try {
    return JSON.parse(String(text)) as unknown;
  } catch {
    return undefined; // the chain walk has already judged this record
  }
}

const altered = (seq: number, message: string): Tampering => ({ kind: "altered", seq, message });

/** What the history says, per promise and per deficiency and message. */
interface Said {
  lastChange: Map<string, { seq: number; to: unknown }>;
  /** the promise key of each change record a deficiency names (only those: a year holds ~200,000 changes) */
  changeKey: Map<number, string>;
  lastAck: Map<string, number>;
  delivery: Map<string, { seq: number; status: unknown }>;
  /** deficiencies retired by a run's summary (notify.ts retireResolved): the summary's record */
  retired: Map<string, number>;
}

/**
 * The deficiencies and outbox against the history. `prunedRetired`: the deficiencies retired by
 * summaries a prune removed (its checkpoint lists them; the last prune record vouches for them).
 */
export class NotifyCheck implements RowCheck {
  private readonly s: Said = { lastChange: new Map(), changeKey: new Map(), lastAck: new Map(), delivery: new Map(), retired: new Map() };
  /** the change records deficiencies name, read before the walk (the walk keeps the connection busy) */
  private readonly named: Set<number>;
  private lastPrune = 0;

  constructor(
    private readonly db: Database.Database,
    private readonly key: Buffer,
    private readonly prunedRetired: readonly string[] | undefined,
  ) {
    this.named = new Set();
    for (const body of db.prepare("SELECT body FROM deficiencies").pluck().iterate() as IterableIterator<unknown>) {
      const d = parse(body) as Partial<Deficiency> | undefined;
      for (const at of [d?.openedRecord, d?.lastRecord]) if (typeof at === "number") this.named.add(at);
    }
  }

  visit(v: RecordView): void {
    const r = v.row;
    const s = this.s;
    if (r.kind === "prune") this.lastPrune = r.seq;
    if (r.kind !== "change" && r.kind !== "ack" && r.kind !== "delivery" && r.kind !== "run") return;
    const b = v.object();
    if (!b) return;
    if (r.kind === "change" && typeof b["key"] === "string") {
      s.lastChange.set(b["key"], { seq: r.seq, to: b["to"] });
      if (this.named.has(r.seq)) s.changeKey.set(r.seq, b["key"]);
    } else if (r.kind === "ack" && typeof b["deficiency"] === "string") s.lastAck.set(b["deficiency"], r.seq);
    else if (r.kind === "delivery" && typeof b["message"] === "string") s.delivery.set(b["message"], { seq: r.seq, status: b["status"] });
    else if (r.kind === "run" && Array.isArray(b["retired"])) for (const id of b["retired"]) if (typeof id === "string") s.retired.set(id, r.seq);
  }

  result(): Tampering | undefined {
    const { db, key, s } = this;
    if (this.prunedRetired) for (const id of this.prunedRetired) if (!s.retired.has(id)) s.retired.set(id, this.lastPrune);
    const deficiencies: Deficiency[] = []; // read once, sealed, for the events they must have
    return deficiencyTampering(db, key, s, deficiencies) ?? eventTampering(db, key, deficiencies, s.retired) ?? messageTampering(db, key, s) ?? groupTampering(db, key);
  }
}

function deficiencyTampering(db: Database.Database, key: Buffer, s: Said, read: Deficiency[]): Tampering | undefined {
  const open = new Map<string, Deficiency>();
  const acked = new Set<string>();
  for (const row of db.prepare("SELECT * FROM deficiencies ORDER BY id").iterate() as IterableIterator<DeficiencyRow>) {
    const d = parse(row.body) as Deficiency | undefined;
    const seq = typeof d?.lastRecord === "number" ? d.lastRecord : 0;
    if (!sealMatches(row.seal, sealDeficiency(key, row)) || !d) return altered(seq, `the deficiency ${row.id} was changed outside Covenant: its seal does not match`);
    read.push(d);
    const retiredBy = s.retired.get(d.id);
    if (retiredBy !== undefined) return altered(retiredBy, `the deficiency ${d.id} was retired by record ${retiredBy}, but it is in the store: it was put back from an older copy`);
    for (const at of [d.openedRecord, d.lastRecord]) {
      if (s.changeKey.get(at) !== d.key) return altered(at, `the deficiency ${d.id} names record ${at} as a change of ${d.key}, which it is not: it was put there outside Covenant`);
    }
    if (d.status === "open") {
      if (open.has(d.key)) return altered(seq, `${d.key} has two open deficiencies (${open.get(d.key)!.id} and ${d.id}): one was put back from an older copy`);
      open.set(d.key, d);
    }
    const ackSeq = s.lastAck.get(d.id);
    if (ackSeq !== undefined && d.ack?.record !== ackSeq) return altered(ackSeq, `the deficiency ${d.id} does not carry its acknowledgement of record ${ackSeq}: it was put back from an older copy`);
    if (ackSeq !== undefined) acked.add(d.id);
  }
  for (const [id, seq] of s.lastAck) if (!acked.has(id) && !s.retired.has(id)) return { kind: "deleted", seq, message: `the deficiency ${id}, acknowledged in record ${seq}, is not in the store: it was deleted` };
  for (const [promiseKey, last] of s.lastChange) {
    const d = open.get(promiseKey);
    const deficient = typeof last.to === "string" && isDeficiency(last.to as Outcome);
    if (deficient && !d) return { kind: "deleted", seq: last.seq, message: `${promiseKey} is ${String(last.to)} (record ${last.seq}) but has no open deficiency: it was deleted or set back` };
    if (!deficient && d) return altered(last.seq, `the deficiency ${d.id} is open, but the last record of ${promiseKey} (${last.seq}) says ${String(last.to)}: it was put back from an older copy`);
  }
  return undefined;
}

/** Each event sealed and naming a deficiency in the store; each deficiency with the events of its life. */
function eventTampering(db: Database.Database, key: Buffer, deficiencies: readonly Deficiency[], retired: ReadonlyMap<string, number>): Tampering | undefined {
  const events = new Map<string, Set<string>>();
  for (const row of db.prepare("SELECT * FROM outbox_events ORDER BY seq").iterate() as IterableIterator<EventRow>) {
    if (!sealMatches(row.seal, sealEvent(key, row))) return altered(0, `the outbox event ${row.seq} was changed outside Covenant: its seal does not match`);
    if (!events.has(row.deficiency)) events.set(row.deficiency, new Set());
    events.get(row.deficiency)!.add(row.event);
  }
  const ids = new Set<string>();
  for (const d of deficiencies) {
    ids.add(d.id);
    const had = events.get(d.id) ?? new Set<string>();
    const due = [d.notice ? "notice" : "opened", ...(d.status === "resolved" && !d.notice ? ["resolved"] : []), ...(d.ack ? ["acknowledged"] : [])];
    const missing = due.find((e) => !had.has(e));
    if (missing) return { kind: "deleted", seq: d.lastRecord, message: `the outbox event saying the deficiency ${d.id} was ${missing === "notice" ? "noticed" : missing} is missing: it was deleted` };
  }
  for (const id of events.keys()) {
    const retiredBy = retired.get(id);
    if (retiredBy !== undefined) return altered(retiredBy, `outbox events of the deficiency ${id}, retired by record ${retiredBy}, are in the store: they were put back from an older copy`);
  }
  for (const id of events.keys()) if (!ids.has(id)) return { kind: "deleted", seq: 0, message: `the deficiency ${id}, named by outbox events, is not in the store: it was deleted` };
  return undefined;
}

/** Each message sealed; sent or given up exactly when the history holds its delivery record with that status. */
function messageTampering(db: Database.Database, key: Buffer, s: Said): Tampering | undefined {
  const seen = new Set<string>();
  for (const row of db.prepare("SELECT * FROM outbox_messages ORDER BY id").iterate() as IterableIterator<MessageRow>) {
    const record = s.delivery.get(row.id);
    if (!sealMatches(row.seal, sealMessage(key, row))) return altered(record?.seq ?? 0, `the outbox message ${row.id} was changed outside Covenant: its seal does not match`);
    seen.add(row.id);
    const done = row.status === "sent" || row.status === "given-up";
    if (done && !record) return { kind: "deleted", seq: 0, message: `the outbox message ${row.id} is ${row.status}, but the history holds no delivery record of it: it was deleted` };
    if (record && record.status !== row.status) return altered(record.seq, `the outbox message ${row.id} is ${row.status}, but its delivery record (${record.seq}) says ${String(record.status)}: it was put back from an older copy`);
  }
  for (const [id, record] of s.delivery) if (!seen.has(id)) return { kind: "deleted", seq: record.seq, message: `the outbox message ${id}, delivered in record ${record.seq}, is not in the store: it was deleted` };
  return undefined;
}

function groupTampering(db: Database.Database, key: Buffer): Tampering | undefined {
  for (const row of db.prepare("SELECT * FROM notify_groups ORDER BY route, group_key, recipient").iterate() as IterableIterator<GroupRow>) {
    if (!sealMatches(row.seal, sealGroup(key, row))) return altered(0, `the notification log of ${row.recipient} for group ${row.group_key} (route ${row.route}) was changed outside Covenant: its seal does not match`);
  }
  return undefined;
}
