// What the store keeps for telling people about deficiencies (schema 5), as the state store's
// methods use it: the deficiency and its event moved with each change record; acknowledgements
// and deliveries recorded in the history with the rows they change, each in one transaction; the
// working set routing plans from, and the plan it returns saved whole. Routing itself, channels
// and configuration live in src/notifiers and src/config: nothing here sends anything.
import type Database from "better-sqlite3";
import type { PromiseResult } from "../evaluator/engine.js";
import type { Acknowledgement, Deficiency, DeliveryResult, GroupState, Message, OutboxMessage } from "../notifiers/contract.js";
import { Deficiencies, type Change, type Finding } from "./deficiencies.js";
import { StoreError } from "./errors.js";
import type { RecordKind } from "./ledger.js";
import { Outbox, type PlannedMessage } from "./outbox.js";
import type { AckBody, DeliveryBody } from "./records.js";

/** Appends a record to the chain (store-core.ts); inside an immediate transaction. */
export type Append = (kind: RecordKind, run: number, time: string, body: object) => { seq: number; mac: Buffer };

export interface SavedPlan {
  messages: PlannedMessage[];
  groups: GroupState[];
  dropped: GroupState[];
  routedEvents: number[];
}

export type { DeliveryResult } from "../notifiers/contract.js";

export interface WorkingSet {
  deficiencies: Deficiency[];
  groups: GroupState[];
  events: number[];
}

/** A channel's failure words as kept: one line, bounded (channels promise they name no secret). */
const MAX_ERROR = 500;
const oneLine = (text: string): string => text.replace(/\s+/g, " ").slice(0, MAX_ERROR);

export class Notifications {
  readonly deficiencies: Deficiencies;
  readonly outbox: Outbox;

  constructor(
    private readonly db: Database.Database,
    key: Buffer,
    private readonly append: Append,
    untrusted: (why: string) => void,
    /** the id deficiency ids are made with (HostKeys.firstId) */
    keyId?: string,
  ) {
    this.deficiencies = new Deficiencies(db, key, untrusted, keyId);
    this.outbox = new Outbox(db, key, untrusted);
  }

  /** Whether the store has schema 5's tables (a store opened read-only may be older). */
  static present(db: Database.Database): boolean {
    return db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'deficiencies'").pluck().get() === 1;
  }

  /** After the change record `c.seq` was appended, in its transaction: the deficiency and its event. */
  afterChange(c: Change, open: Deficiency | undefined): void {
    const moved = this.deficiencies.apply(c, open);
    if (moved) this.outbox.addEvent(moved.id, moved.event, c.run, c.time);
  }

  /** One transaction: the "ack" record, the acknowledgement on the deficiency, and its event. */
  acknowledge(idOrPrefix: string, ack: Omit<Acknowledgement, "record">, run: number): { deficiency: Deficiency; seq: number; mac: Buffer } {
    return this.db
      .transaction(() => {
        const d = this.deficiencies.toAcknowledge(idOrPrefix);
        const body: AckBody = { deficiency: d.id, key: d.key, control: d.control.id, at: ack.at, reason: ack.reason, by: ack.by, user: ack.user, loginUid: ack.loginUid, ...(ack.decision !== undefined ? { decision: ack.decision } : {}) };
        const { seq, mac } = this.append("ack", run, ack.at, body);
        const deficiency = this.deficiencies.acknowledge(d, { ...ack, record: seq });
        this.outbox.addEvent(d.id, "acknowledged", run, ack.at);
        return { deficiency, seq, mac };
      })
      .immediate();
  }

  /** Open deficiencies, and resolved ones and notices that routing has still to see or that a group still remembers telling. */
  workingSet(): WorkingSet {
    return this.db.transaction(() => {
      const groups = this.outbox.groups();
      const events = this.outbox.unroutedEvents();
      const open = this.deficiencies.list({ status: "open" });
      const have = new Set(open.map((d) => d.id));
      const wanted = new Set([...events.map((e) => e.deficiency), ...groups.flatMap((g) => Object.keys(g.told))]);
      const others = [...wanted].filter((id) => !have.has(id)).map((id) => this.deficiencies.byId(id)).filter((d): d is Deficiency => d !== undefined);
      const deficiencies = [...open, ...others].sort((a, b) => a.openedRecord - b.openedRecord || a.id.localeCompare(b.id));
      return { deficiencies, groups, events: events.map((e) => e.seq) };
    })();
  }

