// When a deficiency is told beyond its route's receivers: once it has stayed open for `after`
// (and, with `unacknowledged`, nobody has acknowledged it), its group is also told to the
// escalation's stakeholders. An acknowledgement stops escalation from then on; messages already
// sent stay sent.
import type { Escalation } from "../../config/types.js";
import type { Deficiency } from "../contract.js";

/**
 * The instant `d` becomes due for escalation `e`, or undefined when it never will as it stands
 * (a notice, a resolved deficiency, or an acknowledged one where acknowledgement stops it).
 */
export function escalationAt(d: Deficiency, e: Escalation): number | undefined {
  if (d.notice || d.status !== "open") return undefined;
  if (e.unacknowledged && d.ack !== undefined) return undefined;
  const opened = Date.parse(d.openedAt);
  return Number.isNaN(opened) ? undefined : opened + e.afterMs;
}

/** The route name of an escalation's groups: kept apart from the route's own, even for the same stakeholder. */
export function escalationRoute(routeId: string, index: number): string {
  return `${routeId}:escalate.${index}`;
}

/** The route id an escalation route name belongs to. */
export function baseRoute(route: string): string {
  const at = route.indexOf(":escalate.");
  return at < 0 ? route : route.slice(0, at);
}
