// Test helpers: check policy text in memory and get diagnostics as compact strings.
import { checkFiles, type CheckOptions } from "../../src/checker/check.ts";
import { parseSource } from "../../src/parser/parse.ts";
import { LineIndex, type Diagnostic } from "../../src/parser/diagnostics.ts";

export const STAKEHOLDERS = "stakeholder security\nstakeholder compliance\nstakeholder dba_oncall\n";

export function checkText(files: Record<string, string>, options: CheckOptions = { today: "2026-11-23" }) {
  const parsed = Object.entries(files).map(([path, text]) => parseSource(path, text));
  return checkFiles(parsed, [], options);
}

/** `line:col CODE message` for each diagnostic of a one-file policy. */
export function diagnose(text: string, options?: CheckOptions): string[] {
  const r = checkText({ "p.promise": text }, options);
  return r.diagnostics.map((d) => format(d, text));
}

export function format(d: Diagnostic, text: string): string {
  const p = new LineIndex(text).position(d.span.start);
  return `${p.line}:${p.column} ${d.code} ${d.message}`;
}

/** The diagnostic with `code`, failing loudly when it is absent. */
export function find(text: string, code: string, options?: CheckOptions): Diagnostic & { at: string; excerpt: string } {
  const r = checkText({ "p.promise": text }, options);
  const d = r.diagnostics.find((x) => x.code === code);
  if (!d) throw new Error(`no ${code} in:\n${r.diagnostics.map((x) => format(x, text)).join("\n") || "(no diagnostics)"}`);
  const p = new LineIndex(text).position(d.span.start);
  return { ...d, at: `${p.line}:${p.column}`, excerpt: text.slice(d.span.start, d.span.end) };
}

/** Wraps promises in a control with an owner, so tests can focus on the promise. */
export function inControl(body: string, id = "T-1"): string {
  return `${STAKEHOLDERS}control "${id}" {\n  title = "t"\n  owner = security\n${body}\n}\n`;
}
