// The checker: from parsed files to a typed Policy plus every diagnostic of the run.
import { leadingSpan, literalText, type Expr, type SourceFile } from "../parser/ast.js";
import { capDiagnostics, compareDiagnostics, diagnostic, MAX_DIAGNOSTICS, type Diagnostic, type Span } from "../parser/diagnostics.js";
import type { AttributeSpec } from "../promise-types/schema.js";
import { checkAttributes } from "./attributes.js";
import { calendarAttributes, stakeholderAttributes, waiverAttributes } from "./blocks.js";
import { ConditionChecker } from "./conditions.js";
import { checkControls, type CheckMemo } from "./controls.js";
import { attributeNode, findContradictions, type PromiseEntry } from "./contradictions.js";
import { loadPolicy, type LoadOptions } from "./load.js";
import type { Calendar, CheckedWaiver, Policy } from "./policy.js";
import { Scope } from "./scope.js";
import { didYouMean } from "../parser/suggest.js";
import { isValidDate } from "../parser/literals.js";
import { checkPromiseTypes } from "./promise-type-decl.js";
import { INVALID, ValueChecker } from "./values.js";

export interface CheckOptions {
  /** today's date as YYYY-MM-DD, for waiver expiry (defaults to the local date) */
  today?: string;
  /** days before expiry from which a waiver is flagged */
  waiverNoticeDays?: number;
  /** the controls' checks of the last check of this policy, taken again where nothing they read changed (the language server's) */
  memo?: CheckMemo;
}

export interface CheckResult {
  files: SourceFile[];
  diagnostics: Diagnostic[];
  /** present when there is no error */
  policy?: Policy;
}

const specMap = (specs: AttributeSpec[]) => new Map(specs.map((s) => [s.name, s]));
const waiverSpecs = specMap(waiverAttributes);
const stakeholderSpecs = specMap(stakeholderAttributes);
const calendarSpecs = specMap(calendarAttributes);

export function checkPaths(paths: string[], options: CheckOptions & LoadOptions = {}): CheckResult {
  const loaded = loadPolicy(paths, options);
  return checkFiles(loaded.files, loaded.diagnostics, options);
}

/** The loader's codes for a policy file it could not read or would not: what it declares is unknown. */
const UNREAD = new Set(["E006", "E007", "E008", "E009", "E110", "E120", "E121", "E122"]);

export function checkFiles(files: SourceFile[], earlier: Diagnostic[] = [], options: CheckOptions = {}): CheckResult {
  const diagnostics: Diagnostic[] = [...earlier];
  for (const f of files) diagnostics.push(...f.diagnostics);
  const hasSyntaxErrors = diagnostics.some((d) => d.severity === "error");

  const scope = new Scope(files, diagnostics, earlier.some((d) => UNREAD.has(d.code)));
  const values = new ValueChecker(scope, diagnostics);
  const conditions = new ConditionChecker(scope, values, diagnostics);
  values.conditions = conditions;

  conditions.checkContexts();
  for (const decl of scope.variables.values()) {
    if (decl.value.kind === "logical" || decl.value.kind === "compare" || decl.value.kind === "not" || decl.value.kind === "paren") {
      diagnostics.push(
        diagnostic("E102", `a variable holds a value, not a condition`, decl.value, { suggestion: `use \`context ${decl.name.name} = …\` for a condition` }),
      );
    }
  }

  const stakeholders = new Map<string, { description?: string }>();
  for (const s of scope.stakeholders.values()) {
    const a = checkAttributes(s.attributes ?? [], stakeholderSpecs, { what: `stakeholder \`${s.name.name}\``, head: s.name }, values, diagnostics);
    stakeholders.set(s.name.name, a.values as { description?: string });
  }

  const calendar = checkCalendar(scope, values, diagnostics);
  const entries: PromiseEntry[] = [];
  const declared = checkPromiseTypes(scope.promiseTypes, values, diagnostics);
  const controls = checkControls(scope, values, diagnostics, entries, declared, options.memo);
  checkHandles(entries, diagnostics, scope.someFileUnread);
  if (options.memo) options.memo.contradictions.find(entries, files, diagnostics);
  else findContradictions(entries, diagnostics);
  const waivers = checkWaivers(scope, values, diagnostics, options);
  const variables = resolveVariables(scope, values, diagnostics);

  // Unused names are only worth a warning when the whole policy parsed: a syntax error may
  // have swallowed the use. Found in order of position, so only the first MAX_DIAGNOSTICS can
  // be reported: the rest are counted (a policy of 400,000 unused variables made as many).
  const unused: Diagnostic[] = [];
  const dropped = { errors: 0, warnings: 0 };
  const warnUnused = (make: () => Diagnostic) => {
    if (unused.length < MAX_DIAGNOSTICS) unused.push(make());
    else dropped.warnings++;
  };
  if (!hasSyntaxErrors) {
    for (const [name, decl] of scope.variables)
      if (!scope.usedVariables.has(name)) warnUnused(() => diagnostic("W201", `variable \`${name}\` is never used`, decl.name, { suggestion: "remove it" }));
    for (const [name, decl] of scope.contexts)
      if (!scope.usedContexts.has(name)) warnUnused(() => diagnostic("W204", `context \`${name}\` is never used`, decl.name, { suggestion: "remove it, or use it in a `when`" }));
  }

  for (const d of unused) diagnostics.push(d);
  diagnostics.sort(compareDiagnostics);
  for (const f of files) {
    dropped.errors += f.dropped?.errors ?? 0;
    dropped.warnings += f.dropped?.warnings ?? 0;
  }
  const result: CheckResult = { files, diagnostics: capDiagnostics(diagnostics, dropped) };
  if (!diagnostics.some((d) => d.severity === "error")) {
    result.policy = {
      files: files.map((f) => f.path),
      controls,
      waivers,
      contexts: new Map([...scope.contexts].map(([k, v]) => [k, v.expr])),
      variables,
      stakeholders,
      calendar,
    };
    if (declared.types.size > 0) result.policy.promiseTypes = declared.types;
  }
  return result;
}

