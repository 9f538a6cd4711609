// Which deficiencies travel together: a route's `group_by` names labels, and deficiencies with
// the same values for them form one group, told in one message per recipient (as Alertmanager
// groups alerts). `["..."]` puts every deficiency alone; `[]` puts a route's deficiencies in one.
import type { Deficiency } from "../contract.js";

/** The labels `group_by` may name; docs/covenant.schema.json lists the same (a parity test holds them together). */
export const groupLabelNames = ["control", "severity", "owner", "type", "host", "key_control", "outcome", "stakeholder"] as const;
export type GroupLabelName = (typeof groupLabelNames)[number];

/** `group_by: ["..."]`: every deficiency is its own group. */
const everyDeficiencyAlone = "...";

export interface Group {
  /** canonical: labels sorted by name, values quoted, such as {control="ITGC-AC-01",severity="high"} */
  key: string;
  labels: Record<string, string>;
}

function labelValue(d: Deficiency, name: string): string {
  switch (name as GroupLabelName) {
    case "control":
      return d.control.id;
    case "severity":
      return d.control.severity;
    case "owner":
      return d.control.owner ?? "";
    case "type":
      return d.promise.type;
    case "host":
      return d.host;
    case "key_control":
      return String(d.control.key);
    case "outcome":
      return d.outcome;
    case "stakeholder":
      return [...d.promise.stakeholders].sort().join(",");
    default:
      return "";
  }
}

function keyOf(labels: Record<string, string>): string {
  const parts = Object.keys(labels)
    .sort()
    .map((name) => `${name}=${JSON.stringify(labels[name])}`);
  return `{${parts.join(",")}}`;
}

export function groupOf(d: Deficiency, groupBy: readonly string[]): Group {
  const labels: Record<string, string> = {};
  if (groupBy.includes(everyDeficiencyAlone)) labels["deficiency"] = d.id;
  else for (const name of groupBy) labels[name] = labelValue(d, name);
  return { key: keyOf(labels), labels };
}
