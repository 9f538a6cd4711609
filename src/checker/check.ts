// The checker: from parsed files to a typed Policy plus every diagnostic of the run.
import type { ControlDecl, PromiseDecl, SourceFile } from "../parser/ast.js";
import { compareDiagnostics, diagnostic, type Diagnostic, type Span } from "../parser/diagnostics.js";
import { attributesOf, promiseTypes } from "../evaluator/registry.js";
import type { AttributeSpec } from "../evaluator/schema.js";
import { checkAttributes, checkConstraints } from "./attributes.js";
import { calendarAttributes, controlAttributes, stakeholderAttributes, waiverAttributes } from "./blocks.js";
import { ConditionChecker } from "./conditions.js";
import { findContradictions, type PromiseEntry } from "./contradictions.js";
import { loadPolicy } from "./load.js";
import type { Calendar, CheckedControl, CheckedPromise, CheckedWaiver, Policy, Severity } from "./policy.js";
import { literalText, Scope } from "./scope.js";
import { didYouMean } from "../parser/suggest.js";
import { INVALID, ValueChecker } from "./values.js";

export interface CheckOptions {
  /** today's date as YYYY-MM-DD, for waiver expiry (defaults to the local date) */
  today?: string;
  /** days before expiry from which a waiver is flagged */
  waiverNoticeDays?: number;
}

export interface CheckResult {
  files: SourceFile[];
  diagnostics: Diagnostic[];
  /** present when there is no error */
  policy?: Policy;
}

const specMap = (specs: AttributeSpec[]) => new Map(specs.map((s) => [s.name, s]));
const controlSpecs = specMap(controlAttributes);
const waiverSpecs = specMap(waiverAttributes);
const stakeholderSpecs = specMap(stakeholderAttributes);
const calendarSpecs = specMap(calendarAttributes);

export function checkPaths(paths: string[], options: CheckOptions = {}): CheckResult {
  const loaded = loadPolicy(paths);
  return checkFiles(loaded.files, loaded.diagnostics, options);
}

export function checkFiles(files: SourceFile[], earlier: Diagnostic[] = [], options: CheckOptions = {}): CheckResult {
  const diagnostics: Diagnostic[] = [...earlier];
  for (const f of files) diagnostics.push(...f.diagnostics);
  const hasSyntaxErrors = diagnostics.some((d) => d.severity === "error");

  const scope = new Scope(files, diagnostics);
  const values = new ValueChecker(scope, diagnostics);
  const conditions = new ConditionChecker(scope, values, diagnostics);
  values.conditions = conditions;

  conditions.checkContexts();
  const variables = new Map<string, unknown>();
  for (const decl of scope.variables.values()) {
    if (decl.value.kind === "logical" || decl.value.kind === "compare" || decl.value.kind === "not" || decl.value.kind === "paren") {
      diagnostics.push(
        diagnostic("E102", `a variable holds a value, not a condition`, decl.value.span, { suggestion: `use \`context ${decl.name.name} = …\` for a condition` }),
      );
    } else if (decl.value.kind !== "ident") variables.set(decl.name.name, literalValue(decl.value));
  }

  const stakeholders = new Map<string, { description?: string }>();
  for (const s of scope.stakeholders.values()) {
    const a = checkAttributes(s.attributes ?? [], stakeholderSpecs, { what: `stakeholder \`${s.name.name}\``, head: s.name.span }, values, diagnostics);
    stakeholders.set(s.name.name, a.values as { description?: string });
  }

  const calendar = checkCalendar(scope, values, diagnostics);
  const entries: PromiseEntry[] = [];
  const controls = scope.controls.map((c) => checkControl(c, values, diagnostics, entries));
  checkHandles(entries, diagnostics);
  findContradictions(entries, diagnostics);
  const waivers = checkWaivers(scope, values, diagnostics, options);

  // Unused names are only worth a warning when the whole policy parsed: a syntax error may
  // have swallowed the use.
  if (!hasSyntaxErrors) {
    for (const [name, decl] of scope.variables)
      if (!scope.usedVariables.has(name)) diagnostics.push(diagnostic("W201", `variable \`${name}\` is never used`, decl.name.span, { suggestion: "remove it" }));
    for (const [name, decl] of scope.contexts)
      if (!scope.usedContexts.has(name)) diagnostics.push(diagnostic("W204", `context \`${name}\` is never used`, decl.name.span, { suggestion: "remove it, or use it in a `when`" }));
  }

  diagnostics.sort(compareDiagnostics);
  const result: CheckResult = { files, diagnostics };
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
  }
  return result;
}