  /**
   * Retires what no one needs any more, inside the transaction of a run's summary (which names
   * the ids): each resolved deficiency and notice whose every event routing has seen and that no
   * group still remembers telling leaves the table, with its events. The history holds all of it
   * (the change records that opened, moved and resolved it, acknowledgements, deliveries), and
   * reports rebuild its episode from there; kept here, each would cost a row of about 2 KiB for
   * ever. A row changed outside Covenant is not retired (verify reports it). Returns the ids.
   */
  retireResolved(): string[] {
    const resolved = this.deficiencies.retirable();
    if (resolved.length === 0) return [];
    const told = new Set(this.outbox.groups().flatMap((g) => Object.keys(g.told)));
    const ids = resolved.filter((d) => !told.has(d.id)).map((d) => d.id).sort();
    for (const id of ids) {
      this.deficiencies.remove(id);
      this.outbox.removeEvents(id);
    }
    return ids;
  }

  /** One transaction: messages (one already there is kept as it is), group states, dropped groups, routed events. */
  savePlan(p: SavedPlan): void {
    this.db
      .transaction(() => {
        for (const m of p.messages) this.outbox.addMessage(m);
        for (const g of p.groups) this.outbox.putGroup(g);
        for (const g of p.dropped) this.outbox.dropGroup(g);
        this.outbox.markRouted(p.routedEvents);
      })
      .immediate();
  }

  dueMessages(now: number, limit: number, skip?: ReadonlySet<string>, channel?: string): OutboxMessage[] {
    return this.outbox.due(now, limit, skip, channel);
  }

  /**
   * A delivery attempt's result. Sent or given up: a "delivery" record (who was told, when, by
   * which channel, about which deficiencies) with the message's new status, in one transaction,
   * returned for the head anchor; retrying: only the attempt count, next time and error.
   */
  recordDelivery(id: string, result: DeliveryResult, run: number): { seq: number; mac: Buffer } | undefined {
    return this.db
      .transaction(() => {
        const row = this.outbox.messageRow(id);
        if (!row) throw new StoreError(`no message ${id} in the outbox that Covenant wrote`);
        if (row.status === "sent" || row.status === "given-up") throw new StoreError(`the message ${id} was already ${row.status === "sent" ? "sent" : "given up"}: its delivery is recorded`);
        const error = result.error !== undefined ? oneLine(result.error) : null;
        const attempts = row.attempts + 1;
        if (result.status === "retrying") {
          this.outbox.putMessageRow({ ...row, status: "retrying", attempts, due_at: result.nextAt ?? row.due_at, last_error: error });
          return undefined;
        }
        const message = JSON.parse(row.body) as Message;
        const body: DeliveryBody = {
          message: id,
          channel: row.channel,
          recipient: this.outbox.recipientOf(message, row.channel),
          kind: message.kind,
          route: message.route,
          groupKey: message.groupKey,
          deficiencies: message.deficiencies.map((d) => d.id),
          status: result.status,
          attempts,
        };
        if (result.providerId !== undefined) body.providerId = oneLine(result.providerId);
        if (error !== null) body.error = error;
        const appended = this.append("delivery", run, result.at, body);
        const sent = result.status === "sent";
        this.outbox.putMessageRow({ ...row, status: result.status, attempts, last_error: sent ? null : error, sent_at: sent ? result.at : null });
        return appended;
      })
      .immediate();
  }
}

/** A system finding (a channel that keeps failing) as a result the store records like a promise's. */
export function systemResult(key: string, finding: Finding & { type: string; promiser: string }, outcome: "error" | "kept", reason: string): PromiseResult {
  return {
    key,
    control: finding.control.id,
    type: finding.type,
    promiser: finding.promiser,
    outcome,
    reason,
    differences: [],
    changes: [],
    notes: [],
    stakeholders: finding.promise.stakeholders,
    file: finding.promise.file,
    line: finding.promise.line,
    durationMs: 0,
  };
}
