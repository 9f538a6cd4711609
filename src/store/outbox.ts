// The outbox: events (a deficiency opened, updated, resolved, noticed, acknowledged) written in
// the transaction of the change that made them, until routing has seen them; planned messages
// until they are delivered or given up; and the notification log per group and recipient (what
// each was last told). Every row is sealed with the host key; a row changed outside Covenant is
// said and passed over, never sealed again. Events and messages are kept once routed or sent:
// `verify` holds each deficiency to its events and each message sent to its delivery record.
import type Database from "better-sqlite3";
import type { DeficiencyEvent } from "./deficiencies.js";
import type { GroupState, Message, OutboxMessage } from "../notifiers/contract.js";
import { sealEvent, sealGroup, sealMatches, sealMessage, type EventRow, type GroupRow, type MessageRow } from "./seals.js";

export interface PlannedMessage {
  channel: string;
  message: Message;
  dueAt: number;
}

function toOutboxMessage(row: MessageRow): OutboxMessage {
  const m: OutboxMessage = { id: row.id, channel: row.channel, message: JSON.parse(row.body) as Message, status: row.status, attempts: row.attempts, dueAt: row.due_at, createdAt: row.created_at };
  if (row.last_error !== null) m.lastError = row.last_error;
  if (row.sent_at !== null) m.sentAt = row.sent_at;
  return m;
}

type Statements = "lastEvent" | "putEvent" | "event" | "unrouted" | "removeEvents" | "putMessage" | "replaceMessage" | "message" | "due" | "dueOf" | "dueRow" | "dueChannels" | "messages" | "putGroup" | "dropGroup" | "groups" | "groupsOf";

export class Outbox {
  private readonly q: Record<Statements, Database.Statement>;

  constructor(
    db: Database.Database,
    private readonly key: Buffer,
    private readonly untrusted: (why: string) => void,
  ) {
    this.q = {
      lastEvent: db.prepare("SELECT max(seq) FROM outbox_events").pluck(),
      putEvent: db.prepare("INSERT OR REPLACE INTO outbox_events VALUES (@seq, @deficiency, @event, @run, @time, @routed, @seal)"),
      event: db.prepare("SELECT * FROM outbox_events WHERE seq = ?"),
      unrouted: db.prepare("SELECT * FROM outbox_events WHERE routed = 0 ORDER BY seq"),
      removeEvents: db.prepare("DELETE FROM outbox_events WHERE deficiency = ?"),
      // a message already planned (a plan saved again after a crash) is kept as it is
      putMessage: db.prepare("INSERT INTO outbox_messages VALUES (@id, @channel, @status, @attempts, @due_at, @body, @last_error, @created_at, @sent_at, @seal) ON CONFLICT (id) DO NOTHING"),
      replaceMessage: db.prepare("INSERT OR REPLACE INTO outbox_messages VALUES (@id, @channel, @status, @attempts, @due_at, @body, @last_error, @created_at, @sent_at, @seal)"),
      message: db.prepare("SELECT * FROM outbox_messages WHERE id = ?"),
      // ids only: ordering whole rows sorted every message's body (kilobytes each) at every call
      due: db.prepare("SELECT id FROM outbox_messages WHERE status IN ('pending', 'retrying') AND due_at <= ? ORDER BY due_at, created_at, id").pluck(),
      dueOf: db.prepare("SELECT id FROM outbox_messages WHERE status IN ('pending', 'retrying') AND due_at <= ? AND channel = ? ORDER BY due_at, created_at, id").pluck(),
      // read again with the condition: a row settled since its id was listed is no longer due
      dueRow: db.prepare("SELECT * FROM outbox_messages WHERE id = ? AND status IN ('pending', 'retrying') AND due_at <= ?"),
      dueChannels: db.prepare("SELECT DISTINCT channel FROM outbox_messages WHERE status IN ('pending', 'retrying') AND due_at <= ? ORDER BY channel").pluck(),
      messages: db.prepare("SELECT * FROM outbox_messages ORDER BY created_at, id"),
      putGroup: db.prepare("INSERT OR REPLACE INTO notify_groups VALUES (@route, @group_key, @recipient, @body, @seal)"),
      dropGroup: db.prepare("DELETE FROM notify_groups WHERE route = ? AND group_key = ? AND recipient = ?"),
      groups: db.prepare("SELECT * FROM notify_groups ORDER BY route, group_key, recipient"),
      groupsOf: db.prepare("SELECT * FROM notify_groups WHERE route = ? AND group_key = ?"),
    };
  }

  /** Whether a row carries the seal it should; a row that does not is said, with what becomes of it. */
  private sealed(seal: unknown, expected: Buffer, what: string, fate = "it is not used"): boolean {
    if (sealMatches(seal, expected)) return true;
    this.untrusted(`${what} was changed outside Covenant (its seal does not match): ${fate}; \`covenant verify\` reports it`);
    return false;
  }

  private eventTrusted(row: EventRow): boolean {
    return this.sealed(row.seal, sealEvent(this.key, row), `the outbox event ${row.seq} (${row.event} ${row.deficiency})`);
  }

