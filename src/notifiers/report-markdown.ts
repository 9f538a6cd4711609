// The Markdown digest: a heading per file, then a section per message with a table of its
// deficiencies. Everything that came from outside (promisers, reasons, differences, host names,
// acknowledgement reasons) is escaped so that it shows as written and cannot end a table cell
// (`|`), open code (`` ` ``), emphasis or a link, inject HTML, or break a line.
import type { Deficiency, Message } from "./contract.js";
import { cut, oneLine } from "./text.js";

const HTML: Record<string, string> = { "<": "&lt;", ">": "&gt;", "&": "&amp;" };

// `(`, `)`, `-`, `+` and `!` stay as they are: with `[` escaped no link or image can form, and the
// others mean something only at a line's start, where escaped text never is.
/** Outside text for Markdown inline use (a table cell, a heading): one line, escaped. */
export function markdownText(text: string): string {
  return oneLine(text).replace(/[\\`*_[\]#|~<>&]/g, (c) => HTML[c] ?? `\\${c}`);
}

/** The marker a section ends with: how a resend of the same message is recognised (ids are plain, but are made so). */
export function sectionMarker(messageId: string): string {
  return `<!-- covenant-message ${messageId.replace(/[^A-Za-z0-9_.:-]/g, "_")} -->`;
}

export function fileHeading(stakeholder: string, periodStart: string, period: string): string {
  return `# Covenant digest for ${markdownText(stakeholder)}, ${period} from ${periodStart}\n\n`;
}

const COLUMNS = ["Deficiency", "Status", "Control", "Severity", "Owner", "Promise", "Reason", "Observed", "Since", "Resolved", "Acknowledged", "Record"];

function cell(text: string, max = 300): string {
  return markdownText(cut(text, max));
}

function row(d: Deficiency): string {
  const status = d.notice ? "notice (repaired)" : d.status === "open" ? `open (${d.outcome})` : `resolved (${d.resolvedBy ?? d.outcome})`;
  const observed = [...d.differences, ...d.changes].join("; ");
  const ack = d.ack ? `by ${d.ack.by} at ${d.ack.at}: ${d.ack.reason}` : "";
  const cells = [
    d.id,
    status,
    `${d.control.id}${d.control.key ? " (key)" : ""}: ${d.control.title}`,
    d.control.severity,
    d.control.owner ?? "",
    `${d.promise.type} ${d.promise.promiser} (${d.promise.file}:${d.promise.line})`,
    d.reason,
    observed,
    d.openedAt,
    d.resolvedAt ?? "",
    ack,
    String(d.lastRecord),
  ];
  return `| ${cells.map((c) => cell(c)).join(" | ")} |`;
}

/** One message's section, ending with its marker. */
export function messageSection(message: Message, writtenAt: Date): string {
  const labels = Object.entries(message.groupLabels).map(([k, v]) => `${k}=${v}`).join(", ");
  const lines = [
    `## ${markdownText(message.kind)}: ${message.deficiencies.length} on ${markdownText(message.host)} (${markdownText(message.createdAt)})`,
    "",
    `Message ${markdownText(message.id)}, route ${markdownText(message.route)}, group ${markdownText(labels || "(all)")}; written ${writtenAt.toISOString()}.`,
    "",
    `| ${COLUMNS.join(" | ")} |`,
    `|${COLUMNS.map(() => "---").join("|")}|`,
    ...message.deficiencies.map(row),
    "",
    sectionMarker(message.id),
    "",
  ];
  return `${lines.join("\n")}\n`;
}
