// Schemas of the language's own blocks (control metadata, waiver, stakeholder, calendar),
// declared in the same schema language as promise types so that they are checked and
// documented the same way.
import type { AttributeSpec } from "../promise-types/schema.js";
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
      "How often `covenant watch` evaluates the control's promises, from `10s` to `24h` (E125); a promise's own `every` wins. Without either, the watcher's default (`covenant watch --every`, `5m`). `covenant run` evaluates every promise whenever it runs, whatever its `every`. Until the watcher exists nothing reads it (W206).",
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
