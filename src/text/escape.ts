// Escaping of text that came from outside Covenant (file names, source lines, command output,
// process names) before it reaches a terminal or a line-oriented report. A file named
// "x\nKEPT ..." must not forge a line of a report, and an escape sequence in a process name must
// not reach the operator's terminal. Every text sink in src/cli, and the notifiers' plain-text
// messages, pass outside text through here; JSON output needs nothing more than JSON.stringify,
// which escapes control characters itself.

// C0 controls, DEL, C1 controls, and the Unicode characters that reorder or break lines when
// shown: line and paragraph separators, bidirectional embeddings, overrides and isolates, and the
// invisible bidirectional marks (LRM, RLM, ALM), which also move what follows them (Trojan Source).
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_TEST = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

function escapeOne(c: string): string {
  const named = NAMED[c];
  if (named) return named;
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

/**
 * The text with every control character, line break and bidirectional control written as a
 * visible escape (`\n`, `\t`, `\x1b`, `\u202e`): it stays on one line and shows as written.
 */
export function escapeText(text: string): string {
  return UNSAFE_TEST.test(text) ? text.replace(UNSAFE, escapeOne) : text;
}

/** Like escapeText, but keeps tabs (for a source line shown under its caret, where columns matter). */
export function escapeKeepingTabs(text: string): string {
  return UNSAFE_TEST.test(text) ? text.replace(UNSAFE, (c) => (c === "\t" ? c : escapeOne(c))) : text;
}
