// Rendering diagnostics for people (file:line:col, the source line, a caret) and for machines (JSON).
import type { SourceFile } from "../parser/ast.js";
import { countDiagnostics, LineIndex, type Diagnostic, type Span } from "../parser/diagnostics.js";
import type { Style } from "./style.js";

// Line indexes are built on first use: a clean run of a large policy needs none, and the
// index of a 20,000-promise file took 15 ms to build.
export class SourceMap {
  private readonly texts = new Map<string, string>();
  private readonly indexes = new Map<string, LineIndex>();
  constructor(files: SourceFile[]) {
    for (const f of files) this.texts.set(f.path, f.text);
  }
  index(file: string): LineIndex | undefined {
    let idx = this.indexes.get(file);
    if (idx === undefined) {
      const text = this.texts.get(file);
      if (text === undefined) return undefined;
      this.indexes.set(file, (idx = new LineIndex(text)));
    }
    return idx;
  }
  position(span: Span): { line: number; column: number; endLine: number; endColumn: number } {
    const idx = this.index(span.file);
    if (!idx) return { line: 1, column: 1, endLine: 1, endColumn: 1 };
    const s = idx.position(span.start);
    const e = idx.position(span.end);
    return { line: s.line, column: s.column, endLine: e.line, endColumn: e.column };
  }
}

export function renderDiagnostic(d: Diagnostic, map: SourceMap, style: Style): string {
  const pos = map.position(d.span);
  const sev = d.severity === "error" ? style.red(style.bold("error")) : style.yellow(style.bold("warning"));
  const out = [`${style.bold(`${d.span.file}:${pos.line}:${pos.column}:`)} ${sev} ${style.bold(d.code)}: ${d.message}`];
  out.push(...excerpt(d.span, map, style, d.severity === "error" ? style.red : style.yellow));
  for (const r of d.related ?? []) {
    const rp = map.position(r.span);
    out.push(`  ${style.cyan("note")}: ${r.message} at ${r.span.file}:${rp.line}:${rp.column}`);
    out.push(...excerpt(r.span, map, style, style.cyan));
  }
  if (d.suggestion) out.push(`  ${style.green("help")}: ${d.suggestion}`);
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
  const visible = text.replace(/\t/g, " ");
  const gutter = String(pos.line);
  const pad = " ".repeat(gutter.length);
  return [`  ${style.dim(`${gutter} |`)} ${visible}`, `  ${style.dim(`${pad} |`)} ${" ".repeat(Math.max(0, caretStart))}${paint("^".repeat(Math.max(1, caretLength)))}`];
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
