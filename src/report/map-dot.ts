// The knowledge map as a Graphviz digraph: one cluster per control (the control and its
// promises), resources, stakeholders and references outside them, so a resource shared by two
// controls' promises is drawn once with an edge from each. Node names are generated (n0, n1...);
// every label is policy text, written as a quoted DOT string with its quotes and backslashes escaped.
import type { KnowledgeMap, MapNode } from "./map-graph.js";

/** A DOT quoted string: `"` and `\` escaped, line breaks and other control characters dropped to spaces. */
export function dotString(text: string): string {
  return `"${text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, " ").replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

const SHAPES: Record<MapNode["kind"], string> = { control: "box", promise: "ellipse", resource: "note", stakeholder: "house", ref: "tab" };
const FILL: Record<string, string> = { kept: "#d9f2d9", repaired: "#d9ecf7", waived: "#fff2cc", skipped: "#eeeeee", drift: "#f8d0d0", failed: "#f4b6b6", error: "#f4b6b6" };

function label(n: MapNode): string {
  switch (n.kind) {
    case "control":
      return `${n.control}\n${n.title}${n.verdict ? `\n[${n.verdict}]` : ""}`;
    case "promise":
      return `${n.key.slice(n.control.length + 1)}${n.outcome ? `\n[${n.outcome}]` : ""}`;
    case "resource":
      return `${n.resource}: ${n.name}`;
    case "stakeholder":
      return n.channels && n.channels.length > 0 ? `${n.name}\n(${n.channels.join(", ")})` : n.name;
    case "ref":
      return n.ref;
  }
}

/** Labels keep their lines: each line of a label escaped on its own and joined with DOT's `\n`. */
function labelAttr(n: MapNode): string {
  const lines = label(n).split("\n").map((l) => dotString(l).slice(1, -1));
  return `"${lines.join("\\n")}"`;
}

function nodeLine(name: string, n: MapNode): string {
  const outcome = n.kind === "control" ? n.verdict : n.kind === "promise" ? n.outcome : undefined;
  const fill = outcome ? `, style=filled, fillcolor=${dotString(FILL[outcome] ?? "#ffffff")}` : "";
  return `${name} [label=${labelAttr(n)}, shape=${SHAPES[n.kind]}${fill}];`;
}

export function renderDot(map: KnowledgeMap): string {
  const names = new Map<string, string>();
  map.nodes.forEach((n, i) => names.set(n.id, `n${i}`));
  const promisesOf = new Map<string, string[]>();
  for (const e of map.edges) if (e.kind === "control-promise") promisesOf.set(e.from, [...(promisesOf.get(e.from) ?? []), e.to]);
  const byId = new Map(map.nodes.map((n) => [n.id, n]));
  const out = ["digraph covenant_map {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];', '  edge [fontname="Helvetica", fontsize=8];'];
  let cluster = 0;
  for (const n of map.nodes) {
    if (n.kind !== "control") continue;
    out.push(`  subgraph cluster_${cluster++} {`, `    label=${dotString(n.control)};`, "    style=rounded;", `    ${nodeLine(names.get(n.id)!, n)}`);
    for (const p of promisesOf.get(n.id) ?? []) out.push(`    ${nodeLine(names.get(p)!, byId.get(p)!)}`);
    out.push("  }");
  }
  for (const n of map.nodes) if (n.kind !== "control" && n.kind !== "promise") out.push(`  ${nodeLine(names.get(n.id)!, n)}`);
  const edgeLabel: Record<string, string> = { "control-owner": "owner", "promise-stakeholder": "tells", "promise-resource": "watches", "control-ref": "", "control-promise": "" };
  for (const e of map.edges) {
    const text = edgeLabel[e.kind];
    out.push(`  ${names.get(e.from)!} -> ${names.get(e.to)!}${text ? ` [label=${dotString(text)}]` : ""};`);
  }
  out.push("}");
  return out.join("\n") + "\n";
}
