// Sorting deficiencies into groups per recipient: each deficiency goes down the route tree, its
// routes' receivers (and, once due, their escalations' stakeholders) are spelt out to addresses,
// and it lands in one bucket per (route, group, recipient) — the unit every timer is kept for.
import type { NotifyConfig, Route, Timing } from "../../config/types.js";
import type { Deficiency } from "../contract.js";
import { escalationAt, escalationRoute } from "./escalate.js";
import { groupOf, type Group } from "./groups.js";
import { matchingRoutes, type MatchContext } from "./match.js";
import { receiverNames, recipientsOf, type Recipient } from "./recipients.js";

export interface Bucket {
  /** route, group key and recipient: the key of a group state */
  key: string;
  route: string;
  timing: Timing;
  escalation: boolean;
  group: Group;
  recipient: Recipient;
  /** every deficiency that goes here, held back or not */
  mapped: Deficiency[];
  /** when each arrived here: recorded (its last change), or became due for escalation */
  arrived: Map<string, number>;
}

/** A receiver that reaches nobody: not a stakeholder in the configuration, or one without a usable address. */
export interface Unreachable {
  id: string;
  stakeholder: string;
  reason: "unknown stakeholder" | "no address";
}

export interface Receiver {
  route: string;
  stakeholder: string;
  escalation: boolean;
}

/**
 * When a deficiency was recorded as it now stands (its last change), not when a plan first saw it:
 * a plan made again after a crash then starts a new group at the same instant, and its first
 * message gets the same id. A time in the future (a clock set back) counts as now.
 */
function recordedAt(d: Deficiency, now: number): number {
  const t = Date.parse(d.updatedAt);
  const opened = Date.parse(d.openedAt);
  const at = Number.isNaN(t) ? opened : t;
  return Number.isNaN(at) ? now : Math.min(at, now);
}

export const stateKey = (route: string, groupKey: string, recipient: string): string => `${route}\0${groupKey}\0${recipient}`;

/** The stakeholders `d` is routed to, escalations included whether due or not. */
export function receiversFor(d: Deficiency, config: NotifyConfig, ctx: MatchContext): Receiver[] {
  const out: Receiver[] = [];
  for (const { route, receivers } of matchingRoutes(config.route, d, ctx)) {
    for (const stakeholder of receiverNames(receivers, d)) out.push({ route: route.id, stakeholder, escalation: false });
    if (d.notice) continue;
    route.escalate.forEach((e, i) => {
      for (const stakeholder of receiverNames(e.to, d)) out.push({ route: escalationRoute(route.id, i), stakeholder, escalation: true });
    });
  }
  return out;
}

export class Buckets {
  readonly byKey = new Map<string, Bucket>();
  readonly unreachable: Unreachable[] = [];
  /** escalations not yet due: when each becomes due */
  readonly timers: number[] = [];
  private readonly addresses = new Map<string, Recipient[]>();
  private readonly reported = new Set<string>();

  constructor(
    private readonly config: NotifyConfig,
    private readonly ctx: MatchContext,
    private readonly now: number,
    private readonly inhibited: ReadonlyMap<string, string>,
  ) {}

  add(d: Deficiency): void {
    for (const { route, receivers } of matchingRoutes(this.config.route, d, this.ctx)) {
      const group = groupOf(d, route.groupBy);
      this.tell(d, route.id, route, false, group, receiverNames(receivers, d), recordedAt(d, this.now));
      this.escalate(d, route, group);
    }
  }

  private escalate(d: Deficiency, route: Route, group: Group): void {
    if (d.notice) return;
    route.escalate.forEach((e, i) => {
      let arrived = recordedAt(d, this.now);
      if (d.status === "open") {
        const at = escalationAt(d, e);
        if (at === undefined) return;
        if (at > this.now) {
          if (!this.inhibited.has(d.id)) this.timers.push(at);
          return;
        }
        arrived = at;
      }
      // resolved ones go along so a recipient told of them while open hears they are resolved
      const timing = { ...route, groupWaitMs: 0 };
      this.tell(d, escalationRoute(route.id, i), timing, true, group, receiverNames(e.to, d), arrived);
    });
  }

  private tell(d: Deficiency, routeName: string, timing: Timing, escalation: boolean, group: Group, names: string[], arrived: number): void {
    for (const name of names) {
      const recipients = this.recipientsNamed(d, name);
      for (const recipient of recipients) {
        const key = stateKey(routeName, group.key, recipient.id);
        let bucket = this.byKey.get(key);
        if (bucket === undefined) {
          const t: Timing = { groupBy: timing.groupBy, groupWaitMs: timing.groupWaitMs, groupIntervalMs: timing.groupIntervalMs, repeatIntervalMs: timing.repeatIntervalMs, sendResolved: timing.sendResolved };
          bucket = { key, route: routeName, timing: t, escalation, group, recipient, mapped: [], arrived: new Map() };
          this.byKey.set(key, bucket);
        }
        if (bucket.mapped[bucket.mapped.length - 1] !== d) bucket.mapped.push(d);
        bucket.arrived.set(d.id, arrived);
      }
    }
  }

  private recipientsNamed(d: Deficiency, name: string): Recipient[] {
    let recipients = this.addresses.get(name);
    if (recipients === undefined) {
      const stakeholder = this.config.stakeholders.get(name);
      recipients = stakeholder === undefined ? [] : recipientsOf(stakeholder, this.config.channels);
      this.addresses.set(name, recipients);
    }
    if (recipients.length === 0 && !this.reported.has(`${d.id}\0${name}`)) {
      this.reported.add(`${d.id}\0${name}`);
      const reason = this.config.stakeholders.has(name) ? "no address" : "unknown stakeholder";
      this.unreachable.push({ id: d.id, stakeholder: name, reason });
    }
    return recipients;
  }
}
