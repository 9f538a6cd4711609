// Which routes a deficiency goes down, as Alertmanager walks its tree: a route whose conditions
// hold hands the deficiency to its children in order; the first child that takes it stops the
// walk unless that child says `continue`; a route none of whose children take it keeps it. The
// root takes everything, so a deficiency nothing else matches goes to the root's receivers.
import type { Route, RouteMatch } from "../../config/types.js";
import type { Deficiency } from "../contract.js";

export type FactValue = string | number | boolean | string[];

export interface MatchContext {
  facts: ReadonlyMap<string, FactValue>;
  /** the host's tags (covenant.yaml `host.tags`) */
  tags: readonly string[];
}

/** A route that keeps a deficiency, with the receivers it tells (inherited when it names none). */
export interface RouteHit {
  route: Route;
  receivers: string[];
}

const globs = new Map<string, RegExp>();

/** `*` stands for any run of characters, `?` for one; everything else is itself. */
export function globMatch(pattern: string, value: string): boolean {
  let re = globs.get(pattern);
  if (re === undefined) {
    let source = "";
    for (const c of pattern) {
      if (c === "*") source += "[\\s\\S]*";
      else if (c === "?") source += "[\\s\\S]";
      else source += c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    }
    re = new RegExp(`^${source}$`, "u");
    globs.set(pattern, re);
  }
  return re.test(value);
}

const anyGlob = (patterns: readonly string[], value: string | undefined): boolean =>
  value !== undefined && patterns.some((p) => globMatch(p, value));

function factMatches(patterns: readonly string[], value: FactValue | undefined): boolean {
  if (value === undefined) return false;
  const values = Array.isArray(value) ? value : [String(value)];
  return values.some((v) => anyGlob(patterns, v));
}

/** Every condition given must hold; a list holds when any of its values does. */
export function routeMatches(match: RouteMatch, d: Deficiency, ctx: MatchContext): boolean {
  if (match.control && !anyGlob(match.control, d.control.id)) return false;
  if (match.severity && !match.severity.includes(d.control.severity)) return false;
  if (match.owner && !anyGlob(match.owner, d.control.owner)) return false;
  if (match.key_control !== undefined && match.key_control !== d.control.key) return false;
  if (match.type && !anyGlob(match.type, d.promise.type)) return false;
  if (match.outcome && !anyGlob(match.outcome, d.outcome)) return false;
  if (match.stakeholder && !d.promise.stakeholders.some((s) => anyGlob(match.stakeholder!, s))) return false;
  if (match.facts) {
    for (const [name, patterns] of Object.entries(match.facts)) if (!factMatches(patterns, ctx.facts.get(name))) return false;
  }
  if (match.tags && !match.tags.every((t) => ctx.tags.includes(t))) return false;
  return true;
}

function walk(route: Route, inherited: string[], d: Deficiency, ctx: MatchContext): RouteHit[] {
  const receivers = route.receivers.length > 0 ? route.receivers : inherited;
  const hits: RouteHit[] = [];
  for (const child of route.routes) {
    if (!routeMatches(child.match, d, ctx)) continue;
    hits.push(...walk(child, receivers, d, ctx));
    if (!child.continue) break;
  }
  return hits.length > 0 ? hits : [{ route, receivers }];
}

/** The routes that keep `d`, in tree order; the root (whose own conditions are not consulted) when no child does. */
export function matchingRoutes(root: Route, d: Deficiency, ctx: MatchContext): RouteHit[] {
  return walk(root, ["owners"], d, ctx);
}

/** Every route of the tree by id, for states whose deficiencies no longer reach them. */
export function routesById(root: Route): Map<string, Route> {
  const all = new Map<string, Route>();
  const visit = (r: Route): void => {
    all.set(r.id, r);
    r.routes.forEach(visit);
  };
  visit(root);
  return all;
}
