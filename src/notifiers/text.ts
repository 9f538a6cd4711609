// Small words shared by the channels: a text cut to a length, a server's words on one line, a
// deficiency's reason made short for a summary, and the HTTP channels' User-Agent. Outside text is put on one line by escapeText
// (src/text/escape.ts), the same escaping the CLI uses for terminals.
import { escapeText } from "../text/escape.js";
import type { Deficiency } from "./contract.js";

/** At most `max` characters (code points), with "…" in place of what was cut. */
export function cut(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, Math.max(0, max - 1)).join("")}…`;
}

/** A server's or library's words, for an error or a detail: white space folded to one space, other controls made visible. */
export function serverWords(text: string): string {
  return escapeText(text.replace(/\s+/g, " ").trim());
}

/** The deficiency's reason, one line and short: for a summary or a table cell. */
export function shortReason(d: Deficiency, max = 120): string {
  return cut(escapeText(d.reason.trim()), max);
}

/** "covenant/0.1.0": the User-Agent of the HTTP channels (the build defines the version; "dev" from source). */
declare const COVENANT_VERSION: string;
export const userAgent = `covenant/${typeof COVENANT_VERSION === "string" ? COVENANT_VERSION : "dev"}`;
