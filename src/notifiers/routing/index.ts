// Routing: from the deficiencies the store holds and what each group was last told, the messages
// due now and what to remember. Pure: the clock is `now`, passed in; the same input gives the
// same plan (message ids included), whatever order the deficiencies and states come in.
import type { NotifyConfig } from "../../config/types.js";
import type { Deficiency, GroupState, Message } from "../contract.js";
import { Buckets, receiversFor, stateKey, type Receiver, type Unreachable } from "./buckets.js";
import { baseRoute } from "./escalate.js";
import { inhibitions } from "./inhibit.js";
import { routesById, type FactValue } from "./match.js";
import { stepGroup, stepOrphan, type StepResult } from "./step.js";

export type { FactValue } from "./match.js";
export type { Unreachable, Receiver } from "./buckets.js";

export interface PlanInput {
  /** ms since the epoch */
  now: number;
  config: NotifyConfig;
  deficiencies: Deficiency[];
  groups: GroupState[];
  facts: ReadonlyMap<string, FactValue>;
  /** the time zone of stakeholders who name none (the host's: Intl's default when absent) */
  hostTimeZone?: string;
}

export interface PlannedMessage {
  channel: string;
  /** the recipient id ("security/mail/alice@example.com"): the key of its group state, for the delivery record */
  recipient: string;
  message: Message;
  dueAt: number;
}

export interface Plan {
  messages: PlannedMessage[];
  /** every state to keep, updated */
  groups: GroupState[];
  /** states to delete */
  dropped: GroupState[];
  inhibited: { id: string; by: string }[];
  /** earliest time a timer fires (group_wait, interval, repeat, escalation, quiet end) */
  nextAt?: number;
  /** receivers per deficiency: for the run report ("who is told"), as recipient ids */
  audience: Record<string, string[]>;
  /** receivers that reach nobody (not a configured stakeholder, or no address on its channels) */
  unreachable: Unreachable[];
}

const byId = (a: { id: string }, b: { id: string }): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Who `d` is routed to (escalations included, due or not), for `covenant check` and the run report. */
export function receiversOf(d: Deficiency, config: NotifyConfig, facts: ReadonlyMap<string, FactValue>): Receiver[] {
  return receiversFor(d, config, { facts, tags: config.host.tags }).filter((r) => config.stakeholders.has(r.stakeholder));
}

export function plan(input: PlanInput): Plan {
  const { now, config } = input;
  const deficiencies = [...input.deficiencies].sort(byId);
  const inhibited = inhibitions(deficiencies, config.inhibitDependents);
  const buckets = new Buckets(config, { facts: input.facts, tags: config.host.tags }, now, inhibited);
  for (const d of deficiencies) buckets.add(d);

  const previous = new Map(input.groups.map((g) => [stateKey(g.route, g.groupKey, g.recipient), g]));
  const remembered = new Set(input.groups.flatMap((g) => Object.keys(g.told)));
  const ctx = { now, inhibited, remembered, ...(input.hostTimeZone ? { hostTimeZone: input.hostTimeZone } : {}) };
  const routes = routesById(config.route);
  const keys = [...new Set([...buckets.byKey.keys(), ...previous.keys()])].sort();

  const out: Plan = { messages: [], groups: [], dropped: [], inhibited: [], audience: {}, unreachable: buckets.unreachable };
  const timers = [...buckets.timers];
  const audience = new Map<string, Set<string>>();
  for (const key of keys) {
    const bucket = buckets.byKey.get(key);
    const prior = previous.get(key);
    const step: StepResult = bucket ? stepGroup(bucket, prior, ctx) : stepOrphan(prior!, routes.get(baseRoute(prior!.route)), now);
    if (step.message) out.messages.push(step.message);
    if (step.state) out.groups.push(step.state);
    else if (prior) out.dropped.push(prior);
    if (step.timer !== undefined) timers.push(step.timer);
    if (bucket) for (const d of step.members) audience.set(d.id, (audience.get(d.id) ?? new Set<string>()).add(bucket.recipient.id));
  }
  for (const [id, set] of [...audience].sort(([a], [b]) => (a < b ? -1 : 1))) out.audience[id] = [...set].sort();
  out.inhibited = [...inhibited].map(([id, by]) => ({ id, by }));
  const nextAt = timers.reduce((min, t) => (t > now && t < min ? t : min), Infinity);
  if (nextAt !== Infinity) out.nextAt = nextAt;
  return out;
}
