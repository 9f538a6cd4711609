// The dispatcher's store (src/notifiers/dispatch.ts DispatchStore) in the hub's PostgreSQL, with
// the host's store's behaviour (src/store/notify.ts, outbox.ts): the working set is the open
// fleet deficiencies and the resolved ones routing has still to see or a group still remembers
// telling; a plan is saved whole in one transaction before any channel sees a message (a message
// already planned is kept as it is, so a plan made again after a crash keeps its ids); delivery
// is at least once, each attempt's result recorded, a sent or given-up message written to the
// hub's audit log (who was told, when, through which channel, of what) in the same transaction.
// Everything goes through the monitor's own connection (connection.ts), one statement or
// transaction at a time.
import type { Deficiency, DeliveryResult, GroupState, Message, OutboxMessage } from "../../notifiers/contract.js";
import type { DispatchStore, SystemFinding } from "../../notifiers/dispatch.js";
import { MONITOR_ACTOR, recordSystemDeficiency } from "./deficiencies.js";
import type { Queryable } from "./judge.js";

/** A channel's failure words as kept: one line, bounded (channels promise they name no secret). */
const MAX_ERROR = 500;
const oneLine = (text: string): string => text.replace(/\s+/g, " ").slice(0, MAX_ERROR);

/** What the outbox needs of the connection: statements, and transactions. */
export interface OutboxDb extends Queryable {
  transaction<T>(fn: (db: Queryable) => Promise<T>): Promise<T>;
}

interface MessageRow {
  id: string;
  channel: string;
  status: OutboxMessage["status"];
  attempts: number;
  due_at: string;
  body: Message;
  last_error: string | null;
  created_at: string;
  sent_at: string | null;
}

function toOutboxMessage(r: MessageRow): OutboxMessage {
  const m: OutboxMessage = { id: r.id, channel: r.channel, message: r.body, status: r.status, attempts: r.attempts, dueAt: Number(r.due_at), createdAt: r.created_at };
  if (r.last_error !== null) m.lastError = r.last_error;
  if (r.sent_at !== null) m.sentAt = r.sent_at;
  return m;
}

/** The due condition with its parameters from $2 on: `now`, then the skipped ids, then the channel when given. */
function dueWhere(now: number, skip: ReadonlySet<string> | undefined, channel: string | undefined): { where: string; values: unknown[] } {
  const values: unknown[] = [now, [...(skip ?? [])]];
  let where = "status IN ('pending', 'retrying') AND due_at <= $1 AND NOT (id = ANY($2::text[]))";
  if (channel !== undefined) {
    values.push(channel);
    where += " AND channel = $3";
  }
  return { where, values };
}

export class PgOutbox implements DispatchStore {
  constructor(
    private readonly db: OutboxDb,
    /** the clock delivery results and system deficiencies are dated by */
    private readonly now: () => number,
  ) {}

  async notificationWorkingSet(): Promise<{ deficiencies: Deficiency[]; groups: GroupState[]; events: number[] }> {
    return this.db.transaction(async (db) => {
      const groups = (await db.query<{ body: GroupState }>("SELECT body FROM hub_notify_groups ORDER BY route, group_key, recipient")).rows.map((r) => r.body);
      const events = (await db.query<{ seq: string; deficiency: string }>("SELECT seq, deficiency FROM hub_notify_events WHERE NOT routed ORDER BY seq")).rows;
      const wanted = [...new Set([...events.map((e) => e.deficiency), ...groups.flatMap((g) => Object.keys(g.told))])];
      const rows = (await db.query<{ body: Deficiency }>("SELECT body FROM hub_fleet_deficiencies WHERE status = 'open' OR id = ANY($1::text[])", [wanted])).rows;
      const deficiencies = rows.map((r) => r.body).sort((a, b) => a.openedRecord - b.openedRecord || a.id.localeCompare(b.id));
      return { deficiencies, groups, events: events.map((e) => Number(e.seq)) };
    });
  }

