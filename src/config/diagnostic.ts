// What is wrong with a covenant.yaml (or with a policy against it), where: the file, line and
// column people read, and the offsets of the range the check command underlines. A diagnostic
// never holds a secret: a literal secret is reported by its key alone (E318).
import { LineIndex, severityOf, type DiagnosticCode, type Severity } from "../parser/diagnostics.js";

export interface ConfigDiagnostic {
  code: DiagnosticCode;
  severity: Severity;
  message: string;
  file: string;
  /** 1-based, as the check command prints them (columns in UTF-16 units) */
  line: number;
  column: number;
  /** the range in the file's text the diagnostic is about: start and end offsets */
  offset: number;
  end: number;
  /** the offending key or value as written (cut to one short line) */
  text: string;
  suggestion?: string;
}

const MAX_TEXT = 80;

/** The first line of `s`, cut to a length fit for a message. */
export function shortText(s: string): string {
  const line = s.split(/\r?\n/, 1)[0] ?? "";
  return line.length > MAX_TEXT ? `${line.slice(0, MAX_TEXT - 1)}…` : line;
}

/** One file's text and how to turn ranges of it into diagnostics. */
export class ConfigSource {
  private index: LineIndex | undefined;
  constructor(
    readonly file: string,
    readonly text: string,
  ) {}

  position(offset: number): { line: number; column: number } {
    this.index ??= new LineIndex(this.text);
    return this.index.position(offset);
  }

  diagnostic(code: DiagnosticCode, message: string, range: readonly [number, number], opts: { text?: string; suggestion?: string } = {}): ConfigDiagnostic {
    const [offset, end] = range;
    const { line, column } = this.position(offset);
    const d: ConfigDiagnostic = { code, severity: severityOf(code), message, file: this.file, line, column, offset, end, text: opts.text ?? shortText(this.text.slice(offset, end)) };
    if (opts.suggestion !== undefined) d.suggestion = opts.suggestion;
    return d;
  }
}

/** A diagnostic about a file as a whole (it cannot be read, it does not exist): at 1:1. */
export function fileDiagnostic(code: DiagnosticCode, file: string, message: string, suggestion?: string): ConfigDiagnostic {
  const d: ConfigDiagnostic = { code, severity: severityOf(code), message, file, line: 1, column: 1, offset: 0, end: 0, text: "" };
  if (suggestion !== undefined) d.suggestion = suggestion;
  return d;
}

/** The order people fix them in: by file, then position, then code. */
export function compareConfigDiagnostics(a: ConfigDiagnostic, b: ConfigDiagnostic): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  if (a.offset !== b.offset) return a.offset - b.offset;
  return a.code < b.code ? -1 : a.code > b.code ? 1 : 0;
}