function literalValue(e: import("../parser/ast.js").Expr): unknown {
  switch (e.kind) {
    case "list":
      return e.items.map(literalValue);
    case "string":
      return e.parts.map((p) => p.text ?? `\${${p.variable}}`).join("");
    case "number":
    case "quantity":
      return e.value;
    case "bool":
      return e.value;
    case "date":
    case "address":
      return e.raw;
    default:
      return undefined;
  }
}

function checkControl(decl: ControlDecl, values: ValueChecker, diagnostics: Diagnostic[], entries: PromiseEntry[]): CheckedControl {
  const id = literalText(decl.id);
  const what = `control "${id}"`;
  const meta = decl.items.filter((i) => i.kind === "attribute");
  const a = checkAttributes(meta, controlSpecs, { what, head: decl.id.span }, values, diagnostics);
  if (!a.nodes.has("owner")) {
    diagnostics.push(diagnostic("W202", `${what} has no owner`, decl.id.span, { suggestion: "add `owner = <stakeholder>` so deficiencies reach someone accountable" }));
  }
  const control: CheckedControl = {
    id,
    title: (a.values["title"] as string | undefined) ?? "",
    severity: ((a.values["severity"] as Severity | undefined) ?? "medium") as Severity,
    refs: (a.values["refs"] as string[] | undefined) ?? [],
    key: (a.values["key"] as boolean | undefined) ?? false,
    promises: [],
    span: decl.span,
  };
  if (a.values["description"] !== undefined) control.description = a.values["description"] as string;
  if (a.values["owner"] !== undefined) control.owner = a.values["owner"] as string;
  if (a.nodes.has("when") && !a.invalid.has("when")) control.when = a.nodes.get("when")!.value;
  for (const item of decl.items) {
    if (item.kind !== "promise") continue;
    const entry = checkPromise(item, control, values, diagnostics);
    if (entry) {
      control.promises.push(entry.promise);
      entries.push(entry);
    }
  }
  if (!decl.items.some((i) => i.kind === "promise")) {
    diagnostics.push(diagnostic("E104", `${what} has no promises: a control must test something`, decl.id.span));
  }
  return control;
}

function checkPromise(decl: PromiseDecl, control: CheckedControl, values: ValueChecker, diagnostics: Diagnostic[]): PromiseEntry | undefined {
  const type = decl.type.name;
  const spec = promiseTypes.get(type);
  if (!spec) {
    diagnostics.push(
      diagnostic("E100", `unknown promise type \`${type}\``, decl.type.span, {
        suggestion: didYouMean(type, promiseTypes.keys()) ?? `promise types: ${[...promiseTypes.keys()].join(", ")}`,
      }),
    );
    return undefined;
  }
  const what = `\`${type}\` promise`;
  let promiser: unknown;
  if (spec.promiser === null && decl.promiser) {
    diagnostics.push(diagnostic("E117", `\`${type}\` takes no promiser: it checks the whole host`, decl.promiser.span, { suggestion: `write \`${type} { … }\`` }));
  } else if (spec.promiser !== null && !decl.promiser) {
    diagnostics.push(diagnostic("E117", `\`${type}\` needs a promiser: ${spec.promiser.description.toLowerCase()}`, decl.type.span, { suggestion: `write \`${type} <promiser> { … }\`` }));
  } else if (spec.promiser !== null && decl.promiser) {
    const v = values.check(decl.promiser, spec.promiser.type, `the promiser of \`${type}\``);
    if (v !== INVALID) promiser = v;
  }
  const stakeholders: string[] = [];
  for (const s of decl.stakeholders?.names ?? []) {
    const v = values.stakeholder(s.name, s.span);
    if (v !== INVALID) stakeholders.push(v);
  }
  const where = { what, head: decl.type.span };
  const a = checkAttributes(decl.attributes, attributesOf(type)!, where, values, diagnostics);
  checkConstraints(spec.constraints, a, where, diagnostics);
  // `when`, `handle` and `depends_on` live on the promise itself, not among its own attributes
  // (copied rather than deleted: deleting keys would turn every such object into a slow dictionary)
  const handle = a.values["handle"];
  const dependsOn = a.values["depends_on"] as string[] | undefined;
  let own = a.values;
  if (handle !== undefined || dependsOn !== undefined || a.nodes.has("when")) {
    own = {};
    for (const k in a.values) if (k !== "when" && k !== "handle" && k !== "depends_on") own[k] = a.values[k];
  }
  const promise: CheckedPromise = { type, promiser, stakeholders, attributes: own, dependsOn: dependsOn ?? [], span: decl.span };
  if (a.nodes.has("when") && !a.invalid.has("when")) promise.when = a.nodes.get("when")!.value;
  if (handle !== undefined) promise.handle = handle as string;
  return { control, promise, attributes: a };
}

