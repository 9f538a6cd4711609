// A dispatcher in miniature for routing tests: keeps the group states plan() returns between
// calls (dropping what it drops), as the store would, and collects every message sent. It is
// given every deficiency the store holds, and passes on the working set the store's
// notificationWorkingSet() gives: the open ones, and resolved ones and notices only while they
// have an event not yet routed (a change since the last plan) or some group still holds them.
import type { NotifyConfig } from "../../src/config/types.ts";
import type { Deficiency, GroupState } from "../../src/notifiers/contract.ts";
import { fingerprint } from "../../src/notifiers/routing/ids.ts";
import { plan, type FactValue, type Plan, type PlannedMessage } from "../../src/notifiers/routing/index.ts";

export class Planner {
  groups: GroupState[] = [];
  sent: PlannedMessage[] = [];
  last?: Plan;
  /** each deficiency as it was when last routed: a different one now has an unrouted event */
  private routed = new Map<string, string>();

  constructor(
    readonly config: NotifyConfig,
    readonly facts: ReadonlyMap<string, FactValue> = new Map(),
  ) {}

  /** Plans at `now` over `deficiencies`; returns the messages due now. */
  at(now: number, held: Deficiency[]): PlannedMessage[] {
    const remembered = new Set(this.groups.flatMap((g) => Object.keys(g.told)));
    const deficiencies = held.filter((d) => d.status === "open" || remembered.has(d.id) || this.routed.get(d.id) !== fingerprint(d));
    for (const d of held) this.routed.set(d.id, fingerprint(d));
    const p = plan({ now, config: this.config, deficiencies, groups: this.groups, facts: this.facts });
    // every state given is either kept (in groups) or dropped: the store is told about each
    const accounted = new Set([...p.groups, ...p.dropped].map(key));
    const lost = this.groups.filter((g) => !accounted.has(key(g)));
    if (lost.length > 0) throw new Error(`plan() neither kept nor dropped ${lost.map(key).join("; ")}`);
    this.groups = p.groups;
    this.sent.push(...p.messages);
    this.last = p;
    return p.messages;
  }
}

export const key = (g: GroupState): string => `${g.route} ${g.groupKey} ${g.recipient}`;

/** "kind recipient [member ids]" per message: short enough to compare whole. */
export const summary = (messages: readonly PlannedMessage[]): string[] =>
  messages.map((m) => `${m.message.kind} ${m.message.route} ${m.message.groupKey} → ${recipientOf(m)} [${m.message.deficiencies.map((d) => d.id).join(",")}]`);

export const recipientOf = (m: PlannedMessage): string => m.recipient;
