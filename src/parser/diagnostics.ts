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
  /** on the last diagnostic of a capped list (E011, W207): how many were left out */
  suppressed?: Counts;
}

export interface Counts {
  errors: number;
  warnings: number;
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
  E011: "too many diagnostics: the rest are counted, not shown",
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
  E123: "definition nested too deep",
  E124: "value too large once its variables are expanded",
  E125: "`every` outside 10s to 24h",
  E126: "malformed promise type declaration",
  // covenant.yaml (src/config): E300–E339 the file itself, E340–E349 policy × configuration, W300–W309
  E300: "configuration: YAML syntax error",
  E301: "configuration: duplicate key",
  E302: "configuration: unknown key",
  E303: "configuration: missing required key",
  E304: "configuration: wrong value type",
  E305: "configuration: value not among those allowed",
  E306: "configuration: unknown channel type",
  E307: "configuration: malformed duration",
  E308: "configuration: phone number not in E.164 form",
  E309: "configuration: malformed email address",
  E310: "configuration: unknown time zone",
  E311: "configuration: malformed time of day (HH:MM)",
  E312: "configuration: a stakeholder's channel is not defined",
  E313: "configuration: a route's receiver is not a stakeholder",
  E314: "configuration: an escalation's target is not a stakeholder",
  E315: "configuration: email without TLS to a host that is not loopback",
  E316: "configuration: twilio needs `from` or `messaging_service_sid`, not both",
  E317: "configuration: URL not http:// or https://",
  E318: "configuration: secret written in the file",
  E319: "configuration: secret missing, or given both as a file and a variable",
  E320: "configuration: unsupported version",
  E321: "configuration: value out of range",
  E322: "configuration file cannot be read",
  E323: "configuration, secret or CA file another user can change (as root)",
  E324: "configuration: secret file others can read",
  E325: "configuration: secret or CA file cannot be read",
  E326: "configuration: malformed stakeholder or channel name",
  E327: "configuration: relative path where an absolute one is needed",
  E328: "configuration: reserved name",
  E329: "configuration: malformed value",
  E330: "configuration: `...` in group_by with other labels",
  E331: "configuration: duration must be more than zero",
  E332: "configuration: not a mapping",
  E340: "stakeholder the policy names cannot be reached",
  // policy tests, *.test.yaml (src/testing, `covenant test`): E400–E419
  E400: "test file: YAML syntax error",
  E401: "test file: duplicate key",
  E402: "test file: unknown key",
  E403: "test file: missing required key",
  E404: "test file: wrong value type",
  E405: "test file: unknown outcome",
  E406: "test file: duplicate test name",
  E407: "test file: the fixture is not a valid sandbox.json",
  E408: "test file: expectation names a control or promise the policy does not have",
  E409: "test file cannot be read",
  E410: "no test files found",
  E411: "test file: malformed path",
  W201: "unused variable",
  W202: "control without owner",
  W203: "waiver already expired",
  W204: "unused context",
  W205: "waiver expires soon",
  // Retired: kept so that the code never means anything else. It warned that `watch = realtime`
  // and `every` were read by a watcher still in preview; `covenant watch` is complete.
  W206: "retired, no longer reported (it was: attribute not fully implemented yet)",
  W207: "too many warnings: the rest are counted, not shown",
  W208: "`every` repeats its control's value",
  W300: "stakeholder in the configuration named nowhere",
  W301: "notifications are not configured",
  W302: "a receiver on a port of this host any user may listen on",
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

/**
 * Most diagnostics a check or a format reports. A file with a million errors must not take a
 * million diagnostics' memory, nor print them: the first ones (by position) are what the
 * author fixes first, and the rest are counted in one last diagnostic (E011, or W207 when they
 * are all warnings).
 */
export const MAX_DIAGNOSTICS = 1000;

/** Adds `d` to `list` unless the list is full, counting it in `dropped` then: for producers of many diagnostics. */
export function pushBounded(list: Diagnostic[], d: Diagnostic, dropped: Counts): void {
  if (list.length < MAX_DIAGNOSTICS) list.push(d);
  else if (d.severity === "error") dropped.errors++;
  else dropped.warnings++;
}

/** Errors and warnings in a list, those a cap left out included. */
export function countDiagnostics(list: readonly Diagnostic[]): Counts {
  const counts = { errors: 0, warnings: 0 };
  for (const d of list) {
    if (d.suppressed) {
      counts.errors += d.suppressed.errors;
      counts.warnings += d.suppressed.warnings;
    } else if (d.severity === "error") counts.errors++;
    else counts.warnings++;
  }
  return counts;
}

/**
 * The first MAX_DIAGNOSTICS of a sorted list, then one diagnostic counting the rest (and those
 * `dropped` earlier, when the list was built), placed at the first one left out.
 */
export function capDiagnostics(sorted: Diagnostic[], dropped: Counts = { errors: 0, warnings: 0 }): Diagnostic[] {
  if (sorted.length <= MAX_DIAGNOSTICS && dropped.errors + dropped.warnings === 0) return sorted;
  const kept = sorted.slice(0, MAX_DIAGNOSTICS);
  const rest = countDiagnostics(sorted.slice(MAX_DIAGNOSTICS));
  const suppressed = { errors: rest.errors + dropped.errors, warnings: rest.warnings + dropped.warnings };
  const at = sorted[MAX_DIAGNOSTICS] ?? sorted.at(-1);
  if (!at) return kept;
  const plural = (n: number, w: string) => `${n.toLocaleString("en")} ${w}${n === 1 ? "" : "s"}`;
  const code = suppressed.errors > 0 ? "E011" : "W207";
  const d = diagnostic(code, `${plural(suppressed.errors, "more error")} and ${plural(suppressed.warnings, "more warning")} not shown: only the first ${MAX_DIAGNOSTICS.toLocaleString("en")} are reported`, at.span, {
    suggestion: "fix the ones shown, then check again",
  });
  d.suppressed = suppressed;
  kept.push(d);
  return kept;
}