  async savePlan(p: { messages: { channel: string; message: Message; dueAt: number }[]; groups: GroupState[]; dropped: GroupState[]; routedEvents: number[] }): Promise<void> {
    await this.db.transaction(async (db) => {
      for (const m of p.messages) {
        // a message already planned (a plan made again after a crash) is kept as it is
        await db.query("INSERT INTO hub_notify_messages (id, channel, status, attempts, due_at, body, created_at) VALUES ($1, $2, 'pending', 0, $3, $4, $5) ON CONFLICT (id) DO NOTHING", [m.message.id, m.channel, m.dueAt, m.message, m.message.createdAt]);
      }
      for (const g of p.groups) {
        await db.query("INSERT INTO hub_notify_groups (route, group_key, recipient, body) VALUES ($1, $2, $3, $4) ON CONFLICT (route, group_key, recipient) DO UPDATE SET body = excluded.body", [g.route, g.groupKey, g.recipient, g]);
      }
      for (const g of p.dropped) await db.query("DELETE FROM hub_notify_groups WHERE route = $1 AND group_key = $2 AND recipient = $3", [g.route, g.groupKey, g.recipient]);
      if (p.routedEvents.length) await db.query("UPDATE hub_notify_events SET routed = true WHERE seq = ANY($1::bigint[])", [p.routedEvents]);
    });
  }

  async dueMessages(now: number, limit = 1000, skip?: ReadonlySet<string>, channel?: string): Promise<OutboxMessage[]> {
    const { where, values } = dueWhere(now, skip, channel);
    const rows = (await this.db.query<MessageRow>(`SELECT * FROM hub_notify_messages WHERE ${where} ORDER BY due_at, created_at, id LIMIT ${Math.max(1, Math.min(Math.floor(limit), 10_000))}`, values)).rows;
    return rows.map(toOutboxMessage);
  }

  async dueChannels(now: number): Promise<string[]> {
    return (await this.db.query<{ channel: string }>("SELECT DISTINCT channel FROM hub_notify_messages WHERE status IN ('pending', 'retrying') AND due_at <= $1 ORDER BY channel", [now])).rows.map((r) => r.channel);
  }

  async countDue(now: number, skip?: ReadonlySet<string>, channel?: string): Promise<number> {
    const { where, values } = dueWhere(now, skip, channel);
    return (await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM hub_notify_messages WHERE ${where}`, values)).rows[0]!.n;
  }

  async recordDelivery(id: string, result: DeliveryResult): Promise<void> {
    await this.recordDeliveries([{ id, result }]);
  }

  /**
   * Attempts' results, in one transaction. A message already sent or given up is left as it is:
   * its result is recorded (by this monitor before it lost its lock, or by the one that took over).
   */
  async recordDeliveries(list: readonly { id: string; result: DeliveryResult }[]): Promise<void> {
    if (list.length === 0) return;
    await this.db.transaction(async (db) => {
      for (const { id, result } of list) await recordOne(db, id, result);
    });
  }

  async recordSystemFinding(key: string, finding: SystemFinding, outcome: "error" | "kept", reason: string, time: string): Promise<void> {
    const at = Number.isFinite(Date.parse(time)) ? new Date(time) : new Date(this.now());
    await this.db.transaction((db) => recordSystemDeficiency(db, key, finding, outcome, reason, at));
  }
}

async function recordOne(db: Queryable, id: string, result: DeliveryResult): Promise<void> {
  const row = (await db.query<MessageRow>("SELECT * FROM hub_notify_messages WHERE id = $1 FOR UPDATE", [id])).rows[0];
  if (!row || row.status === "sent" || row.status === "given-up") return;
  const error = result.error !== undefined ? oneLine(result.error) : null;
  const attempts = row.attempts + 1;
  if (result.status === "retrying") {
    await db.query("UPDATE hub_notify_messages SET status = 'retrying', attempts = $2, due_at = $3, last_error = $4 WHERE id = $1", [id, attempts, result.nextAt ?? Number(row.due_at), error]);
    return;
  }
  const sent = result.status === "sent";
  await db.query("UPDATE hub_notify_messages SET status = $2, attempts = $3, last_error = $4, sent_at = $5 WHERE id = $1", [id, result.status, attempts, sent ? null : error, sent ? result.at : null]);
  const m = row.body;
  const detail: Record<string, unknown> = {
    channel: row.channel,
    recipient: m.recipient ?? m.stakeholder.name,
    kind: m.kind,
    route: m.route,
    groupKey: m.groupKey,
    deficiencies: m.deficiencies.map((d) => d.id),
    status: result.status,
    attempts,
    at: result.at,
  };
  if (result.providerId !== undefined) detail["providerId"] = oneLine(result.providerId);
  if (error !== null) detail["error"] = error;
  await db.query("INSERT INTO hub_audit (actor, action, object, detail) VALUES ($1, 'notify.delivery', $2, $3)", [MONITOR_ACTOR, `message:${id}`, detail]);
}
