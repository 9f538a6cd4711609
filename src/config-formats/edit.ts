// Minimal edits of a configuration file's text: change one setting's value in place, add a
// line, or take lines out. Every other line stays byte for byte (its end of line included), so a
// repair keeps the file's comments, order and layout.
import { splitLines, type ConfigSetting } from "./setting.js";

/** The text with `setting`'s value (and nothing else on its line) replaced by `value`. */
export function replaceValue(text: string, setting: Pick<ConfigSetting, "line" | "valueStart" | "valueEnd" | "separatorMissing">, value: string): string {
  const lines = splitLines(text);
  const i = setting.line - 1;
  const line = lines[i];
  if (line === undefined) return text;
  lines[i] = line.slice(0, setting.valueStart) + (setting.separatorMissing ?? "") + value + line.slice(setting.valueEnd);
  return lines.join("\n");
}

/**
 * The text with `line` added before the 1-based line `before`, or at the end when none; a file
 * that does not end with a newline gets one first, so that no line is joined to another.
 */
export function insertLine(text: string, line: string, before?: number): string {
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  if (before !== undefined) {
    const lines = splitLines(text);
    if (before >= 1 && before <= lines.length) {
      lines.splice(before - 1, 0, line + (eol === "\r\n" ? "\r" : ""));
      return lines.join("\n");
    }
  }
  if (text === "") return line + eol;
  return (text.endsWith("\n") ? text : text + eol) + line + eol;
}

/** The text without the given 1-based lines (each with its end of line). */
export function removeLines(text: string, numbers: Iterable<number>): string {
  const drop = new Set(numbers);
  if (drop.size === 0) return text;
  const lines = splitLines(text);
  const kept: string[] = [];
  lines.forEach((l, i) => {
    if (!drop.has(i + 1)) kept.push(l);
  });
  // a last line removed from a text without a final newline leaves the line before it without one
  return kept.join("\n");
}

/** The text without the given spans of their lines (each with the blanks before it): one argument of several. */
export function removeSpans(text: string, spans: { line: number; start: number; end: number }[]): string {
  const lines = splitLines(text);
  // from the right, so that earlier spans of a line keep their offsets
  for (const s of [...spans].sort((a, b) => b.line - a.line || b.start - a.start)) {
    const l = lines[s.line - 1];
    if (l === undefined) continue;
    let from = s.start;
    while (from > 0 && (l[from - 1] === " " || l[from - 1] === "\t")) from--;
    lines[s.line - 1] = l.slice(0, from) + l.slice(s.end);
  }
  return lines.join("\n");
}
