// `covenant outbox`: what is waiting to be delivered, retrying, or given up, and why.
import type { OutboxMessage } from "../../notifiers/contract.js";
import { recipientOf } from "../../notifiers/dispatch.js";
import { EXIT } from "../exit-codes.js";
import type { Io } from "../io.js";
import { withStoreForReading } from "../store-access.js";
import { renderTable } from "../table.js";

export interface OutboxOptions {
  state?: string;
  json: boolean;
  /** sent messages too */
  all: boolean;
}

export function runOutbox(opts: OutboxOptions, io: Io): number {
  return withStoreForReading(opts.state, io, "outbox", (store) => {
    const statuses: OutboxMessage["status"][] = opts.all ? ["pending", "retrying", "given-up", "sent"] : ["pending", "retrying", "given-up"];
    const list = store.listOutbox({ status: statuses });
    if (opts.json) {
      io.out(JSON.stringify(list.map(summary), null, 2));
    } else if (list.length === 0) {
      io.out(opts.all ? "the outbox is empty" : "nothing waiting: every message was delivered");
    } else {
      io.out(renderTable(["MESSAGE", "STATUS", "CHANNEL", "TO", "KIND", "DEFICIENCIES", "ATTEMPTS", "DUE / SENT", "LAST ERROR"], list.map(row)));
    }
    // something given up needs a person: say so by the exit code, as a deficiency would
    return list.some((m) => m.status === "given-up") ? EXIT.deficiencies : EXIT.ok;
  });
}

function summary(m: OutboxMessage) {
  return {
    id: m.id,
    status: m.status,
    channel: m.channel,
    to: recipientOf(m.message),
    kind: m.message.kind,
    deficiencies: m.message.deficiencies.map((d) => d.id),
    attempts: m.attempts,
    due: new Date(m.dueAt).toISOString(),
    created: m.createdAt,
    ...(m.sentAt !== undefined ? { sent: m.sentAt } : {}),
    ...(m.lastError !== undefined ? { last_error: m.lastError } : {}),
  };
}

function row(m: OutboxMessage): string[] {
  const when = m.status === "sent" ? (m.sentAt ?? "") : new Date(m.dueAt).toISOString();
  return [m.id, m.status, m.channel, recipientOf(m.message), m.message.kind, m.message.deficiencies.map((d) => d.id).join(" "), String(m.attempts), when.replace(/\.\d{3}Z/, "Z"), (m.lastError ?? "").slice(0, 120)];
}
