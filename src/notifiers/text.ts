// Small words shared by the webhook, Alertmanager and report channels: outside text (a promiser,
// a reason, a receiver's reply) made safe to show on one line, and cut to a length. The CLI's
// escapeText (src/cli/escape.ts) does the same for terminals, but notifiers sit below the CLI
// and may not import it; render.ts (email and SMS) has its own words for the same job.
import type { Deficiency } from "./contract.js";

// C0 and C1 controls, DEL, and the characters that break or reorder a line when shown (line and
// paragraph separators, bidirectional embeddings, overrides, isolates and marks: Trojan Source).
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** The text on one line, every control character written as a visible escape (`\n`, `\x1b`, `\u202e`). */
export function oneLine(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const named = NAMED[c];
    if (named) return named;
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/** At most `max` characters (code points), with "…" in place of what was cut. */
export function cut(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, Math.max(0, max - 1)).join("")}…`;
}

/** The deficiency's reason, one line and short: for a summary or a table cell. */
export function shortReason(d: Deficiency, max = 120): string {
  return cut(oneLine(d.reason.trim()), max);
}

/** "covenant/0.1.0": the User-Agent of the HTTP channels (the build defines the version; "dev" from source). */
declare const COVENANT_VERSION: string;
export const userAgent = `covenant/${typeof COVENANT_VERSION === "string" ? COVENANT_VERSION : "dev"}`;
