// What one user may reach on one route: their grants (a user may hold several) held against the
// route's declaration (rules.ts) and folded into one Access that the queries filter by. The
// union of the grants: a user who is both an auditor and an operator of one group reaches what
// the auditor reaches.
import type { Role, RouteRule } from "./rules.js";

export interface Grant {
  id: number;
  role: Role;
  scopeKind: "group" | "control" | "owner" | null;
  scopeValue: string | null;
}

export interface Principal {
  userId: number;
  name: string;
  grants: Grant[];
  /** how the request was authenticated: a browser session (its id's hash) or an API token (its id) */
  via: { kind: "session"; idHash: Buffer } | { kind: "token"; tokenId: number };
}

/**
 * What a user reaches on a route. Hosts: every one (`allHosts`), those of `groups`, or (for a
 * control owner on a host route) every host but only `controls`' data (`hostsForControls`).
 * Controls' data: every control (`allControls`), or those named or owned by `owners`.
 */
export interface Access {
  allHosts: boolean;
  hostsForControls: boolean;
  groups: string[];
  allControls: boolean;
  controlIds: string[];
  controlOwners: string[];
  /** only the user's own objects (sessions, tokens) */
  selfOnly: boolean;
}

function empty(): Access {
  return { allHosts: false, hostsForControls: false, groups: [], allControls: false, controlIds: [], controlOwners: [], selfOnly: false };
}

/** The access the principal's grants give on the route, or undefined when none of its roles may use it (403). */
export function accessFor(rule: RouteRule, grants: readonly Grant[]): Access | undefined {
  const a = empty();
  let any = false;
  let self = false;
  for (const g of grants) {
    const reach = rule.who[g.role];
    if (!reach) continue;
    any = true;
    switch (reach) {
      case "self":
        self = true;
        break;
      case "all":
        a.allHosts = true;
        a.allControls = true;
        break;
      case "groups":
        if (g.scopeKind === "group" && g.scopeValue) a.groups.push(g.scopeValue);
        break;
      case "controls-data":
        a.hostsForControls = true;
        addControl(a, g);
        break;
      case "controls":
        addControl(a, g);
        break;
    }
  }
  if (!any) return undefined;
  // `self` routes are the user's own whatever else they hold; no role mixes self with another reach on one route
  a.selfOnly = self;
  return a;
}

function addControl(a: Access, g: Grant): void {
  if (g.scopeKind === "control" && g.scopeValue) a.controlIds.push(g.scopeValue);
  if (g.scopeKind === "owner" && g.scopeValue) a.controlOwners.push(g.scopeValue);
}

/** Whether a host (by its group) is visible at all. */
export function hostVisible(a: Access, group: string | null): boolean {
  return a.allHosts || a.hostsForControls || (group !== null && a.groups.includes(group));
}

/** Whether every control's data of a host (by its group) is visible, rather than only the controls granted. */
export function hostFullyVisible(a: Access, group: string | null): boolean {
  return a.allHosts || a.allControls || (group !== null && a.groups.includes(group));
}

/** Whether a control (by id and owner) is visible. */
export function controlVisible(a: Access, control: string, owner: string | null): boolean {
  return a.allControls || a.controlIds.includes(control) || (owner !== null && a.controlOwners.includes(owner));
}

/**
 * The query parameters for the SQL filters (sqlHostFilter, sqlControlFilter) in order: all hosts,
 * groups, all controls, control ids, control owners.
 */
export function accessParams(a: Access): [boolean, string[], boolean, string[], string[]] {
  return [a.allHosts || a.hostsForControls, a.groups, a.allControls, a.controlIds, a.controlOwners];
}