/**
 * The value of every variable as the evaluator needs it: aliases followed, strings
 * interpolated. Problems were reported where the variables are used, so any raised again
 * here are dropped; a variable that cannot be resolved is left out.
 */
function resolveVariables(scope: Scope, values: ValueChecker, diagnostics: Diagnostic[]): Map<string, unknown> {
  // each variable is resolved once and its value shared by every variable that uses it: a
  // chain of variables costs its length, not its length squared
  const resolved = new Map<string, unknown>();
  const resolving = new Set<string>();
  const resolve = (e: Expr): unknown => {
    switch (e.kind) {
      case "list": {
        const items = e.items.map((i) => resolve(i));
        return items.includes(INVALID) ? INVALID : items;
      }
      case "string":
        return values.stringOf(e, { kind: "string" }, "the variable");
      case "number":
      case "quantity":
      case "bool":
        return e.value;
      case "date":
      case "address":
        return e.raw;
      case "ident":
        return resolveName(e.name);
      default:
        return INVALID;
    }
  };
  const resolveName = (name: string): unknown => {
    if (resolved.has(name)) return resolved.get(name);
    const decl = scope.variables.get(name);
    if (!decl || resolving.has(name)) return INVALID;
    resolving.add(name);
    const v = resolve(decl.value);
    resolving.delete(name);
    resolved.set(name, v);
    return v;
  };
  const used = new Set(scope.usedVariables);
  for (const name of scope.variables.keys()) {
    const before = diagnostics.length;
    resolveName(name);
    // problems of a used variable were reported where it is used; an unused one is only seen here
    if (used.has(name)) diagnostics.length = before;
  }
  // resolving is not using: keep the unused-variable warnings honest
  scope.usedVariables.clear();
  for (const n of used) scope.usedVariables.add(n);
  // what is left is the policy's variables: those that resolved (one map, not a copy of it)
  for (const [name, v] of resolved) if (v === INVALID) resolved.delete(name);
  return resolved;
}

function checkHandles(entries: PromiseEntry[], diagnostics: Diagnostic[], someFileUnread: boolean): void {
  const handles = new Map<string, { span: Span; dependsOn: string[] }>();
  for (const entry of entries) {
    const promise = entry.promise;
    if (promise.handle === undefined) continue;
    const span = attributeNode(entry, "handle")!.value;
    const first = handles.get(promise.handle);
    if (first) diagnostics.push(diagnostic("E114", `handle \`${promise.handle}\` is already used`, span, { related: [{ span: first.span, message: "first used here" }] }));
    else handles.set(promise.handle, { span, dependsOn: promise.dependsOn });
  }
  for (const entry of entries) {
    const promise = entry.promise;
    if (promise.dependsOn.length === 0) continue;
    const node = attributeNode(entry, "depends_on");
    if (!node) continue;
    promise.dependsOn.forEach((h, i) => {
      // point at the item when the list is written in place, else at the variable
      const span = node.value.kind === "list" ? (node.value.items[i] ?? node.value) : node.value;
      if (h === promise.handle) diagnostics.push(diagnostic("E118", `a promise cannot depend on itself (\`${h}\`)`, span));
      // a file not read may hold the promise with that handle
      else if (!handles.has(h) && !someFileUnread) diagnostics.push(diagnostic("E118", `no promise has the handle \`${h}\``, span, { suggestion: didYouMean(h, handles.keys()) }));
    });
  }
  // Dependency cycles: the evaluator could never order them. Iterative, with the path kept as
  // one stack: a chain of dependencies is as long as the policy makes it.
  const state = new Map<string, "active" | "done">();
  const onPath = new Map<string, number>();
  for (const root of handles.keys()) {
    if (state.has(root)) continue;
    const path = [root];
    const next = [0];
    state.set(root, "active");
    onPath.set(root, 0);
    while (path.length > 0) {
      const top = path.length - 1;
      const h = path[top]!;
      const deps = handles.get(h)!.dependsOn;
      if (next[top]! >= deps.length) {
        state.set(h, "done");
        onPath.delete(h);
        path.pop();
        next.pop();
        continue;
      }
      const dep = deps[next[top]!++]!;
      if (dep === h || !handles.has(dep)) continue;
      if (state.get(dep) === "active") {
        const cycle = [...path.slice(onPath.get(dep)), dep];
        diagnostics.push(diagnostic("E118", `\`depends_on\` forms a cycle: ${cycle.join(" → ")}`, handles.get(dep)!.span, { suggestion: "remove one of the dependencies" }));
      } else if (!state.has(dep)) {
        state.set(dep, "active");
        onPath.set(dep, path.length);
        path.push(dep);
        next.push(0);
      }
    }
  }
}

