// Between the checker's terms (offsets into a file shown under a path relative to the working
// directory) and the protocol's (URIs, 0-based lines and UTF-16 characters). The checker's columns
// are UTF-16 code units already (LineIndex counts JavaScript string indices), so a position is
// `check`'s line and column less one, never recounted.
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { DiagnosticSeverity, type Diagnostic as LspDiagnostic, type Range } from "vscode-languageserver/node";
import type { SourceMap } from "../parser/source-map.js";
import type { Diagnostic, Span } from "../parser/diagnostics.js";

export const uriOf = (shownPath: string): string => pathToFileURL(resolve(shownPath)).href;

/** The file a `file:` URI names, or undefined for any other scheme (an unsaved buffer). */
export function pathOf(uri: string): string | undefined {
  if (!uri.startsWith("file:")) return undefined;
  try {
    return fileURLToPath(uri);
  } catch {
    return undefined;
  }
}

export function rangeIn(map: SourceMap, span: Span): Range {
  const p = map.position(span);
  return { start: { line: p.line - 1, character: p.column - 1 }, end: { line: p.endLine - 1, character: p.endColumn - 1 } };
}

/** The data a published diagnostic carries: what `check --json` says that the protocol has no field for. */
export interface DiagnosticData {
  suggestion?: string;
  suppressed?: { errors: number; warnings: number };
}

export function toLsp(d: Diagnostic, map: SourceMap): LspDiagnostic {
  // the suggestion is said under the message, as `check` says `help:` under its excerpt; the
  // exact text travels in `data` too, for quick fixes
  const out: LspDiagnostic = {
    range: rangeIn(map, d.span),
    severity: d.severity === "error" ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
    code: d.code,
    source: "covenant",
    message: d.suggestion ? `${d.message}\nhelp: ${d.suggestion}` : d.message,
  };
  const data: DiagnosticData = {};
  if (d.suggestion) data.suggestion = d.suggestion;
  if (d.suppressed) data.suppressed = { ...d.suppressed };
  if (data.suggestion !== undefined || data.suppressed !== undefined) out.data = data;
  if (d.related) out.relatedInformation = d.related.map((r) => ({ location: { uri: uriOf(r.span.file), range: rangeIn(map, r.span) }, message: r.message }));
  return out;
}
