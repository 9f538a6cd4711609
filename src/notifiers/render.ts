// A message written for a person: the email's subject, plain-text and HTML parts, and the SMS.
// Every piece of outside text (a reason, a path, a host name, an acknowledgement's words) is
// escaped for where it lands: control characters and line breaks made visible in plain text and
// SMS (a reason holding "\nRESOLVED" must not forge a line), and HTML-escaped besides in HTML.
import { escapeText } from "../text/escape.js";
import { findingShort } from "../text/finding-text.js";
import type { Message } from "./contract.js";
import { isGsm7, smsSegments } from "./gsm7.js";
import { cut } from "./text.js";
import { controlsWords, countWords, factsOf, headline, introWords, kindLabel, severityOf } from "./words.js";

export { isGsm7, smsLength, smsSegments } from "./gsm7.js";

const SUBJECT_REASON = 100;

const one = (text: string) => escapeText(text);

/** "[covenant] CRITICAL ITGC-AC-01 on ledger-01: 2 deficiencies — mode of /etc/x is 0644" */
export function subject(message: Message): string {
  const label = kindLabel(message);
  const severity = severityOf(message)?.toUpperCase();
  const first = headline(message);
  if (!first) return `[covenant] ${label || "TEST"} message to ${one(message.stakeholder.name)} from ${one(message.host)}`;
  const head = [label, severity, one(controlsWords(message))].filter(Boolean).join(" ");
  return `[covenant] ${head} on ${one(message.host)}: ${countWords(message)} — ${one(cut(first.reason, SUBJECT_REASON))}`;
}

/** The plain-text part: one block per member, labelled lines, continuation lines indented. */
export function plainText(message: Message): string {
  const label = kindLabel(message);
  const lines = [subject(message).replace(/^\[covenant\] /, ""), "", one(introWords(message)), ""];
  if (label === "TEST" && message.deficiencies.length === 0) lines.push("Nothing is wrong: this message only shows that the channel works.", "");
  const width = 18;
  for (const d of message.deficiencies) {
    lines.push(`${d.id}  ${d.notice ? "NOTICE" : d.status.toUpperCase()}  ${one(d.control.id)}`);
    for (const fact of factsOf(d)) {
      const values = typeof fact.value === "string" ? [fact.value] : fact.value.length > 0 ? fact.value : ["(none)"];
      values.forEach((v, i) => lines.push(`  ${(i === 0 ? `${fact.label}:` : "").padEnd(width)}${one(v)}`));
    }
    lines.push("");
  }
  lines.push(`Message ${message.id}, ${message.createdAt}. Sent by Covenant.`);
  return `${lines.join("\n")}\n`;
}

const HTML_ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Outside text for HTML: control characters made visible first, then markup characters escaped. */
function escapeHtml(text: string): string {
  return escapeText(text).replace(/[&<>"']/g, (c) => HTML_ENTITIES[c]!);
}

/** The HTML part: the same facts as the plain text, a table per member. */
export function html(message: Message): string {
  const h = escapeHtml;
  const parts = [
    "<!doctype html>",
    `<html><head><meta charset="utf-8"><title>${h(subject(message))}</title></head>`,
    '<body style="font-family: sans-serif; font-size: 14px">',
    `<h2>${h(subject(message).replace(/^\[covenant\] /, ""))}</h2>`,
    `<p>${h(introWords(message))}</p>`,
  ];
  for (const d of message.deficiencies) {
    parts.push(`<h3><code>${h(d.id)}</code> ${d.notice ? "NOTICE" : h(d.status.toUpperCase())} ${h(d.control.id)}</h3>`, '<table cellpadding="3">');
    for (const fact of factsOf(d)) {
      const value = typeof fact.value === "string" ? h(fact.value) : fact.value.length > 0 ? fact.value.map(h).join("<br>") : "(none)";
      const shown = fact.label === "To acknowledge" ? `<code>${value}</code>` : value;
      parts.push(`<tr><th align="left" valign="top">${h(fact.label)}</th><td>${shown}</td></tr>`);
    }
    parts.push("</table>");
  }
  parts.push(`<p style="color: #666">Message ${h(message.id)}, ${h(message.createdAt)}. Sent by Covenant.</p>`, "</body></html>", "");
  // ASCII only, anything else a character reference, then copied through Latin-1: the same page
  // as a one-byte string, half the memory of the two-byte one that a single character beyond
  // Latin-1 (the subject's dash) makes of the whole, and which replace() keeps. An email holds its
  // HTML until it is sent; a run may have hundreds in flight.
  const ascii = parts.join("\n").replace(/[^\x00-\x7e]/gu, (c) => `&#${c.codePointAt(0)};`);
  return Buffer.from(ascii, "latin1").toString("latin1");
}

/**
 * The SMS: "Covenant CRITICAL ITGC-AC-01 on ledger-01 d-7k3q9m2x +1: reason". What identifies the
 * group comes first and the reason last, so fitting one segment trims only the reason; a text
 * that needs UCS-2 (a non-Latin reason or host) is fitted to 70 units instead of 160.
 */
export function smsText(message: Message): string {
  const first = headline(message);
  const label = kindLabel(message);
  if (!first) return fitOneSegment(`Covenant ${label || "TEST"}: ${one(message.stakeholder.name)} on ${one(message.host)}`, "", "");
  const severity = severityOf(message)?.toUpperCase();
  const more = message.deficiencies.length > 1 ? ` +${message.deficiencies.length - 1}` : "";
  const head = ["Covenant", label, severity, one(controlsWords(message)), "on", `${one(message.host)}`, `${first.id}${more}:`].filter(Boolean).join(" ");
  // a file-integrity deficiency: which file and what changed, shortest form, before the reason
  const changed = first.findings?.[0] ? `${findingShort(first.findings[0])}${first.findings.length > 1 ? ` +${first.findings.length - 1} files` : ""}; ` : "";
  return fitOneSegment(head, " ", changed + one(first.reason));
}

/**
 * head + gap + the longest start of `tail` that keeps the text in one segment (marked "..." when
 * cut, or "…" when the text is UCS-2 anyway); when the head alone is too long, the head is cut.
 */
function fitOneSegment(head: string, gap: string, tail: string): string {
  const whole = head + gap + tail;
  if (smsSegments(whole) <= 1) return whole;
  // no single segment holds more than 160 characters: a longer tail is cut before the search
  const chars = [...tail].slice(0, 161);
  for (let n = chars.length - 1; n >= 0; n--) {
    const cut = head + gap + chars.slice(0, n).join("");
    const candidate = cut + (isGsm7(cut) ? "..." : "…");
    if (smsSegments(candidate) <= 1) return candidate;
  }
  const headChars = [...head];
  for (let n = headChars.length - 1; n > 0; n--) {
    const cut = headChars.slice(0, n).join("");
    const candidate = cut + (isGsm7(cut) ? "..." : "…");
    if (smsSegments(candidate) <= 1) return candidate;
  }
  return "";
}
