// Schemas of the language's own blocks (control metadata, waiver, stakeholder, calendar),
// declared in the same schema language as promise types so that they are checked and
// documented the same way.
import type { AttributeSpec, ValueType } from "../promise-types/schema.js";
import { weekdays } from "../facts/catalog.js";

export const severities = ["low", "medium", "high", "critical"] as const;

export const controlAttributes: AttributeSpec[] = [
  { name: "title", type: { kind: "string", nonEmpty: true }, description: "One line saying what the control ensures.", required: true },
  { name: "description", type: { kind: "string" }, description: "Longer text: rationale, scope, how the control is performed." },
  { name: "owner", type: { kind: "stakeholder" }, description: "Stakeholder accountable for the control; deficiencies are routed to them." },
  { name: "severity", type: { kind: "enum", values: severities }, description: "Impact of a deficiency.", default: "medium" },
  { name: "refs", type: { kind: "list", of: { kind: "string", nonEmpty: true } }, description: 'Framework references, such as `"SOX 404"` or `"COBIT DSS05.04"`.' },
  { name: "key", type: { kind: "boolean" }, description: "Whether this is a key control (one auditors rely on).", default: "false" },
  { name: "when", type: { kind: "condition" }, description: "Test the control only when this condition holds; otherwise its promises are `skipped`." },
  {
    name: "every",
    type: { kind: "duration" },
    description:
      "How often `covenant watch` evaluates the control's promises, from `10s` to `24h` (E125); a promise's own `every` wins. Without either, the watcher's default (`covenant watch --every`, `5m`). Read by `covenant watch`; `covenant run` evaluates every promise each time it runs, whatever its `every`.",
  },
];

export const waiverAttributes: AttributeSpec[] = [
  { name: "reason", type: { kind: "string", nonEmpty: true }, description: "Why the deficiency is accepted, with the change or risk reference.", required: true },
  { name: "approved_by", type: { kind: "string", nonEmpty: true }, description: "Who approved the waiver.", required: true },
  { name: "until", type: { kind: "date" }, description: "Last day the waiver applies (inclusive, in the calendar's time zone).", required: true },
  { name: "from", type: { kind: "date" }, description: "First day the waiver applies." },
  { name: "risk", type: { kind: "enum", values: ["low", "medium", "high"] }, description: "Residual risk accepted." },
  { name: "ticket", type: { kind: "string", nonEmpty: true }, description: "Change or risk ticket reference." },
];

export const stakeholderAttributes: AttributeSpec[] = [
  { name: "description", type: { kind: "string" }, description: "Who this is, for people reading the policy; routing lives in covenant.yaml." },
];

export const calendarAttributes: AttributeSpec[] = [
  { name: "holidays", type: { kind: "list", of: { kind: "date" } }, description: "Days that are not business days." },
  { name: "weekend", type: { kind: "list", of: { kind: "enum", values: weekdays } }, description: "Weekdays that are not business days.", default: "[saturday, sunday]" },
  { name: "timezone", type: { kind: "string", nonEmpty: true }, description: 'IANA time zone of the business calendar, such as `"America/New_York"`.', default: "the host's" },
];

// `promise_type` (docs/plugins.md): a site's own promise type and its `attribute` declarations.
/** The value types a declaration may name, by the word it names them with. */
export const declarableTypes: Readonly<Record<string, ValueType>> = {
  string: { kind: "string" },
  integer: { kind: "integer" },
  number: { kind: "number" },
  boolean: { kind: "boolean" },
  duration: { kind: "duration" },
  size: { kind: "size" },
  mode: { kind: "mode" },
  path: { kind: "path" },
  regex: { kind: "regex" },
  port: { kind: "port" },
  cidr: { kind: "cidr" },
  date: { kind: "date" },
  strings: { kind: "list", of: { kind: "string" } },
  paths: { kind: "list", of: { kind: "path" } },
};

export const promiseTypeDeclAttributes: AttributeSpec[] = [
  {
    name: "command",
    type: { kind: "argv" },
    description: "The plugin: an argv list whose first element is an absolute path. `covenant run` starts it for each operation and talks to it over JSON lines on stdin/stdout; `check` never runs it.",
    required: true,
  },
  { name: "description", type: { kind: "string" }, description: "What the type promises, for people reading the policy." },
  { name: "promiser", type: { kind: "boolean" }, description: "Whether its promises name a promiser (a string); `false` for host-wide checks.", default: "true" },
  { name: "timeout", type: { kind: "duration", min: 1 }, description: "How long one operation (evaluate or repair) may take before the plugin is killed and the promise is `error`.", default: "30s" },
];

export const attributeDeclAttributes: AttributeSpec[] = [
  { name: "type", type: { kind: "enum", values: Object.keys(declarableTypes) }, description: "The attribute's value type, checked as a built-in type's is.", required: true },
  { name: "required", type: { kind: "boolean" }, description: "Every promise of the type must set it (E104 otherwise).", default: "false" },
  { name: "values", type: { kind: "list", of: { kind: "string", nonEmpty: true }, nonEmpty: true }, description: "With `type = string`: the only values it may take (an enumeration, written as names)." },
  { name: "description", type: { kind: "string" }, description: "What the attribute means, for people and editors." },
];
