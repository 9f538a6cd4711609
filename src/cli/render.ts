// Rendering diagnostics for people (file:line:col, the source line, a caret) and for machines (JSON).
// Text for people escapes everything that came from outside (file names, the quoted source line,
// policy text quoted in messages): a policy line holding ESC [ 31m or a file named "x\nKEPT" must
// neither reach the terminal raw nor forge a line. JSON needs nothing more than JSON.stringify.
import { countDiagnostics, type Diagnostic, type Span } from "../parser/diagnostics.js";
import type { SourceMap } from "../parser/source-map.js";
import { escapeText } from "./escape.js";
import type { Style } from "../text/style.js";

export function renderDiagnostic(d: Diagnostic, map: SourceMap, style: Style): string {
  const pos = map.position(d.span);
  const sev = d.severity === "error" ? style.red(style.bold("error")) : style.yellow(style.bold("warning"));
  const out = [`${style.bold(`${escapeText(d.span.file)}:${pos.line}:${pos.column}:`)} ${sev} ${style.bold(d.code)}: ${escapeText(d.message)}`];
  out.push(...excerpt(d.span, map, style, d.severity === "error" ? style.red : style.yellow));
  for (const r of d.related ?? []) {
    const rp = map.position(r.span);
    out.push(`  ${style.cyan("note")}: ${escapeText(r.message)} at ${escapeText(r.span.file)}:${rp.line}:${rp.column}`);
    out.push(...excerpt(r.span, map, style, style.cyan));
  }
  if (d.suggestion) out.push(`  ${style.green("help")}: ${escapeText(d.suggestion)}`);
  return out.join("\n");
}

const MAX_SHOWN = 160;

function excerpt(span: Span, map: SourceMap, style: Style, paint: (s: string) => string): string[] {
  const idx = map.index(span.file);
  if (!idx || idx.text.length === 0) return [];
  const pos = map.position(span);
  let text = idx.lineText(pos.line);
  let caretStart = pos.column - 1;
  let caretLength = pos.endLine === pos.line ? Math.max(1, pos.endColumn - pos.column) : Math.max(1, text.length - caretStart);
  // Very long lines (minified or generated input) are cut around the caret.
  if (text.length > MAX_SHOWN) {
    const from = Math.max(0, Math.min(caretStart - 40, text.length - MAX_SHOWN));
    text = `${from > 0 ? "…" : ""}${text.slice(from, from + MAX_SHOWN)}…`;
    caretStart = caretStart - from + (from > 0 ? 1 : 0);
    caretLength = Math.min(caretLength, MAX_SHOWN - (caretStart - (from > 0 ? 1 : 0)));
  }
  const shown = visibleLine(text, Math.max(0, caretStart), Math.max(1, caretLength));
  const gutter = String(pos.line);
  const pad = " ".repeat(gutter.length);
  return [`  ${style.dim(`${gutter} |`)} ${shown.text}`, `  ${style.dim(`${pad} |`)} ${" ".repeat(shown.caretStart)}${paint("^".repeat(Math.max(1, shown.caretLength)))}`];
}

/**
 * A source line as it is shown under a diagnostic: tabs as one space, every other control
 * character escaped (`\x1b`, `\r`), with the caret's start and length moved to match, so that
 * the caret stays under the text it marks however many characters the escapes add before it.
 */
export function visibleLine(text: string, caretStart: number, caretLength: number): { text: string; caretStart: number; caretLength: number } {
  let out = "";
  let start = -1;
  let end = -1;
  for (let i = 0; i < text.length; i++) {
    if (i === caretStart) start = out.length;
    if (i === caretStart + caretLength) end = out.length;
    const c = text[i]!;
    out += c === "\t" ? " " : escapeText(c);
  }
  if (start === -1) start = out.length + (caretStart - text.length);
  if (end === -1) end = Math.max(out.length, start) + Math.max(0, caretStart + caretLength - Math.max(text.length, caretStart));
  return { text: out, caretStart: start, caretLength: Math.max(1, end - start) };
}

export interface JsonDiagnostic {
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  severity: string;
  code: string;
  message: string;
  suggestion?: string;
  related?: { file: string; line: number; column: number; message: string }[];
  /** on the last diagnostic when some were left out (E011, W207): how many */
  suppressed?: { errors: number; warnings: number };
}

export function toJson(d: Diagnostic, map: SourceMap): JsonDiagnostic {
  const pos = map.position(d.span);
  const j: JsonDiagnostic = { file: d.span.file, ...pos, severity: d.severity, code: d.code, message: d.message };
  if (d.suggestion) j.suggestion = d.suggestion;
  if (d.related) j.related = d.related.map((r) => ({ file: r.span.file, ...pick(map.position(r.span)), message: r.message }));
  if (d.suppressed) j.suppressed = { ...d.suppressed };
  return j;
}

function pick(p: { line: number; column: number }) {
  return { line: p.line, column: p.column };
}

export function summaryLine(diagnostics: Diagnostic[], fileCount: number): string {
  const { errors, warnings } = countDiagnostics(diagnostics);
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? "" : "s"}`;
  return `${plural(fileCount, "file")} checked: ${plural(errors, "error")}, ${plural(warnings, "warning")}`;
}