function checkHandles(entries: PromiseEntry[], diagnostics: Diagnostic[]): void {
  const handles = new Map<string, Span>();
  for (const { promise, attributes } of entries) {
    if (promise.handle === undefined) continue;
    const span = attributes.nodes.get("handle")!.value.span;
    const first = handles.get(promise.handle);
    if (first) diagnostics.push(diagnostic("E114", `handle \`${promise.handle}\` is already used`, span, { related: [{ span: first, message: "first used here" }] }));
    else handles.set(promise.handle, span);
  }
  for (const { promise, attributes } of entries) {
    const node = attributes.nodes.get("depends_on");
    if (!node || node.value.kind !== "list") continue;
    promise.dependsOn.forEach((h, i) => {
      if (handles.has(h)) return;
      const span = node.value.kind === "list" ? (node.value.items[i]?.span ?? node.value.span) : node.value.span;
      diagnostics.push(diagnostic("E118", `no promise has the handle \`${h}\``, span, { suggestion: didYouMean(h, handles.keys()) }));
    });
  }
}

function checkWaivers(scope: Scope, values: ValueChecker, diagnostics: Diagnostic[], options: CheckOptions): CheckedWaiver[] {
  const today = options.today ?? localDate(new Date());
  const noticeDays = options.waiverNoticeDays ?? 14;
  const out: CheckedWaiver[] = [];
  for (const w of scope.waivers) {
    const id = literalText(w.control);
    const what = `waiver for "${id}"`;
    if (!scope.controlIds.has(id)) {
      diagnostics.push(
        diagnostic("E112", `waiver for unknown control "${id}"`, w.control.span, {
          suggestion: didYouMean(id, scope.controlIds.keys()) ?? "waivers name the id of a control in the policy",
        }),
      );
    }
    const a = checkAttributes(w.attributes, waiverSpecs, { what, head: w.control.span }, values, diagnostics);
    const until = a.values["until"] as string | undefined;
    const from = a.values["from"] as string | undefined;
    if (until !== undefined) {
      const untilDay = until.slice(0, 10);
      const span = a.nodes.get("until")!.value.span;
      if (from !== undefined && from.slice(0, 10) > untilDay) {
        diagnostics.push(diagnostic("E119", `the waiver ends (${untilDay}) before it starts (${from.slice(0, 10)})`, span));
      } else if (untilDay < today) {
        diagnostics.push(diagnostic("W203", `${what} expired on ${untilDay}: deficiencies of the control are no longer waived`, span, { suggestion: "renew it with a new approval, or remove it" }));
      } else {
        const days = Math.round((Date.parse(untilDay) - Date.parse(today)) / 86_400_000);
        if (days <= noticeDays) diagnostics.push(diagnostic("W205", `${what} expires in ${days} day${days === 1 ? "" : "s"} (${untilDay})`, span));
      }
    }
    if (until !== undefined && a.values["reason"] !== undefined && a.values["approved_by"] !== undefined) {
      const waiver: CheckedWaiver = { control: id, reason: a.values["reason"] as string, approvedBy: a.values["approved_by"] as string, until, span: w.span };
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
  const head = { ...decl.span, end: decl.span.start + "calendar".length };
  const a = checkAttributes(decl.attributes, calendarSpecs, { what: "the calendar", head }, values, diagnostics);
  if (a.values["holidays"]) calendar.holidays = a.values["holidays"] as string[];
  if (a.values["weekend"]) calendar.weekend = a.values["weekend"] as string[];
  const tz = a.values["timezone"] as string | undefined;
  if (tz !== undefined) {
    try {
      new Intl.DateTimeFormat("en", { timeZone: tz });
      calendar.timezone = tz;
    } catch {
      diagnostics.push(diagnostic("E103", `\`${tz}\` is not a known time zone`, a.nodes.get("timezone")!.value.span, { suggestion: 'use an IANA name such as "Europe/London"' }));
    }
  }
  return calendar;
}

export function localDate(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}
