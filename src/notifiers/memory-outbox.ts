// An outbox that keeps nothing: for a dry run given --notify (a deliberate test of the routing
// and the channels with what the run would have recorded). It holds the run's would-be
// deficiencies for routing and the planned messages until they are sent, and forgets them.
// What it sends is marked as a test.
import type { DispatchStore } from "./dispatch.js";
import type { Deficiency, GroupState, Message, OutboxMessage } from "./contract.js";

export class MemoryOutbox implements DispatchStore {
  private readonly messages = new Map<string, OutboxMessage>();

  constructor(private readonly deficiencies: Deficiency[]) {}

  notificationWorkingSet(): { deficiencies: Deficiency[]; groups: GroupState[]; events: number[] } {
    return { deficiencies: this.deficiencies, groups: [], events: [] };
  }

  savePlan(p: { messages: { channel: string; message: Message; dueAt: number }[] }): void {
    for (const m of p.messages) {
      if (this.messages.has(m.message.id)) continue;
      // a test, and said to be one (TEST in the subject, kind "test" in a payload): its
      // deficiencies were never recorded, their ids are nowhere to acknowledge
      const message: Message = { ...m.message, kind: "test" };
      this.messages.set(message.id, { id: message.id, channel: m.channel, message, status: "pending", attempts: 0, dueAt: m.dueAt, createdAt: message.createdAt });
    }
  }

  dueMessages(now: number, limit = Infinity, skip?: ReadonlySet<string>, channel?: string): OutboxMessage[] {
    return [...this.messages.values()].filter((m) => (m.status === "pending" || m.status === "retrying") && m.dueAt <= now && !skip?.has(m.id) && (channel === undefined || m.channel === channel)).slice(0, limit);
  }

  dueChannels(now: number): string[] {
    return [...new Set(this.dueMessages(now).map((m) => m.channel))].sort();
  }

  countDue(now: number, skip?: ReadonlySet<string>, channel?: string): number {
    return this.dueMessages(now, Infinity, skip, channel).length;
  }

  recordDelivery(id: string, result: { at: string; status: "sent" | "retrying" | "given-up"; error?: string; nextAt?: number }): void {
    const m = this.messages.get(id);
    if (!m) return;
    m.attempts++;
    m.status = result.status;
    if (result.error !== undefined) m.lastError = result.error;
    if (result.nextAt !== undefined) m.dueAt = result.nextAt;
    if (result.status === "sent") m.sentAt = result.at;
  }
}
