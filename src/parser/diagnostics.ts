// Diagnostics: one shape for every syntax and meaning error, positions kept as offsets
// (cheap to record while parsing) and turned into line:col only when rendered.

export type Severity = "error" | "warning";

export interface Span {
  file: string;
  start: number; // offset of the first character
  end: number; // offset just past the last character
}

/** A range of its own, copied from a node (every AST node is a Span) or another range. */
export function spanOf(s: Span): Span {
  return { file: s.file, start: s.start, end: s.end };
}

export interface RelatedInfo {
  span: Span;
  message: string;
}

export interface Diagnostic {
  severity: Severity;
  code: DiagnosticCode;
  message: string;
  span: Span;
  suggestion?: string;
  related?: RelatedInfo[];
}

/** Stable codes: never renumber, only add. The catalogue feeds docs/diagnostics.md. */
export const diagnosticCatalogue = {
  E001: "unexpected character",
  E002: "unterminated string or comment",
  E003: "syntax error",
  E004: "nesting too deep",
  E005: "malformed literal",
  E006: "file cannot be read",
  E007: "file is not UTF-8",
  E008: "file larger than --max-file-size",
  E009: "not a regular file",
  E010: "nothing to evaluate",
  E100: "unknown promise type",
  E101: "unknown attribute",
  E102: "wrong value type",
  E103: "value out of range or malformed",
  E104: "missing required attribute",
  E105: "duplicate attribute",
  E106: "undefined variable",
  E107: "undefined name in a context expression",
  E108: "duplicate control id",
  E109: "import cycle",
  E110: "imported file not found",
  E111: "contradicting promises",
  E112: "waiver for an unknown control",
  E113: "unknown stakeholder",
  E114: "duplicate definition",
  E115: "context defined in terms of itself",
  E116: "type mismatch in a context expression",
  E117: "promiser missing or not allowed",
  E118: "unknown promise handle",
  E119: "invalid combination of attributes",
  E120: "policy file outside the policy's directories",
  E121: "import of a file not named *.promise",
  E122: "policy file another user can change (as root)",
  W201: "unused variable",
  W202: "control without owner",
  W203: "waiver already expired",
  W204: "unused context",
  W205: "waiver expires soon",
  W206: "attribute not fully implemented yet",
} as const;

export type DiagnosticCode = keyof typeof diagnosticCatalogue;

export function severityOf(code: DiagnosticCode): Severity {
  return code.startsWith("W") ? "warning" : "error";
}

export function diagnostic(
  code: DiagnosticCode,
  message: string,
  span: Span,
  extra: { suggestion?: string; related?: RelatedInfo[] } = {},
): Diagnostic {
  // Ranges are copied: callers pass AST nodes, which are ranges with the rest of the node on them.
  const d: Diagnostic = { severity: severityOf(code), code, message, span: spanOf(span) };
  if (extra.suggestion !== undefined) d.suggestion = extra.suggestion;
  if (extra.related !== undefined && extra.related.length > 0) d.related = extra.related.map((r) => ({ span: spanOf(r.span), message: r.message }));
  return d;
}

/** Maps offsets to 1-based line and column. Built once per file, queried by binary search. */
export class LineIndex {
  private readonly starts: number[];
  constructor(readonly text: string) {
    const starts = [0];
    for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
    this.starts = starts;
  }
  get lineCount(): number {
    return this.starts.length;
  }
  position(offset: number): { line: number; column: number } {
    const clamped = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= clamped) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: clamped - this.starts[lo]! + 1 };
  }
  lineText(line: number): string {
    const start = this.starts[line - 1] ?? this.text.length;
    const next = this.starts[line];
    const end = next === undefined ? this.text.length : next - 1;
    return this.text.slice(start, end).replace(/\r$/, "");
  }
}

export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  if (a.span.file !== b.span.file) return a.span.file < b.span.file ? -1 : 1;
  if (a.span.start !== b.span.start) return a.span.start - b.span.start;
  return a.code < b.code ? -1 : a.code > b.code ? 1 : 0;
}
