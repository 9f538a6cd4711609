// The knowledge map: how controls, promises, the resources they watch, stakeholders and framework
// references relate, as a graph (nodes with a kind and attributes, edges with a kind), from the
// checked policy alone or with each promise's latest outcome from the store overlaid. Its JSON is
// the `covenant map --format json` output (docs/map.md); the HTML and DOT views are drawn from it.
import type { Policy, Severity } from "../checker/policy.js";
import { promiseKeys, promiserText } from "../evaluator/engine.js";
import { worst, type Outcome } from "../evaluator/outcomes.js";
import { resourcesOf, type ResourceKind } from "./map-resources.js";

export interface ControlNode {
  kind: "control";
  id: string;
  control: string;
  title: string;
  owner?: string;
  severity: Severity;
  key: boolean;
  refs: string[];
  /** the worst latest outcome of its promises (as a run's report computes it); only with a state */
  verdict?: Outcome;
}

export interface PromiseNode {
  kind: "promise";
  id: string;
  /** as run reports and the history give it: `<control>/<type>:<promiser>` */
  key: string;
  control: string;
  type: string;
  promiser: string;
  /** the latest outcome the store holds; only with a state, and only for a promise recorded there */
  outcome?: Outcome;
  /** when the promise entered that outcome (the record's time) */
  since?: string;
  reason?: string;
}

export interface ResourceNode {
  kind: "resource";
  id: string;
  resource: ResourceKind;
  name: string;
  glob: boolean;
}

export interface StakeholderNode {
  kind: "stakeholder";
  id: string;
  name: string;
  /** the channels that reach it, by name (from the configuration); absent without one */
  channels?: string[];
}

export interface RefNode {
  kind: "ref";
  id: string;
  ref: string;
  /** the framework the reference belongs to: SOX, COSO, COBIT, CIS, SSG, or its first word */
  framework: string;
  /** COBIT's process (`DSS05` of `COBIT 2019 DSS05.04`), when the reference names one */
  objective?: string;
}

export type MapNode = ControlNode | PromiseNode | ResourceNode | StakeholderNode | RefNode;

export type EdgeKind = "control-promise" | "promise-resource" | "control-ref" | "control-owner" | "promise-stakeholder";

export interface MapEdge {
  kind: EdgeKind;
  from: string;
  to: string;
}

export interface KnowledgeMap {
  format: "covenant-map";
  version: 1;
  /** the policy's files, as loaded */
  policy: string[];
  /** the state directory whose outcomes are overlaid; absent when the map is the policy's alone */
  state?: string;
  nodes: MapNode[];
  edges: MapEdge[];
}

export interface LatestOutcome {
  outcome: Outcome;
  since: string;
  reason: string;
}

export interface MapOverlay {
  /** the state directory read */
  state: string;
  /** each promise's latest outcome, by key */
  outcomes: ReadonlyMap<string, LatestOutcome>;
}

/** The framework a reference belongs to: its first word, COSO and COBIT with or without their year. */
export function frameworkOf(ref: string): string {
  const first = ref.trim().split(/\s+/, 1)[0] ?? ref;
  return first.toUpperCase();
}

/** COBIT's process of a COBIT reference: `DSS05` of `COBIT 2019 DSS05.04` or `COBIT DSS05.04`. */
export function cobitObjective(ref: string): string | undefined {
  if (frameworkOf(ref) !== "COBIT") return undefined;
  return /\b([A-Z]{3}\d{2})(?:\.\d+)?\s*$/.exec(ref)?.[1];
}

export const resourceId = (kind: ResourceKind, name: string): string => `resource:${kind}:${name}`;

/** Builds the map of `policy`; with `overlay`, each promise's latest outcome and each control's verdict. */
export function buildMap(policy: Policy, opts: { overlay?: MapOverlay; reach?: ReadonlyMap<string, string[]> } = {}): KnowledgeMap {
  const nodes = new Map<string, MapNode>();
  const edges: MapEdge[] = [];
  const seenEdges = new Set<string>();
  const link = (kind: EdgeKind, from: string, to: string) => {
    const id = `${kind} ${from} ${to}`;
    if (seenEdges.has(id)) return;
    seenEdges.add(id);
    edges.push({ kind, from, to });
  };
  const stakeholder = (name: string): string => {
    const id = `stakeholder:${name}`;
    if (!nodes.has(id)) {
      const node: StakeholderNode = { kind: "stakeholder", id, name };
      const channels = opts.reach?.get(name);
      if (channels !== undefined) node.channels = [...channels];
      nodes.set(id, node);
    }
    return id;
  };
  const keys = promiseKeys(policy);
  const outcomesOf = new Map<string, Outcome[]>();
  // controls in their ids' order (SOX-AC-2 before SOX-AC-10), as a catalogue lists them, whatever file each is in
  const controls = [...policy.controls].sort((a, b) => a.id.localeCompare(b.id, "en", { numeric: true }));
  for (const control of controls) {
    const id = `control:${control.id}`;
    const node: ControlNode = { kind: "control", id, control: control.id, title: control.title, severity: control.severity, key: control.key, refs: [...control.refs] };
    if (control.owner !== undefined) node.owner = control.owner;
    nodes.set(id, node);
    if (control.owner !== undefined) link("control-owner", id, stakeholder(control.owner));
    for (const ref of control.refs) {
      const refId = `ref:${ref}`;
      if (!nodes.has(refId)) {
        const r: RefNode = { kind: "ref", id: refId, ref, framework: frameworkOf(ref) };
        const objective = cobitObjective(ref);
        if (objective !== undefined) r.objective = objective;
        nodes.set(refId, r);
      }
      link("control-ref", id, refId);
    }
    outcomesOf.set(id, []);
  }
  for (const { control, promise, key } of keys) {
    const id = `promise:${key}`;
    const controlId = `control:${control.id}`;
    const node: PromiseNode = { kind: "promise", id, key, control: control.id, type: promise.type, promiser: promiserText(promise) };
    const latest = opts.overlay?.outcomes.get(key);
    if (latest) {
      node.outcome = latest.outcome;
      node.since = latest.since;
      node.reason = latest.reason;
      outcomesOf.get(controlId)!.push(latest.outcome);
    }
    nodes.set(id, node);
    link("control-promise", controlId, id);
    for (const r of resourcesOf(promise.type, promise.promiser)) {
      const rid = resourceId(r.kind, r.name);
      if (!nodes.has(rid)) nodes.set(rid, { kind: "resource", id: rid, resource: r.kind, name: r.name, glob: r.glob });
      link("promise-resource", id, rid);
    }
    for (const s of promise.stakeholders) link("promise-stakeholder", id, stakeholder(s));
  }
  if (opts.overlay) {
    for (const [id, outcomes] of outcomesOf) {
      if (outcomes.length > 0) (nodes.get(id) as ControlNode).verdict = worst(outcomes);
    }
  }
  const map: KnowledgeMap = { format: "covenant-map", version: 1, policy: [...policy.files], nodes: [...nodes.values()], edges };
  if (opts.overlay) map.state = opts.overlay.state;
  return map;
}
