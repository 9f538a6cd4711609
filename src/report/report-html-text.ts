// Text for the evidence report's HTML: every string that came from outside Covenant (control
// titles, reasons, paths, recipients, policy text) goes through `text` or `preText` before it is
// written into the page. Control characters and the bidirectional marks that reorder what follows
// them (Trojan Source) are first made visible as escapes (src/text/escape.ts), then markup is
// escaped, so a `<script>` in a path is shown, never run, and an RLO cannot reverse a path.
// Times are shown as the host's clock wrote them (UTC), never converted.
import { escapeKeepingTabs, escapeText } from "../text/escape.js";

const MARKUP: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

function escapeMarkup(s: string): string {
  return s.replace(/[&<>"']/g, (c) => MARKUP[c]!);
}

/** Outside text as HTML text or an attribute's value: one line, markup and controls escaped. */
export function text(s: string): string {
  return escapeMarkup(escapeText(s));
}

/** Outside text for a <pre>: lines and tabs kept, every other control and bidi mark escaped. */
export function preText(s: string): string {
  return s
    .split("\n")
    .map((line) => escapeMarkup(escapeKeepingTabs(line)))
    .join("\n");
}

/** An ISO time as "2026-11-03 14:05:07 UTC" in a <time> element; anything else shown as written. */
export function time(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?Z$/.exec(iso);
  if (!m) return text(iso);
  return `<time datetime="${text(iso)}"><span class="nw">${m[1]}</span> <span class="nw">${m[2]} UTC</span></time>`;
}

/** A duration in words a reader takes in at once: "3 d 4 h", "2 h 5 min", "45 s". */
export function duration(ms: number): string {
  if (ms < 0) return `−${duration(-ms)}`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return s % 60 === 0 ? `${min} min` : `${min} min ${s % 60} s`;
  const h = Math.floor(min / 60);
  if (h < 24) return min % 60 === 0 ? `${h} h` : `${h} h ${min % 60} min`;
  const d = Math.floor(h / 24);
  return h % 24 === 0 ? `${d} d` : `${d} d ${h % 24} h`;
}

/**
 * A share as a percentage with one decimal, rounded down, so that a control kept in 9,999 of
 * 10,000 evaluations never shows as 100%; "n/a" when there was nothing to share.
 */
export function percent(share: number | null): string {
  if (share === null) return "n/a";
  if (share >= 1) return "100%";
  return `${(Math.floor(share * 1000) / 10).toFixed(1)}%`;
}

/** A count with thousands separated by a comma, as the rest of Covenant's reports write them. */
export function count(n: number): string {
  return n.toLocaleString("en-US");
}

/** "1 episode", "2 episodes". */
export function plural(n: number, word: string, words = `${word}s`): string {
  return `${count(n)} ${n === 1 ? word : words}`;
}

/** A table's rows, or one row saying there are none, so an empty table is never a blank. */
export function rowsOrNone(rows: string[], columns: number, none: string): string {
  return rows.length > 0 ? rows.join("\n") : `<tr class="none"><td colspan="${columns}">${text(none)}</td></tr>`;
}

/** A hash shortened for reading (the full value stays in the title attribute). */
export function shortHash(hash: string): string {
  return `<code title="${text(hash)}">${text(hash.slice(0, 12))}</code>`;
}

/** A table of rows under its head, or one line saying there are none: an empty table's head says nothing a sentence does not, and takes a printed page's room. */
export function table(attributes: string, head: string, rows: string[], none: string): string {
  if (rows.length === 0) return `<p class="none">${text(none)}</p>`;
  return `<table ${attributes}>${head}<tbody>${rows.join("\n")}</tbody></table>`;
}