function checkWaivers(scope: Scope, values: ValueChecker, diagnostics: Diagnostic[], options: CheckOptions): CheckedWaiver[] {
  const today = options.today ?? localDate(new Date());
  const noticeDays = options.waiverNoticeDays ?? 14;
  const out: CheckedWaiver[] = [];
  for (const w of scope.waivers) {
    const id = literalText(w.control);
    const what = `waiver for "${id}"`;
    if (!scope.controlIds.has(id) && !scope.excusesControl(id)) {
      diagnostics.push(
        diagnostic("E112", `waiver for unknown control "${id}"`, w.control, {
          suggestion: didYouMean(id, scope.controlIds.keys()) ?? "waivers name the id of a control in the policy",
        }),
      );
    }
    const a = checkAttributes(w.attributes, waiverSpecs, { what, head: w.control }, values, diagnostics);
    const until = a.values["until"] as string | undefined;
    const from = a.values["from"] as string | undefined;
    // an impossible date (`2026-02-30`) was reported by the parser: no expiry to speak of
    if (until !== undefined && isValidDate(until)) {
      const untilDay = until.slice(0, 10);
      const span = a.nodes["until"]!.value;
      if (from !== undefined && startOf(from) > endOf(until)) {
        diagnostics.push(diagnostic("E119", `the waiver ends (${until}) before it starts (${from})`, span));
      } else if (untilDay < today) {
        diagnostics.push(diagnostic("W203", `${what} expired on ${untilDay}: deficiencies of the control are no longer waived`, span, { suggestion: "renew it with a new approval, or remove it" }));
      } else {
        const days = Math.round((Date.parse(untilDay) - Date.parse(today)) / 86_400_000);
        if (days <= noticeDays) diagnostics.push(diagnostic("W205", `${what} expires in ${days} day${days === 1 ? "" : "s"} (${untilDay})`, span));
      }
    }
    if (until !== undefined && a.values["reason"] !== undefined && a.values["approved_by"] !== undefined) {
      const waiver: CheckedWaiver = { control: id, reason: a.values["reason"] as string, approvedBy: a.values["approved_by"] as string, until, span: w };
      if (from !== undefined) waiver.from = from;
      if (a.values["risk"] !== undefined) waiver.risk = a.values["risk"] as string;
      if (a.values["ticket"] !== undefined) waiver.ticket = a.values["ticket"] as string;
      out.push(waiver);
    }
  }
  return out;
}

function checkCalendar(scope: Scope, values: ValueChecker, diagnostics: Diagnostic[]): Calendar {
  const calendar: Calendar = { holidays: [], weekend: ["saturday", "sunday"] };
  const decl = scope.calendars[0];
  if (!decl) return calendar;
  const head = leadingSpan(decl, "calendar");
  const a = checkAttributes(decl.attributes, calendarSpecs, { what: "the calendar", head }, values, diagnostics);
  if (a.values["holidays"]) calendar.holidays = a.values["holidays"] as string[];
  if (a.values["weekend"]) calendar.weekend = a.values["weekend"] as string[];
  const tz = a.values["timezone"] as string | undefined;
  if (tz !== undefined) {
    try {
      new Intl.DateTimeFormat("en", { timeZone: tz });
      calendar.timezone = tz;
    } catch {
      diagnostics.push(diagnostic("E103", `\`${tz}\` is not a known time zone`, a.nodes["timezone"]!.value, { suggestion: 'use an IANA name such as "Europe/London"' }));
    }
  }
  return calendar;
}

// Waiver dates without a time cover the whole day; compared as UTC instants, which is exact for
// ordering two dates written in the same policy.
function startOf(d: string): number {
  return Date.parse(d.length === 10 ? `${d}T00:00:00Z` : d.replace(/T(\d\d:\d\d)(?=Z|[+-]|$)/, "T$1:00").replace(/(\d)$/, "$1Z"));
}
function endOf(d: string): number {
  return d.length === 10 ? Date.parse(`${d}T23:59:59.999Z`) : startOf(d);
}

export function localDate(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}