  private messageTrusted(row: MessageRow): boolean {
    return this.sealed(row.seal, sealMessage(this.key, row), `the outbox message ${row.id}`, "it is not sent");
  }

  private groupTrusted(row: GroupRow): boolean {
    return this.sealed(row.seal, sealGroup(this.key, row), `the notification log of ${row.recipient} for group ${row.group_key} (route ${row.route})`);
  }

  /** Writes an event, not yet routed; inside the transaction of what made it. Returns its number. */
  addEvent(deficiency: string, event: DeficiencyEvent, run: number, time: string): number {
    const seq = ((this.q.lastEvent.get() as number | null) ?? 0) + 1;
    const row = { seq, deficiency, event, run, time, routed: 0 };
    this.q.putEvent.run({ ...row, seal: sealEvent(this.key, row) });
    return seq;
  }

  unroutedEvents(): EventRow[] {
    return (this.q.unrouted.all() as EventRow[]).filter((r) => this.eventTrusted(r));
  }

  /** Removes a retired deficiency's events (notify.ts retireResolved); inside that transaction. */
  removeEvents(deficiency: string): void {
    this.q.removeEvents.run(deficiency);
  }

  /** Marks events routed; a forged one is left as it is (sealing it would vouch for it). */
  markRouted(seqs: number[]): void {
    for (const seq of seqs) {
      const row = this.q.event.get(seq) as EventRow | undefined;
      if (!row || row.routed === 1 || !this.eventTrusted(row)) continue;
      const routed = { ...row, routed: 1 };
      this.q.putEvent.run({ ...routed, seal: sealEvent(this.key, routed) });
    }
  }

  addMessage(p: PlannedMessage): void {
    const row = { id: p.message.id, channel: p.channel, status: "pending" as const, attempts: 0, due_at: p.dueAt, body: JSON.stringify(p.message), last_error: null, created_at: p.message.createdAt, sent_at: null };
    this.q.putMessage.run({ ...row, seal: sealMessage(this.key, row) });
  }

  /** The message's row when Covenant wrote it. */
  messageRow(id: string): MessageRow | undefined {
    const row = this.q.message.get(id) as MessageRow | undefined;
    return row && this.messageTrusted(row) ? row : undefined;
  }

  putMessageRow(row: Omit<MessageRow, "seal">): void {
    this.q.replaceMessage.run({ ...row, seal: sealMessage(this.key, row) });
  }

  /** Up to `limit` messages due at `now`, oldest first, leaving out those in `skip` (before their seals are checked: that costs). */
  due(now: number, limit: number, skip?: ReadonlySet<string>, channel?: string): OutboxMessage[] {
    const out: OutboxMessage[] = [];
    const ids = (channel === undefined ? this.q.due.all(now) : this.q.dueOf.all(now, channel)) as string[];
    for (const id of ids) {
      if (skip?.has(id)) continue;
      const row = this.q.dueRow.get(id, now) as MessageRow | undefined;
      if (!row || !this.messageTrusted(row)) continue;
      out.push(toOutboxMessage(row));
      if (out.length >= limit) break;
    }
    return out;
  }

  /** The channels that have messages due at `now`. */
  dueChannels(now: number): string[] {
    return this.q.dueChannels.all(now) as string[];
  }

  /** How many messages are due at `now`, leaving out those in `skip`: counted, not read (their seals are checked when they are sent, so a row changed outside Covenant is counted too). */
  countDue(now: number, skip?: ReadonlySet<string>, channel?: string): number {
    let n = 0;
    for (const id of (channel === undefined ? this.q.due.all(now) : this.q.dueOf.all(now, channel)) as string[]) if (!skip?.has(id)) n++;
    return n;
  }

  list(statuses?: OutboxMessage["status"][]): OutboxMessage[] {
    return (this.q.messages.all() as MessageRow[]).filter((r) => (!statuses || statuses.includes(r.status)) && this.messageTrusted(r)).map(toOutboxMessage);
  }

  putGroup(g: GroupState): void {
    const row = { route: g.route, group_key: g.groupKey, recipient: g.recipient, body: JSON.stringify(g) };
    this.q.putGroup.run({ ...row, seal: sealGroup(this.key, row) });
  }

  dropGroup(g: GroupState): void {
    this.q.dropGroup.run(g.route, g.groupKey, g.recipient);
  }

  groups(): GroupState[] {
    return (this.q.groups.all() as GroupRow[]).filter((r) => this.groupTrusted(r)).map((r) => JSON.parse(r.body) as GroupState);
  }

  /** Who a message was for: the recipient routing named on it, else that of the group state that planned it. */
  recipientOf(message: Message, channel: string): string {
    // routing names the recipient on the message itself; the rest is for messages planned before it did
    if (message.recipient !== undefined) return message.recipient;
    for (const row of this.q.groupsOf.all(message.route, message.groupKey) as GroupRow[]) {
      if (!this.groupTrusted(row)) continue;
      const g = JSON.parse(row.body) as GroupState;
      if (g.messages.includes(message.id)) return g.recipient;
    }
    const p = message.person;
    return `${message.stakeholder.name}/${channel}${p ? `/${p.email ?? p.phone ?? p.name}` : ""}`;
  }
}
