// What a message says, before it is written as plain text, HTML or an SMS: the same words for
// every channel that speaks to a person. Nothing here is escaped: each writer escapes for its own
// medium (render.ts), since a deficiency's reason, paths and acknowledgement came from outside.
import { findingLines } from "../text/finding-text.js";
import type { Severity } from "../checker/policy.js";
import type { Deficiency, Message } from "./contract.js";

const severityRank: Record<Severity, number> = { low: 0, medium: 1, high: 2, critical: 3 };

/** The most severe control among the members (the group's headline severity). */
export function severityOf(message: Message): Severity | undefined {
  let worst: Severity | undefined;
  for (const d of message.deficiencies) if (!worst || severityRank[d.control.severity] > severityRank[worst]) worst = d.control.severity;
  return worst;
}

/** Every member is a notice (a change found and repaired): the message is a notice, not an alarm. */
function isNotice(message: Message): boolean {
  return message.deficiencies.length > 0 && message.deficiencies.every((d) => d.notice);
}

/**
 * The word that says why this message comes, shown first: NOTICE for repaired changes,
 * RESOLVED, REMINDER, ESCALATED, UPDATED, TEST; a first message about a deficiency needs none.
 */
export function kindLabel(message: Message): string {
  switch (message.kind) {
    case "resolved":
      return "RESOLVED";
    case "reminder":
      return "REMINDER";
    case "escalated":
      return "ESCALATED";
    case "test":
      return "TEST";
    case "updated":
      return isNotice(message) ? "NOTICE" : "UPDATED";
    case "opened":
      return isNotice(message) ? "NOTICE" : "";
  }
}

/** The control ids of the members, each once, in the members' order. */
function controlsOf(message: Message): string[] {
  return [...new Set(message.deficiencies.map((d) => d.control.id))];
}

/** "ITGC-AC-01", or "ITGC-AC-01 and 2 more controls". */
export function controlsWords(message: Message): string {
  const ids = controlsOf(message);
  if (ids.length <= 1) return ids[0] ?? "";
  return `${ids[0]} and ${ids.length - 1} more control${ids.length > 2 ? "s" : ""}`;
}

/** "1 deficiency", "3 deficiencies", "1 notice", "2 resolved". */
export function countWords(message: Message): string {
  const n = message.deficiencies.length;
  if (message.kind === "resolved") return `${n} resolved`;
  if (isNotice(message)) return `${n} notice${n === 1 ? "" : "s"} (repaired)`;
  return `${n} ${n === 1 ? "deficiency" : "deficiencies"}`;
}

/** The member the headline speaks of: the first open one, else the first. */
export function headline(message: Message): Deficiency | undefined {
  return message.deficiencies.find((d) => d.status === "open") ?? message.deficiencies[0];
}

/** A member's state in a few words: "open: drift", "resolved (kept) at ...", "repaired (notice)". */
function stateWords(d: Deficiency): string {
  if (d.notice) return `repaired (a notice: found and undone) at ${d.openedAt}`;
  if (d.status === "open") return `open: ${d.outcome}`;
  const approved = d.approval ? `; approved by ${d.approval.by}: ${d.approval.reason} (history record ${d.approval.record})` : "";
  return `resolved${d.resolvedBy ? ` (${d.resolvedBy})` : ""}${d.resolvedAt ? ` at ${d.resolvedAt}` : ""}${approved}; was ${d.outcome}`;
}

/** The most files a message describes, and diff lines for each. */
const MESSAGE_FINDINGS = 5;
const MESSAGE_DIFF_LINES = 20;

/** What changed at each file (AIDE's terms) and its masked diff, a line each (finding-text.ts). */
function changedWords(d: Deficiency): string[] {
  const findings = d.findings ?? [];
  const lines = findings.slice(0, MESSAGE_FINDINGS).flatMap((f) => findingLines(f, { maxDiffLines: MESSAGE_DIFF_LINES }));
  if (findings.length > MESSAGE_FINDINGS) lines.push(`and ${findings.length - MESSAGE_FINDINGS} more files (covenant history shows them)`);
  return lines;
}

/** Who acknowledged it, when and why, or that nobody has. */
function ackWords(d: Deficiency): string {
  if (!d.ack) return "not acknowledged";
  const a = d.ack;
  const who = a.by === a.user ? a.by : `${a.by} (user ${a.user})`;
  const uid = a.loginUid === null ? "" : `, login uid ${a.loginUid}`;
  return `acknowledged by ${who}${uid} at ${a.at} (history record ${a.record}): ${a.reason}`;
}

/** How to acknowledge an open deficiency; nothing for one already acknowledged, resolved or a notice. */
function ackCommand(d: Deficiency): string | undefined {
  if (d.status !== "open" || d.notice || d.ack || d.fleet) return undefined;
  return `covenant ack ${d.id} --reason "..."`;
}

/** One labelled fact about a member: a single line, or several (promised, observed, changes). */
export interface Fact {
  label: string;
  value: string | string[];
}

/** Everything a person is told about one member, in the order an email shows it. */
export function factsOf(d: Deficiency): Fact[] {
  const facts: Fact[] = [
    { label: "Control", value: `${d.control.id}: ${d.control.title}` },
    { label: "Owner", value: d.control.owner ?? "(none named)" },
    { label: "Severity", value: `${d.control.severity}${d.control.key ? " (key control)" : ""}` },
    { label: "Host", value: d.host },
    { label: "Promise", value: `${d.promise.type} ${d.promise.promiser} (${d.promise.file}:${d.promise.line})` },
    { label: "State", value: stateWords(d) },
    { label: "Reason", value: d.reason },
    { label: "Promised", value: d.promised },
    { label: "Observed", value: d.differences },
    { label: "Repaired or held", value: d.changes },
    { label: "Since", value: d.fleet ? `${d.openedAt} (found by the fleet hub)` : `${d.openedAt} (run ${d.openedRun})` },
    { label: "Acknowledgement", value: ackWords(d) },
    { label: "History record", value: `${d.lastRecord}${d.openedRecord !== d.lastRecord ? ` (opened at record ${d.openedRecord})` : ""}` },
  ];
  // a fleet deficiency's numbers are the hub's event numbers, not a host's history records
  if (d.fleet) facts.splice(facts.findIndex((f) => f.label === "History record"), 1);
  if (d.findings && d.findings.length > 0) facts.splice(facts.findIndex((f) => f.label === "Observed") + 1, 0, { label: "Changed", value: changedWords(d) });
  if (d.promise.stakeholders.length > 0) facts.splice(2, 0, { label: "Stakeholders", value: d.promise.stakeholders.join(", ") });
  const how = ackCommand(d);
  if (how) facts.push({ label: "To acknowledge", value: how });
  return facts;
}

/** The sentence under the headline: what this message is, for whom, and about which group. */
export function introWords(message: Message): string {
  const to = message.person ? `${message.person.name} (${message.stakeholder.name})` : message.stakeholder.name;
  const group = Object.entries(message.groupLabels).map(([k, v]) => `${k}=${v}`).join(", ") || "all deficiencies";
  const why: Record<Message["kind"], string> = {
    opened: isNotice(message) ? "Covenant found and undid a change" : "Covenant found a deficiency",
    updated: "A group of deficiencies you were told about changed",
    reminder: "A reminder: these deficiencies are still open",
    escalated: "Escalated to you: these deficiencies stayed open",
    resolved: "Resolved: every deficiency in this group is closed",
    test: "A test message from `covenant notify test`",
  };
  return `${why[message.kind]} on ${message.host}. To ${to}; group ${group} (route ${message.route}).`;
}
